"""A chosen order reused at new points: the structure is kept, only the partials re-evaluated.

Linearizing from scratch reads every local Jacobian's structure at two points, and the
order search runs on top of that. At a new point of the same function and argument
shapes the recorded graph is usually the same (same ops, shapes and edges): then each
edge's partials are evaluated once, at the point, into the stored structure, and the
order runs as a program compiled once: one NumPy product (and sum) per pair of edges,
chosen for the blocks' kinds (a scaled identity is a number, a diagonal a vector, other
blocks matrices). Anything else (other ops, a partial nonzero where the structure says
zero) is detected and linearizes afresh, so no entry is ever dropped silently.
"""

from __future__ import annotations

import operator

import numpy as np

from ..core import no_grad
from .blocks import DIAGONAL_KINDS, StructureChanged
from .eliminate import Work
from .linearized import LinearizedGraph, block_at
from .result import assemble


class Plan:
    """One function's linearized structure at one signature, and its order compiled."""

    def __init__(self, graph, recorded, order):
        self.signature = recorded.signature()
        self.single_argnum = graph.single_argnum
        self.order = list(order)
        self.like = [graph.edges.get((k, j)) for k, j, *_ in recorded.sites()]
        self.copies = {(j, k): graph.edges[(j, k)].values for j, k in recorded.copies}
        self.steps = _compile(graph, self.order)

    def jacobian_at(self, recorded, rebuild):
        """The Jacobian at the point `recorded` was run at (`rebuild`: output leaves ->
        the output's structure), or None when the stored structure does not hold there."""
        sites = list(recorded.sites())
        if recorded.signature(sites) != self.signature:
            return None
        values = dict(self.copies)
        try:
            with no_grad(), np.errstate(all="ignore"):
                for (k, j, t, ps, _), like in zip(sites, self.like):
                    node = t._node
                    block = block_at(node.op, node.inputs, node.params, ps, t, like)
                    if block is not None:
                        values[(k, j)] = _raw(block)
        except StructureChanged:
            return None
        for products, dead in self.steps:
            for dst, left, right, mul, add in products:
                p = mul(values[left], values[right])
                values[dst] = p if add is None else add(values[dst], p)
            for key in dead:
                del values[key]
        layout = LinearizedGraph(recorded.vertices, {}, recorded.inputs, recorded.outputs,
                                 rebuild, self.single_argnum)
        return assemble(layout, lambda key: None if key not in values
                        else _dense(values[key], recorded.vertices[key[0]].size))


def _raw(block):
    """A block's values as the program holds them: number, vector or matrix."""
    if block.kind == "scaled":
        return block.values
    if block.kind == "diagonal":
        return block.values[0] if block.shape[0] == 1 else block.values
    return block.values if block.kind == "dense" else block.dense()


def _dense(value, m):
    ndim = np.ndim(value)
    return value if ndim == 2 else np.diag(value) if ndim == 1 else np.eye(m) * value


def _compile(graph, order) -> list:
    """[(products, dead edges)] per eliminated vertex: products (dst, left, right, mul, add),
    with mul and add the NumPy operations for the kinds the blocks have at that step."""
    work = Work({key: b.structure_only() for key, b in graph.edges.items()},
                len(graph.vertices))
    steps = []
    for j in order:
        products = []

        def record(k, j, i, A, B, old, products=products):
            mul = _MUL[A.kind in DIAGONAL_KINDS, B.kind in DIAGONAL_KINDS]
            add = None if old is None else _ADD[
                old.kind in DIAGONAL_KINDS, A.kind in DIAGONAL_KINDS and B.kind in DIAGONAL_KINDS]
            products.append(((k, i), (k, j), (j, i), mul, add))

        dead = [(j, i) for i in work.preds[j]] + [(k, j) for k in work.succs[j]]
        work.eliminate(j, record)
        steps.append((products, dead))
    return steps


def _diag_times_matrix(d, M):
    return (d[:, None] if np.ndim(d) else d) * M


def _matrix_plus_diag(M, d):
    out = np.array(M, dtype=np.result_type(M, d))
    out.flat[::out.shape[1] + 1] += d   # diagonal blocks are square
    return out


# (left is diagonal, right is diagonal) -> the product; a matrix times a diagonal d is
# M * d (d scales the columns), a diagonal times a matrix scales the rows.
_MUL = {(True, True): operator.mul, (True, False): _diag_times_matrix,
        (False, True): operator.mul, (False, False): operator.matmul}
# (old is diagonal, product is diagonal) -> their sum
_ADD = {(True, True): operator.add, (True, False): lambda d, M: _matrix_plus_diag(M, d),
        (False, True): _matrix_plus_diag, (False, False): operator.add}
