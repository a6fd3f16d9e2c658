"""`chainrule explain`: the command prints the graph, both sweeps, path sums and work."""

import json

import pytest

from chainrule.cli.main import main
from chainrule.explain import render as render_mod


def run(capsys, *argv):
    code = main(["explain", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_colah_example(capsys):
    code, out, err = run(capsys, "(a+b)*(b+1)", "--at", "a=2", "b=1")
    assert code == 0 and err == ""
    assert "output out = 6" in out
    assert "t2    add        b, 1    out        2      b + 1" in out
    assert "dout/dt2  3" in out
    assert "node  d·/da  d·/db" in out and "out   2      5" in out
    assert "node  dout/d·" in out
    assert "  b: 2 paths: 1·2 + 1·3 = 5   [engine gradient 5]" in out
    assert "  a: 1 path: 1·2 = 2" in out
    assert "naive path sum  3" in out
    assert "forward sweeps  3                1          2 sweeps, one per input entry" in out
    assert "reverse sweeps  3                1          1 sweep, one per output entry" in out
    assert "no product is shared between paths, so factoring saves nothing" in out


def test_statements_keep_their_names_and_wrt(capsys):
    code, out, _ = run(capsys, "c = a + b; d = b + 1; e = c * d", "--at", "a=2", "b=1",
                       "--wrt", "b")
    assert code == 0
    assert "e     multiply   c, d    -          6" in out
    assert "b: 2 paths: 1·2 + 1·3 = 5" in out and "a: 1 path" not in out
    assert "node  d·/db" in out


def test_json(capsys):
    code, out, _ = run(capsys, "(a+b)*(b+1)", "--at", "a=2", "b=1", "--json")
    data = json.loads(out)
    assert code == 0 and data["value"] == 6.0 and data["grad"] == {"a": 2.0, "b": 5.0}
    assert data["paths"]["b"]["count"] == 2 and data["paths"]["b"]["sum"] == 5.0
    assert [p["partials"] for p in data["paths"]["b"]["listed"]] == [[1.0, 2.0], [1.0, 3.0]]
    assert data["forward"]["b"]["out"] == 5.0 and data["reverse"]["t1"] == 2.0


def test_json_counts_the_depth_1000_diamond_exactly(capsys):
    src = "; ".join(["y = sin(y) + cos(y)"] * 1000)
    code, out, _ = run(capsys, src, "--at", "y=0.5", "--json", "--max-paths", "2")
    data = json.loads(out)
    assert data["paths"]["y"]["count"] == 2**1000 and data["paths"]["y"]["capped"] is True
    assert len(data["paths"]["y"]["listed"]) == 2
    assert data["paths"]["y"]["sum"] == pytest.approx(data["grad"]["y"], rel=1e-9)


def test_max_paths_note_in_text(capsys):
    code, out, _ = run(capsys, "y = 2*x + 3*x + 4*x; z = 5*y + 6*y + 7*y", "--at", "x=1",
                       "--max-paths", "4")
    assert code == 0
    assert "x: 9 paths:" in out
    assert "… 5 more paths not listed (enumeration capped at --max-paths 4)" in out
    assert "sum over all 9 paths (factored, by dynamic programming) = 162" in out


def test_chain_table(capsys):
    code, out, _ = run(capsys, "--chain", "784,256,256,10,1")
    assert code == 0
    assert "from the input side (forward mode)   J4 (J3 (J2 J1))  53,395,104" in out
    assert "from the output side (reverse mode)  ((J4 J3) J2) J1  268,800" in out
    assert "optimal (matrix-chain DP)            ((J4 J3) J2) J1  268,800" in out
    code, out, _ = run(capsys, "--chain", "784,256,256,10,1", "--json")
    assert json.loads(out)["chain"]["optimal"] == 268_800


@pytest.mark.parametrize("argv, message", [
    (["__import__('os')", "--at"], "expected at least one argument"),
    (["__import__('os').system('true')"], "attribute access"),
    (["__import__('os')"], "unknown function '__import__'"),
    (["a.b + 1", "--at", "a=1"], "attribute access (a.b) is not allowed"),
    (["a + b", "--at", "a=1"], "no value for b"),
    (["a + 1", "--at", "a=x"], "'x' is not a number"),
    (["a + 1", "--at", "a"], "write NAME=VALUE"),
    (["a + 1", "--at", "a=1", "--wrt", "q"], "--wrt q: not an input"),
    (["x * 2", "--at", "x=1,2"], "reduce it to a number"),
    (["--chain", "3"], "at least two"),
    ([], "give a program"),
])
def test_user_mistakes_are_one_line_and_exit_2(capsys, argv, message):
    try:
        code = main(["explain", *argv])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    assert message in err
    if "expected at least" not in message:
        assert err.startswith("chainrule explain: error: ") and err.count("\n") == 1


def test_pictures_and_page(capsys, tmp_path):
    svg, png, html, dot = (tmp_path / f"g.{ext}" for ext in ("svg", "png", "html", "dot"))
    code, out, err = run(capsys, "(a+b)*(b+1)", "--at", "a=2", "b=1", "--svg", str(svg),
                         "--png", str(png), "--html", str(html), "--dot", str(dot))
    assert code == 0
    assert "grad dout/db = 5" in svg.read_text()
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "<!DOCTYPE html>" in html.read_text()
    assert dot.read_text().startswith("digraph chainrule {")
    assert f"wrote {svg}" in err


def test_svg_without_graphviz_says_how_to_install(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(render_mod.shutil, "which", lambda name: None)
    code, out, err = run(capsys, "a*b", "--at", "a=2", "b=1", "--svg", str(tmp_path / "g.svg"))
    assert code == 2 and "apt-get install graphviz" in err


def test_a_users_own_function_from_a_file(capsys, tmp_path):
    src = tmp_path / "mine.py"
    src.write_text("import chainrule as cr\n\n"
                   "def loss(w, x):\n    return cr.sum(cr.tanh(w * x))\n")
    code, out, err = run(capsys, f"{src}:loss", "--at", "w=0.5", "x=1,2,3")
    assert code == 0, err
    assert "w     input" in out and "x     input" in out
    w = 0.5 * __import__("numpy").array([1.0, 2.0, 3.0])
    expected = float(((1 - __import__("numpy").tanh(w) ** 2) * [1, 2, 3]).sum())
    assert f"[engine gradient {expected:.6g}]" in out
    code, _, err = run(capsys, f"{src}:loss", "--at", "w=0.5")
    assert code == 2 and "loss(w, x): give --at w=... x=..." in err
    code, _, err = run(capsys, f"{src}:nothing", "--at", "w=1")
    assert code == 2 and "defines no function 'nothing'" in err


def test_json_is_strict_at_a_division_by_zero(capsys):
    code, out, _ = run(capsys, "a / b", "--at", "a=1", "b=0", "--json")
    assert code == 0
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict token {c}"))
    assert data["value"] == "inf" and data["grad"] == {"a": "inf", "b": "-inf"}
    assert data["forward"]["a"]["out"] == data["grad"]["a"]   # both sweeps agree
    assert data["forward"]["b"]["out"] == data["grad"]["b"]


def test_output_paths_are_checked_before_any_work(capsys, tmp_path, monkeypatch):
    from chainrule import explain

    monkeypatch.setattr(explain, "program", lambda *a, **k: pytest.fail("work was done"))
    missing = tmp_path / "no" / "page.html"
    code, _, err = run(capsys, "a * b", "--at", "a=1", "b=2", "--html", str(missing))
    assert code == 2 and "does not exist" in err
    code, _, err = run(capsys, "a * b", "--at", "a=1", "b=2", "--svg", str(tmp_path))
    assert code == 2 and "is a folder" in err


def test_a_trained_model_on_one_test_image(capsys, tmp_path):
    import numpy as np

    import chainrule as cr

    folder = tmp_path / "mlp"
    assert main(["train", "--epochs", "1", "--out", str(folder), "--quiet"]) == 0
    capsys.readouterr()
    code, out, err = run(capsys, "--model", str(folder), "--image", "2", "--html",
                         str(tmp_path / "m.html"), "--dot", str(tmp_path / "m.dot"))
    assert code == 0, err
    assert out.startswith("test image: label ") and "net.1: Linear" in out
    assert "dloss/dnet.1.weight" in out
    page = (tmp_path / "m.html").read_text()
    assert "net.1: Linear" in page and "https://" not in page
    dot = (tmp_path / "m.dot").read_text()
    assert "subgraph cluster_" in dot and 'label="net.1: Linear"' in dot
    norm = float(out.split("dloss/dnet.5.bias")[1].split("norm ")[1].split()[0])
    from chainrule.cli.explain_sources import model_graph
    graph, _, _ = model_graph(str(folder), 2)
    bias = next(n for n in graph.inputs if n.name == "net.5.bias")
    graph.output_tensor.backward()
    assert norm == pytest.approx(float(np.linalg.norm(bias.tensor.grad.data)), rel=1e-3)
    code, _, err = run(capsys, "--model", str(folder), "--image", "100000")
    assert code == 2 and "--image 100000" in err
    assert isinstance(cr.explain.graph_of, object)
