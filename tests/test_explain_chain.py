"""Jacobian-chain costs: forward vs reverse accumulation vs the matrix-chain optimum."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import brute_force_cost, chain_costs, parse_widths, record
from chainrule.explain.chain import widths_from_graph


def test_mlp_chain_costs_and_orders():
    c = chain_costs([784, 256, 256, 10, 1])
    # input side: J2 J1, then J3 (.), then J4 (.): each product keeps 784 columns
    assert c.forward == 256 * 256 * 784 + 10 * 256 * 784 + 1 * 10 * 784 == 53_395_104
    # output side: J4 J3, then (.) J2, then (.) J1: each product keeps one row
    assert c.reverse == 1 * 10 * 256 + 1 * 256 * 256 + 1 * 256 * 784 == 268_800
    assert c.optimal == 268_800
    assert c.forward_order == "J4 (J3 (J2 J1))"
    assert c.reverse_order == c.optimal_order == "((J4 J3) J2) J1"
    assert "53,395,104" in c.table() and "268,800" in c.table()


def test_wide_output_prefers_forward_and_a_mixed_chain_beats_both():
    c = chain_costs([1, 10, 256, 256, 784])
    assert c.optimal == c.forward < c.reverse
    c = chain_costs([10, 1, 10, 1, 10])
    assert c.optimal < min(c.forward, c.reverse)
    assert c.optimal == brute_force_cost([10, 1, 10, 1, 10])


@pytest.mark.parametrize("seed", range(40))
def test_dynamic_program_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    widths = rng.integers(1, 60, size=rng.integers(2, 9)).tolist()
    c = chain_costs(widths)
    assert c.optimal == brute_force_cost(widths)
    assert c.optimal <= min(c.forward, c.reverse)
    assert _cost_of(c.optimal_order, widths) == c.optimal


def _cost_of(order: str, widths) -> int:
    """Evaluate a printed bracketing's cost by multiplying shapes (checks the order text)."""
    shapes = {f"J{i}": (widths[i], widths[i - 1]) for i in range(1, len(widths))}
    stack, cost = [[]], 0

    def reduce(items):
        nonlocal cost
        shape = items[0]
        for s in items[1:]:
            assert shape[1] == s[0]
            cost += shape[0] * shape[1] * s[1]
            shape = (shape[0], s[1])
        return shape
    for tok in order.replace("(", " ( ").replace(")", " ) ").split():
        if tok == "(":
            stack.append([])
        elif tok == ")":
            items = stack.pop()
            stack[-1].append(reduce(items))
        else:
            stack[-1].append(shapes[tok])
    reduce(stack[0])
    return cost


def test_parse_widths_errors():
    assert parse_widths("784, 256,10") == (784, 256, 10)
    with pytest.raises(ValueError, match="at least two"):
        parse_widths("5")
    with pytest.raises(ValueError, match="positive integers"):
        parse_widths("5,a")


def test_widths_read_off_a_traced_mlp():
    rng = np.random.default_rng(0)
    Ws = [rng.normal(size=(o, i)) * 0.05 for i, o in [(784, 256), (256, 256), (256, 10)]]
    bs = [np.zeros(o) for o in (256, 256, 10)]

    def mlp(x):
        h = x
        for k, (W, b) in enumerate(zip(Ws, bs)):
            h = W @ h + b
            if k < 2:
                h = cr.relu(h)
        return cr.mean(h * h)
    g = record(mlp, rng.normal(size=784))
    widths = widths_from_graph(g, "x")
    assert widths == (784, 256, 256, 10, 1)
    assert chain_costs(widths).reverse == 268_800
