"""`chainrule explain --symbolic`: the tape's program and its derivative program (the
symbol-to-symbol view) in the text, the JSON and the HTML page; `symbolic.replay`."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli.explain_symbolic import symbolic_view
from chainrule.cli.main import main
from chainrule.symbolic import replay

COLAH = ["explain", "c = a + b; d = b + 1; e = c * d", "--at", "a=2", "b=1", "--symbolic"]


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_text_shows_the_tape_then_the_program_and_its_simplified_derivative(capsys):
    out = _run(capsys, *COLAH)
    tape, symbolic = out.split("symbol-to-symbol:")
    assert "path sums" in tape                       # the tape view is still there
    assert "(x0 = a, x1 = b)" in symbolic
    assert "v3:float64[] = multiply(v1, v2)" in symbolic
    derivative = symbolic.split("its derivative program, d e / d (a, b)")[1]
    # de/da = b + 1 and de/db = (a + b) + (b + 1): 3 equations left of the 8 traced
    assert "(8 equations traced, 3 after)" in derivative
    assert "v4:float64[] = add(x1, 1.0)" in derivative
    assert "v8:float64[] = add(v3, v4)" in derivative and "in (v4, v8)" in derivative
    assert "1 * X -> X (x2)" in derivative


def test_the_derivative_program_computes_the_engine_gradient():
    graph = cr.explain.program("y = sin(a) * exp(b); z = y * a", a=0.7, b=-0.3)
    view = symbolic_view(graph)
    a, b = np.array(1.3), np.array(0.4)
    got = view.derivative([a, b])
    want = cr.grad(lambda a, b: cr.sin(a) * cr.exp(b) * a, argnums=(0, 1))(a, b)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.data, w.data, rtol=1e-14)
    only_b = symbolic_view(graph, wrt="b")
    assert only_b.wrt == ["b"] and len(only_b.derivative.graph.outputs) == 1


def test_json_and_html_carry_the_view(capsys, tmp_path):
    result = json.loads(_run(capsys, *COLAH, "--json"))
    assert result["symbolic"]["inputs"] == ["a", "b"]
    assert result["symbolic"]["equations"] == 3 and result["symbolic"]["equations_traced"] == 8
    assert "add(v3, v4)" in result["symbolic"]["derivative"]
    page = tmp_path / "p.html"
    _run(capsys, *COLAH, "--html", str(page))
    text = page.read_text()
    assert "derivative program" in text and "v8:float64[] = add(v3, v4)" in text
    assert text.index("crx-symbolic") < text.index("</body>")


def test_a_function_from_a_file_with_a_vector_input(capsys, tmp_path):
    source = tmp_path / "user.py"
    source.write_text("import chainrule as cr\n\ndef loss(w, x):\n"
                      "    return cr.sum(cr.tanh(w * x) ** 2)\n")
    out = _run(capsys, "explain", f"{source}:loss", "--at", "w=0.5", "x=1,2,3", "--wrt", "w",
               "--symbolic")
    symbolic = out.split("symbol-to-symbol:")[1]
    assert "x1:float64[3]" in symbolic and "tanh_grad(" in symbolic
    assert "d (w)" in symbolic


def test_replay_reapplies_the_tape_to_new_values_and_refuses_untracked_inputs():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cr.sum(cr.exp(x) * x)
    f = replay(y, [x])
    np.testing.assert_allclose(f(np.array([0.0, 3.0])).data, 3 * np.exp(3.0))
    np.testing.assert_allclose(cr.grad(f)(np.array([0.0, 1.0])).data, [1.0, 2 * np.e])
    with pytest.raises(ValueError, match="do not require grad"):
        replay(y, [cr.tensor([1.0, 2.0])])


def test_symbolic_needs_a_program_and_says_what_it_does_not_combine_with(capsys):
    code = main(["explain", "x * x", "--at", "x=3", "--symbolic", "--nan"])
    err = capsys.readouterr().err
    assert code == 2 and "without --nan" in err and len(err.strip().splitlines()) == 1
    code = main(["explain", "--chain", "3,4,5", "--symbolic"])
    assert code == 2 and "give a program" in capsys.readouterr().err
