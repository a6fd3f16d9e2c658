"""Path sums, exact path counts by dynamic programming, and work counts."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import program, record
from chainrule.explain.report import paths_text
from chainrule.explain.sweeps import engine_gradient


def test_colah_paths_for_b():
    g = program("(a+b)*(b+1)", a=2.0, b=1.0)
    s = g.paths("b")
    assert s.count == 2 and not s.capped
    assert [p.factors() for p in s.paths] == ["1·2", "1·3"]
    assert [p.product for p in s.paths] == [2.0, 3.0]
    assert s.enumerated_sum == s.total == 5.0
    assert "b: 2 paths: 1·2 + 1·3 = 5" in paths_text(s)
    assert g.paths("a").count == 1 and g.paths("a").total == 2.0


def test_factored_three_by_three_paths():
    g = program("y = 2*x + 3*x + 4*x; z = 5*y + 6*y + 7*y", x=1.0)
    s = g.paths("x")
    assert s.count == 9
    assert sorted(p.product for p in s.paths) == sorted(a * b for a in (2, 3, 4)
                                                        for b in (5, 6, 7))
    assert s.total == pytest.approx((2 + 3 + 4) * (5 + 6 + 7))
    work = g.work()
    assert work.paths == 9
    # (2x + 3x) + 4x: paths to y have 3, 3 and 2 edges, so paths to z have 4 to 6 edges
    # (48 in all, 39 multiplications: a path's first factor is free); a sweep multiplies
    # once on each of the 14 edges but those leaving the seed (3 forward, 2 reverse)
    assert work.naive == 48 - 9 and (work.forward, work.reverse) == (14 - 3, 14 - 2)
    assert (work.naive_additions, work.forward_additions, work.reverse_additions) == (8, 4, 4)


def test_diamond_of_depth_1000_counts_two_to_the_1000_exactly():
    g = program("\n".join(["y = sin(y) + cos(y)"] * 1000), y=0.5)
    assert len(g.nodes) == 3001
    count = g.count_paths("y")
    assert count == 2**1000 and type(count) is int
    s = g.paths("y", max_paths=7)
    assert s.capped and len(s.paths) == 7 and s.count == 2**1000
    assert all(len(p.edges) == 2000 for p in s.paths)
    assert "capped" in s.note()
    assert s.total == pytest.approx(engine_gradient(g)["y"].item(), rel=1e-9)
    text = paths_text(s)
    assert "2^1000" in text and "more paths not listed" in text and "--max-paths 7" in text
    w = g.work()
    assert w.paths == 2**1000 and w.forward == w.reverse == 4000 - 2
    assert w.naive == 2**1000 * 1999


def test_chain_of_100000_nodes_has_no_recursion_limit():
    def f(x):
        for _ in range(100_000):
            x = x * 1.0
        return x
    g = record(f, 2.0)
    assert len(g) == 100_001
    s = g.paths(max_paths=3)
    assert s.count == 1 and len(s.paths[0].edges) == 100_000 and s.total == 1.0
    assert g.work().reverse == 100_000 - 1


def test_constants_are_not_paths():
    g = program("a * 3 + a * b", a=2.0, b=5.0)
    assert g.count_paths("a") == 2 and g.count_paths("b") == 1
    assert g.paths("a").total == 3 + 5


def test_repeated_input_edges_are_separate_paths():
    g = record(lambda x: x * x * x, 2.0)
    s = g.paths("x")
    assert s.count == 3 and s.total == pytest.approx(12.0)
    assert sum(p.product for p in s.paths) == pytest.approx(12.0)


def test_tensor_path_products_sum_to_the_gradient():
    rng = np.random.default_rng(2)
    W, x = rng.normal(size=(2, 3)), rng.normal(size=3)

    def f(W, x):
        return cr.sum(cr.tanh(W @ x) * x[:2])
    g = record(f, W, x)
    gx = cr.grad(f, argnums=1)(W, x).data
    s = g.paths("x")
    assert s.count == 2
    np.testing.assert_allclose(s.enumerated_sum, gx, rtol=1e-12)
    np.testing.assert_allclose(s.total, gx, rtol=1e-12)


def test_max_paths_zero_lists_nothing_but_counts():
    g = program("(a+b)*(b+1)", a=2.0, b=1.0)
    s = g.paths("b", max_paths=0)
    assert s.count == 2 and s.paths == [] and s.capped and s.total == 5.0


def test_work_counts_for_colah():
    w = program("(a+b)*(b+1)", a=2.0, b=1.0).work()
    # counted alike (no charge for multiplying by the seed), the five-node graph costs the
    # same three ways: no path shares a product with another, so factoring saves nothing
    assert (w.naive, w.forward, w.forward_sweeps, w.reverse, w.reverse_sweeps) == (3, 3, 2, 3, 1)
    assert (w.naive_additions, w.forward_additions, w.reverse_additions) == (1, 1, 1)


def test_big_jacobians_are_not_formed_but_the_sum_still_matches():
    x = np.linspace(-1, 1, 20)
    g = record(lambda x: cr.sum(cr.tanh(x) * x), x)
    s = g.paths("x")
    assert s.count == 2 and all(p.product is None for p in s.paths)
    np.testing.assert_allclose(s.total, cr.grad(lambda x: cr.sum(cr.tanh(x) * x))(x).data)
