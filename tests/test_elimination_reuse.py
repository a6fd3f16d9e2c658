"""cr.jacobian(f, mode="eliminate") at new points: the stored structure and order reused."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.elimination import api, orders
from chainrule.elimination.linearized import from_recorded, single_argnum, trace
from chainrule.elimination.reuse import Plan

RNG = np.random.default_rng(3)
W = RNG.standard_normal((3, 3))


def _paths_meet(x):
    """A matrix path and a diagonal path into one vertex, and a sum of both kinds."""
    y = cr.sin(W @ x) + 2.0 * x
    return cr.tanh(y) * cr.sum(x) + W @ y


def _direct(x):
    """A diagonal edge (x -> the sum) that a matrix path (through W @ x) adds to."""
    return cr.tanh(x + W @ x)


def _mlp(x, W, b):
    return cr.tanh(W @ x + b) * cr.sum(x)


def _two_outputs(x, y):
    s = cr.sin(x) * y
    return s, cr.exp(s[1:]) + x[:2] * x[:2], x, cr.tensor(3.0)


def _scalars(a, b, c):
    d = a * b
    return cr.sin(d) + c * a, cr.sqrt(d * d + c)


CASES = {
    "paths_meet": (_paths_meet, (RNG.standard_normal(3),), 0),
    "direct": (_direct, (RNG.standard_normal(3),), 0),
    "mlp": (_mlp, (RNG.standard_normal(3), RNG.standard_normal((3, 3)),
                   RNG.standard_normal(3)), (0, 1, 2)),
    "two_outputs": (_two_outputs, (RNG.standard_normal(3), 0.7), (0, 1)),
    "scalars": (_scalars, (0.3, 1.2, 0.8), (0, 1, 2)),
}


def _leaves(tree):
    if isinstance(tree, (tuple, list)):
        return [leaf for t in tree for leaf in _leaves(t)]
    return [np.asarray(tree.data)]


def _assert_same(got, ref):
    got, ref = _leaves(got), _leaves(ref)
    assert len(got) == len(ref)
    for a, b in zip(got, ref):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.fixture
def calls(monkeypatch):
    """Counts of linearizations from scratch and of order searches inside cr.jacobian."""
    counts = {"linearize": 0, "search": 0}

    def counting(name, real):
        def wrapped(*args, **kwargs):
            counts[name] += 1
            return real(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(api, "from_recorded", counting("linearize", api.from_recorded))
    monkeypatch.setattr(api, "resolve", counting("search", api.resolve))
    return counts


def _moved(args, argnums, scale):
    return tuple(np.asarray(a) * scale + 0.1 if i in argnums else a
                 for i, a in enumerate(args))


@pytest.mark.parametrize("name", CASES)
def test_new_points_reuse_the_structure_and_the_order(name, calls):
    f, args, argnums = CASES[name]
    nums = (argnums,) if isinstance(argnums, int) else argnums
    jac = cr.elimination.jacobian(f, argnums, seconds=0.05)
    for scale in (1.0, 0.8, 1.3):
        point = _moved(args, nums, scale)
        _assert_same(jac(*point), cr.jacrev(f, argnums)(*point))
    assert calls == {"linearize": 1, "search": 1}


def test_a_structure_that_no_longer_holds_is_rebuilt(calls):
    # relu's partial is the constant 1 where every x > 0: a scaled identity; at a point
    # with negative entries it is not, so the graph is linearized afresh there
    f = lambda x: cr.maximum(x, 0.0) * cr.sin(x)  # noqa: E731
    jac = cr.elimination.jacobian(f, seconds=0.05)
    for x in (np.array([0.5, 1.0, 2.0]), np.array([-0.5, 1.0, -2.0])):
        _assert_same(jac(x), cr.jacrev(f)(x))
    assert calls["linearize"] == 2
    assert calls["search"] == 1    # the same vertices: the order still applies


def test_a_partial_that_was_zero_is_not_dropped(calls):
    # d(x * y)/dx = y is zero at the first call (y is not differentiated), not at the next
    f = lambda x, y: cr.sin(x) * y  # noqa: E731
    jac = cr.elimination.jacobian(f, 0, seconds=0.05)
    x = np.array([0.1, 0.2])
    _assert_same(jac(x, np.zeros(2)), cr.jacrev(f)(x, np.zeros(2)))
    _assert_same(jac(x, np.array([2.0, 3.0])), cr.jacrev(f)(x, np.array([2.0, 3.0])))
    assert calls["linearize"] == 2


def test_other_operations_at_the_same_shapes_are_rebuilt(calls):
    def f(x):
        return cr.sin(x) * x if float(cr.sum(x).data) > 0 else cr.exp(cr.cos(x) * 2.0) + x
    jac = cr.elimination.jacobian(f, seconds=0.05)
    for x in (np.array([0.5, 1.0]), np.array([-0.5, -1.0]), np.array([0.3, 0.2])):
        _assert_same(jac(x), cr.jacrev(f)(x))
    assert calls["linearize"] == 3   # each point's ops differ from the stored ones


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("order", ["forward", "reverse", "markowitz"])
def test_every_order_compiles_to_the_jacobian(name, order):
    f, args, argnums = CASES[name]
    nums = (argnums,) if isinstance(argnums, int) else argnums
    recorded, rebuild, _ = trace(f, args, argnums, "test")
    g = from_recorded(recorded, rebuild, single_argnum(argnums, nums))
    plan = Plan(g, recorded, orders.BY_NAME[order](g))
    point = _moved(args, nums, 0.9)
    recorded, rebuild, _ = trace(f, point, argnums, "test")
    _assert_same(plan.jacobian_at(recorded, rebuild), cr.jacrev(f, argnums)(*point))
