"""The pictures docs/explain.md shows, made by chainrule itself: `make docs-pictures`.

Each picture is kept as DOT (our text, byte-stable) and SVG (graphviz's drawing of it);
tests/test_docs_pictures.py fails when a DOT here no longer matches what the library makes.
"""

from __future__ import annotations

import pathlib
import sys

from chainrule.explain import examples

OUT = pathlib.Path(__file__).resolve().parents[1] / "docs" / "pictures"


def _swept(graph, **options):
    return graph, dict(options, adjoints=graph.reverse_sweep())


PICTURES = {
    "colah": lambda: _swept(examples.colah()),
    "neuron": lambda: _swept(examples.neuron()),
    "mlp": lambda: _swept(examples.mlp()[0]),
    "lstm-layers": lambda: _swept(examples.lstm()[0], collapse=True),
}


def dot_of(name: str) -> str:
    graph, options = PICTURES[name]()
    return graph.to_dot(**options)


def main() -> int:
    from chainrule.explain.render import render

    OUT.mkdir(parents=True, exist_ok=True)
    for name in PICTURES:
        dot = dot_of(name)
        (OUT / f"{name}.dot").write_text(dot, encoding="utf-8")
        (OUT / f"{name}.svg").write_bytes(render(dot, "svg"))
        print(f"wrote docs/pictures/{name}.dot and .svg", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
