"""Symbol-to-symbol: traced graphs, their derivative graphs, rewrites, compiled code."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import symbolic as S


def colah(a, b):
    return (a + b) * (b + 1)


def test_trace_records_one_equation_per_primitive():
    g = S.trace(colah)(2.0, 1.0)
    assert [e.op.name for e in g.eqns] == ["add", "add", "multiply"]
    assert str(g).splitlines()[2] == "  v2 = add(x1, 1.0)"
    assert g(2.0, 1.0).item() == 6.0


def test_derivative_of_a_graph_is_a_graph_and_simplifies():
    g = S.trace(colah)(2.0, 1.0)
    dg = S.grad_graph(g, argnums=(0, 1))
    before = dg.count()
    S.simplify(dg)
    assert dg.count() < before
    assert any(step.startswith("1 * X -> X") for step in dg.log)
    da, db = dg(2.0, 1.0)
    assert (da.item(), db.item()) == (2.0, 5.0)
    # the simplified graph computes the same for other inputs (it is symbolic, not numbers)
    da, db = dg(-3.0, 4.0)
    assert (da.item(), db.item()) == (5.0, 6.0)   # b + 1 and (b + 1) + (a + b)


def test_rewrite_rules_fold_merge_and_remove():
    g = S.trace(lambda x: cr.log(cr.exp(x)) * 1.0 + cr.sin(x) * cr.sin(x) + (2.0 * 3.0))(
        np.ones(3))
    S.simplify(g)
    names = [e.op.name for e in g.eqns]
    assert names.count("sin") == 1 and "exp" not in names and "log" not in names
    assert any("merge common subexpression" in s for s in g.log)
    assert any("remove dead code" in s for s in g.log)
    x = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(g(x).data, x + np.sin(x) ** 2 + 6.0)


def test_a_rewrite_never_changes_the_shape():
    g = S.trace(lambda x: x * np.ones(3))(2.0)   # X * 1 would drop the broadcast
    S.simplify(g)
    assert g(2.0).shape == (3,)


def test_compiled_graph_is_plain_numpy_and_agrees():
    f = lambda x: cr.sum(cr.tanh(x) * cr.sin(x))  # noqa: E731
    x = np.linspace(-1, 1, 5)
    dg = S.simplify(S.grad_graph(S.trace(f)(x)))
    fn = S.compile_graph(dg)
    assert "def compiled(x0):" in fn.source
    out = fn(x)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, cr.grad(f)(x).data, rtol=1e-12)


def test_second_derivative_graph_and_graph_is_differentiable():
    f = lambda x: x ** 3 * cr.sin(x)  # noqa: E731
    g = S.trace(f)(0.7)
    d2 = S.simplify(S.grad_graph(S.simplify(S.grad_graph(g))))
    x = 0.7
    expected = 6 * x * np.sin(x) + 6 * x ** 2 * np.cos(x) - x ** 3 * np.sin(x)
    np.testing.assert_allclose(d2(x).item(), expected, rtol=1e-12)
    np.testing.assert_allclose(cr.grad(cr.grad(g))(x).item(), expected, rtol=1e-12)


def test_graph_checks_its_inputs():
    g = S.trace(colah)(2.0, 1.0)
    with pytest.raises(TypeError, match="takes 2 inputs, got 1"):
        g(1.0)
    with pytest.raises(ValueError, match=r"input x0 has shape \(\), got \(2,\)"):
        g(np.ones(2), 1.0)


def test_cse_keeps_apart_large_index_arrays_that_print_alike():
    # repr() abbreviates arrays over 1,000 entries: these two print the same.
    first = np.zeros(2000, dtype=np.int64)
    second = first.copy()
    second[500:1500] = 1
    assert repr(first) == repr(second)
    f = lambda x: cr.sum(x[second]) - cr.sum(x[first])  # noqa: E731
    x = np.array([0.0, 2.5])
    g = S.trace(f)(x)
    assert g(x).item() == 2500.0
    S.simplify(g)
    assert g(x).item() == 2500.0
    assert not any("merge common subexpression" in s for s in g.log)
