"""The pictures docs/explain.md shows, made by chainrule itself: `make docs-pictures`.

Each picture is kept as DOT (our text, byte-stable) and SVG (graphviz's drawing of it);
tests/test_docs_pictures.py fails when a DOT here no longer matches what the library makes.
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np

import chainrule as cr

OUT = pathlib.Path(__file__).resolve().parents[1] / "docs" / "pictures"


def colah():
    g = cr.explain.program("c = a + b; d = b + 1; e = c * d", a=2.0, b=1.0)
    return g, {"adjoints": g.reverse_sweep()}


def neuron():
    def neuron(x1, x2, w1, w2, b):
        return cr.tanh(x1 * w1 + x2 * w2 + b)
    g = cr.explain.record(neuron, 2.0, 0.0, -3.0, 1.0, 6.8813735870195432)
    return g, {"adjoints": g.reverse_sweep()}


def mlp():
    rng = np.random.default_rng(0)
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
    for p in model.parameters():  # fixed weights, whatever the default initialisation
        p.data[...] = rng.normal(size=p.shape) * 0.5
    x, y = cr.tensor(rng.normal(size=(4, 3))), cr.tensor(np.array([0, 1, 1, 0]))
    with cr.explain.scopes() as calls:
        loss = cr.nn.CrossEntropyLoss()(model(x), y)
    g = cr.explain.graph_of(loss, model=model, scopes=calls)
    return g, {"adjoints": g.reverse_sweep()}


def lstm():
    class Net(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = cr.nn.LSTM(2, 3)
            self.head = cr.nn.Linear(3, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[-1]).sum()

    rng = np.random.default_rng(1)
    net = Net()
    for p in net.parameters():
        p.data[...] = rng.normal(size=p.shape) * 0.5
    with cr.explain.scopes() as calls:
        loss = net(cr.tensor(rng.normal(size=(5, 2, 2))))
    g = cr.explain.graph_of(loss, model=net, scopes=calls)
    return g, {"adjoints": g.reverse_sweep(), "collapse": True}


PICTURES = {"colah": colah, "neuron": neuron, "mlp": mlp, "lstm-layers": lstm}


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
