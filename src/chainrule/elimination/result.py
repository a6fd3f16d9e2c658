"""Running an order on the graph's values: the Jacobian, its exact counts, each step."""

from __future__ import annotations

import numpy as np

from ..core import _new_tensor
from .eliminate import Work


class Step:
    """One elimination: the vertex, its multiplications and additions, entries stored after."""

    __slots__ = ("vertex", "multiplications", "additions", "stored")

    def __init__(self, vertex, multiplications, additions, stored):
        self.vertex = vertex
        self.multiplications = multiplications
        self.additions = additions
        self.stored = stored

    def __repr__(self):
        return (f"<step {self.vertex}: {self.multiplications} mul, {self.additions} add, "
                f"{self.stored} stored>")


class Elimination:
    """The outcome of one order: `.jacobian`, `.multiplications`, `.additions`, `.steps`."""

    def __init__(self, graph, name, sequence, work, steps):
        self.graph = graph
        self.order = name                        # "forward", "markowitz", "given", ...
        self.sequence = sequence                 # vertex names, in elimination order
        self.multiplications = work.multiplications
        self.additions = work.additions
        self.peak_entries = work.peak
        self.steps = steps
        self._edges = work.edges

    @property
    def jacobian(self):
        """The Jacobian in JAX's layout: J[output][argnum], blocks out.shape + arg.shape."""
        g = self.graph
        per_leaf = []
        for q in g.outputs:
            out = g.vertices[q]
            blocks = []
            for a in g.inputs:
                x = g.vertices[a]
                block = self._edges.get((q, a))
                values = (np.zeros((out.size, x.size), dtype=out.dtype) if block is None
                          else np.asarray(block.dense(), dtype=out.dtype))
                blocks.append(_new_tensor(values.reshape(out.shape + x.shape)))
            per_leaf.append(blocks[0] if g.single_argnum else tuple(blocks))
        return g.rebuild(per_leaf)

    def __repr__(self):
        return (f"<Elimination {self.order}: {self.multiplications} multiplications, "
                f"{self.additions} additions, peak {self.peak_entries} stored entries>")

    def __str__(self):
        lines = [repr(self)]
        for k, s in enumerate(self.steps, 1):
            lines.append(f"  {k:3d}. eliminate {s.vertex:<8} {s.multiplications:6d} mul "
                         f"{s.additions:6d} add  {s.stored:6d} stored")
        return "\n".join(lines)


def execute(graph, name: str, order) -> Elimination:
    """Eliminate `order` (vertex indices) on the graph's values, step by step."""
    work = Work(graph.edges, len(graph.vertices))
    steps = []
    for j in order:
        mults, adds = work.eliminate(j)
        steps.append(Step(graph.vertices[j].name, mults, adds, work.stored))
    return Elimination(graph, name, [graph.vertices[j].name for j in order], work, steps)
