"""The worked examples the docs, notebooks and tests share, each a ready graph:
colah's e = (a + b)(b + 1), micrograd's neuron, a two-layer MLP on a batch of 4, and an
LSTM over a few steps with a linear head (the networks grouped by module)."""

from __future__ import annotations

import numpy as np

from ..nn import LSTM, CrossEntropyLoss, Linear, Module, Sequential, Tanh
from ..tensor import tensor
from .graph import Graph, graph_of, record
from .program import program
from .scopes import scopes

__all__ = ["SequenceNet", "colah", "lstm", "mlp", "neuron"]


def colah() -> Graph:
    """colah's `c = a + b; d = b + 1; e = c * d` at a = 2, b = 1."""
    return program("c = a + b; d = b + 1; e = c * d", a=2.0, b=1.0)


def neuron() -> Graph:
    """micrograd's neuron tanh(x1 w1 + x2 w2 + b) at its tutorial's values."""
    import chainrule as cr

    def neuron(x1, x2, w1, w2, b):
        return cr.tanh(x1 * w1 + x2 * w2 + b)
    return record(neuron, 2.0, 0.0, -3.0, 1.0, 6.8813735870195432)


def _fill(model, rng) -> None:
    for p in model.parameters():  # fixed weights, whatever the default initialisation
        p.data[...] = rng.normal(size=p.shape) * 0.5


def mlp(seed: int = 0) -> tuple:
    """(graph, model): Linear(3, 4), tanh, Linear(4, 2), cross-entropy on a batch of 4."""
    rng = np.random.default_rng(seed)
    model = Sequential(Linear(3, 4), Tanh(), Linear(4, 2))
    _fill(model, rng)
    x, y = tensor(rng.normal(size=(4, 3))), tensor(np.array([0, 1, 1, 0]))
    with scopes() as calls:
        loss = CrossEntropyLoss()(model(x), y)
    return graph_of(loss, model=model, scopes=calls), model


class SequenceNet(Module):
    """An LSTM over the sequence, then a linear head on the last step, summed."""

    def __init__(self):
        super().__init__()
        self.lstm = LSTM(2, 3)
        self.head = Linear(3, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[-1]).sum()


def lstm(steps: int = 5, seed: int = 1) -> tuple:
    """(graph, model): an LSTM(2, 3) over `steps` steps of a batch of 2, a linear head."""
    rng = np.random.default_rng(seed)
    net = SequenceNet()
    _fill(net, rng)
    with scopes() as calls:
        loss = net(tensor(rng.normal(size=(steps, 2, 2))))
    return graph_of(loss, model=net, scopes=calls), net
