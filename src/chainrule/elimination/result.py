"""Running an order on the graph's values: the Jacobian, its exact counts, each step."""

from __future__ import annotations

import numpy as np

from ..core import _new_tensor
from .eliminate import Work
from .pictures import page, to_dot


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

    def __init__(self, graph, name, indices, work, steps):
        self.graph = graph
        self.order = name                        # "forward", "markowitz", "given", ...
        self.indices = list(indices)             # vertex indices, in elimination order
        self.sequence = [graph.vertices[j].name for j in indices]
        self.multiplications = work.multiplications
        self.additions = work.additions
        self.peak_entries = work.peak
        self.steps = steps
        self._edges = work.edges

    @property
    def jacobian(self):
        """The Jacobian in JAX's layout: J[output][argnum], blocks out.shape + arg.shape."""
        edges = self._edges
        return assemble(self.graph, lambda key: None if key not in edges
                        else edges[key].dense())

    def to_dot(self, step: int = 0) -> str:
        """DOT text of the graph before elimination step `step` (0: the whole graph)."""
        nxt = self.indices[step] if step < len(self.indices) else None
        return to_dot(self.graph, self.indices[:step], nxt)

    def to_html(self, render=None) -> str:
        """A page showing the graph shrink vertex by vertex (`render(dot) -> svg bytes`)."""
        return page(self, render)

    def _repr_html_(self):
        rows = "".join(f"<tr><td>{k}</td><td>{s.vertex}</td><td>{s.multiplications}</td>"
                       f"<td>{s.additions}</td><td>{s.stored}</td></tr>"
                       for k, s in enumerate(self.steps, 1))
        return (f"<p>{self.order}: {self.multiplications} multiplications, {self.additions} "
                f"additions, peak {self.peak_entries} stored entries</p><table><tr><th>step"
                "</th><th>eliminate</th><th>mul</th><th>add</th><th>stored</th></tr>"
                f"{rows}</table>")

    def __repr__(self):
        return (f"<Elimination {self.order}: {self.multiplications} multiplications, "
                f"{self.additions} additions, peak {self.peak_entries} stored entries>")

    def __str__(self):
        lines = [repr(self)]
        for k, s in enumerate(self.steps, 1):
            lines.append(f"  {k:3d}. eliminate {s.vertex:<8} {s.multiplications:6d} mul "
                         f"{s.additions:6d} add  {s.stored:6d} stored")
        return "\n".join(lines)


def assemble(graph, dense):
    """The Jacobian in JAX's layout from `dense((output, input))`: that edge's m x n
    values once every intermediate is gone (None: no edge, a zero block)."""
    per_leaf = []
    for q in graph.outputs:
        out = graph.vertices[q]
        blocks = []
        for a in graph.inputs:
            x = graph.vertices[a]
            values = dense((q, a))
            dtype = np.result_type(out.dtype, x.dtype)
            values = (np.zeros((out.size, x.size), dtype=dtype) if values is None
                      else np.asarray(values, dtype=dtype))
            blocks.append(_new_tensor(values.reshape(out.shape + x.shape)))
        per_leaf.append(blocks[0] if graph.single_argnum else tuple(blocks))
    return graph.rebuild(per_leaf)


def execute(graph, name: str, order) -> Elimination:
    """Eliminate `order` (vertex indices) on the graph's values, step by step."""
    work = Work(graph.edges, len(graph.vertices))
    steps = []
    for j in order:
        mults, adds = work.eliminate(j)
        steps.append(Step(graph.vertices[j].name, mults, adds, work.stored))
    return Elimination(graph, name, order, work, steps)
