"""docs/pictures holds what `make docs-pictures` makes today: the DOT text of each picture
(chainrule's own, byte-stable) must match the library's, and the SVG must draw that DOT."""

import importlib.util
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("docs_pictures", ROOT / "scripts" /
                                              "docs_pictures.py")
pictures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pictures)


@pytest.mark.parametrize("name", list(pictures.PICTURES))
def test_picture_is_current(name):
    stored = ROOT / "docs" / "pictures" / f"{name}.dot"
    assert stored.exists(), f"run `make docs-pictures` ({stored} is missing)"
    assert stored.read_text(encoding="utf-8") == pictures.dot_of(name), \
        f"docs/pictures/{name}.dot is stale: run `make docs-pictures`"
    svg = (ROOT / "docs" / "pictures" / f"{name}.svg").read_text(encoding="utf-8")
    for node in re.findall(r"^\s+(\w+) \[label=", stored.read_text(), re.M):
        assert f"<title>{node}</title>" in svg, f"{name}.svg does not draw {node}: rerun"


def test_the_docs_show_every_picture():
    text = (ROOT / "docs" / "explain.md").read_text(encoding="utf-8")
    for name in pictures.PICTURES:
        assert f"pictures/{name}.svg" in text
