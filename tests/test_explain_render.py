"""Pictures: DOT text without installs, SVG/PNG through graphviz, deterministic output."""

import ast
import pathlib
import subprocess
import sys

import pytest

from chainrule.explain import GraphvizMissing, program
from chainrule.explain import render as render_mod

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "chainrule"


def colah():
    return program("c = a + b; d = b + 1; e = c * d", a=2.0, b=1.0)


def test_dot_shows_ops_values_partials_and_is_deterministic():
    dot = colah().to_dot()
    assert dot == colah().to_dot()
    assert 'n4 [label="e = multiply\\nvalue 6"' in dot
    assert 'n3 -> n4 [label="3", tooltip="de/dd = 3"]' in dot
    assert "style=dashed" in dot  # the constant 1 feeds d but carries no gradient
    assert "grad d" not in dot


def test_dot_shows_grads_after_a_sweep_or_backward():
    g = colah()
    dot = g.to_dot(g.reverse_sweep())
    assert "grad de/db = 5" in dot and "grad de/dd = 3" in dot
    g.output.tensor.backward(retain_graph=True)
    assert "grad de/db = 5" in g.to_dot()  # inputs' .grad after backward


def test_svg_and_png_render_deterministically(tmp_path):
    g = colah()
    svg = g.svg(g.reverse_sweep())
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "e = multiply" in svg and "grad de/db = 5" in svg
    assert svg == colah().svg(colah().reverse_sweep())
    png1 = g.render(tmp_path / "a.png")
    png2 = colah().render(tmp_path / "b.png")
    assert png1.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png1.read_bytes() == png2.read_bytes()
    assert g._repr_svg_() == g.svg()


def test_missing_dot_gives_install_instructions(monkeypatch):
    monkeypatch.setattr(render_mod.shutil, "which", lambda name: None)
    with pytest.raises(GraphvizMissing, match="apt-get install graphviz"):
        colah().svg()
    assert colah()._repr_svg_() is None
    assert "digraph" in colah().to_dot()  # DOT still works


def test_importing_chainrule_does_not_import_graphviz():
    code = "import sys, chainrule as cr; cr.explain.program('a*b', a=1.0, b=2.0).to_dot(); " \
           "print('graphviz' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((a.name, node) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            mod = "." * node.level + (node.module or "")
            yield from ((f"{mod}.{a.name}" if node.module is None else mod, node)
                        for a in node.names)


def test_dependency_direction_for_explain():
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        for name, _node in _imports(path):
            if rel.startswith(("explain/", "cli/")) or rel == "__init__.py":
                continue
            assert "explain" not in name.split("."), (rel, name)
        if rel.startswith("explain/"):
            tree = ast.parse(path.read_text())
            for node in tree.body:  # graphviz only lazily, inside functions
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                    assert not any("graphviz" in n for n in names), rel
                    assert not any(n.startswith("cli") or ".cli" in n for n in names), rel
