"""The explain program parser: a whitelist checked with `ast`, never eval."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import ProgramError, parse_program, run_program


def test_inputs_in_order_of_appearance_and_statement_separators():
    p = parse_program("c = a + b; d = b + 1\ne = c * d")
    assert p.inputs == ["a", "b"]
    assert [t for t, _ in p.statements] == ["c", "d", "e"]


def test_run_names_every_tensor_the_program_named():
    run = run_program("c = a + b; d = b + 1; e = c * d", {"a": 2.0, "b": 1.0})
    assert sorted(run.names.values()) == ["a", "b", "c", "d", "e"]
    assert run.output.item() == 6.0
    assert run.names[id(run.output)] == "e"


def test_unnamed_output_is_called_out_and_intermediates_keep_source_text():
    run = run_program("(a+b)*(b+1)", {"a": 2.0, "b": 1.0})
    assert run.names[id(run.output)] == "out"
    assert sorted(run.exprs.values()) == ["(a + b) * (b + 1)", "a + b", "b + 1"]


def test_reassignment_gets_fresh_names():
    run = run_program("y = sin(y) + cos(y); y = sin(y) + cos(y)", {"y": 0.5})
    assert set(run.names.values()) == {"y", "y_1", "y_2"}
    y = 0.5
    for _ in range(2):
        y = np.sin(y) + np.cos(y)
    assert run.output.item() == pytest.approx(y)


def test_numpy_functions_and_vectors():
    run = run_program("s = sum(tanh(x) * exp(-x)); s", {"x": np.array([0.5, -1.0])})
    x = np.array([0.5, -1.0])
    assert run.output.item() == pytest.approx(np.sum(np.tanh(x) * np.exp(-x)))
    assert run.inputs["x"].requires_grad


@pytest.mark.parametrize("source, message", [
    ("__import__('os')", "unknown function '__import__'"),
    ("np.sin(x)", "attribute access (np.sin) is not allowed"),
    ("x.__class__", "attribute access"),
    ("open('f')", "unknown function 'open'"),
    ("'a' + b", "only numbers are allowed"),
    ("import os", "import is not allowed"),
    ("x[0]", "Subscript is not allowed"),
    ("lambda: 1", "Lambda is not allowed"),
    ("a if b else c", "IfExp is not allowed"),
    ("sin(x=1)", "positional arguments only"),
    ("max(a, b)", "maximum(a, b) is the larger of two"),
    ("arctan2(a)", "arctan2 takes 2 arguments, got 1"),
    ("a, b = 1, 2", "assign to one plain name"),
    ("a +", "syntax error"),
    ("", "empty"),
    ("__x = 1; __x", "cannot be assigned"),
])
def test_rejections_are_clear(source, message):
    with pytest.raises(ProgramError, match=None) as info:
        parse_program(source)
    assert message in str(info.value)


def test_nothing_is_evaluated_by_python(monkeypatch):
    import builtins
    monkeypatch.setattr(builtins, "eval", lambda *a: pytest.fail("eval was called"))
    assert run_program("a * b", {"a": 2.0, "b": 3.0}).output.item() == 6.0


def test_missing_and_unknown_values():
    with pytest.raises(ProgramError, match="no value for b"):
        run_program("a + b", {"a": 1.0})
    with pytest.raises(ProgramError, match="no input named z"):
        run_program("a + 1", {"a": 1.0, "z": 2.0})


def test_program_graph_matches_engine_gradient():
    g = cr.explain.program("c = a * b; d = exp(c) / (1 + a)", a=0.3, b=-1.2)
    a, b = 0.3, -1.2
    grad = cr.grad(lambda a, b: cr.exp(a * b) / (1 + a), argnums=(0, 1))(a, b)
    r = g.reverse_sweep()
    assert r["a"] == pytest.approx(grad[0].item())
    assert r["b"] == pytest.approx(grad[1].item())
