"""Jacobian blocks stored with their structure, and products/sums that count their work.

A block is the m x n Jacobian of one vertex with respect to another (both flattened).
Its kind says how it is stored: `scaled` (c * I, one number), `diagonal` (n numbers),
`sparse` (coordinates of the nonzeros; broadcasts, reductions, selections) or `dense`.
`unit` marks blocks whose every entry is +-1 by structure (copies, sums, sign flips):
multiplying by one is bookkeeping, not arithmetic, so it costs no multiplication.

Counts are those of the scalar work the structure implies: a product A @ B costs one
multiplication per pair of structural nonzeros A[i, k], B[k, j] (none when A or B is
unit) and one addition per such pair beyond the first landing on each entry of the
result; adding two blocks costs one addition per entry both hold. A diagonal times a
dense block therefore costs the size of the block, not a matrix product. Blocks built
with `values=None` carry structure only: the search for orders runs on those.
"""

from __future__ import annotations

import numpy as np

DIAGONAL_KINDS = ("scaled", "diagonal")


class Block:
    """An m x n Jacobian block: kind, shape, structure (mask), values (or None) and unit."""

    __slots__ = ("kind", "shape", "values", "mask", "unit", "nnz")

    def __init__(self, kind, shape, values=None, mask=None, unit=False):
        self.kind = kind
        self.shape = shape
        self.values = values
        self.mask = mask          # bool m x n, kept for sparse blocks only
        self.unit = unit
        m, n = shape
        self.nnz = (n if kind in DIAGONAL_KINDS else m * n if kind == "dense"
                    else int(mask.sum()))

    @property
    def stored(self) -> int:
        """How many numbers this block keeps (a scaled identity keeps one)."""
        return 1 if self.kind == "scaled" else self.nnz

    def pattern(self) -> np.ndarray:
        """The structural nonzeros as a bool m x n array."""
        m, n = self.shape
        if self.kind in DIAGONAL_KINDS:
            return np.eye(m, dtype=bool)
        if self.kind == "dense":
            return np.ones((m, n), dtype=bool)
        return self.mask

    def counts(self, axis: int) -> np.ndarray:
        """Structural nonzeros in each row (axis=1) or in each column (axis=0)."""
        size, other = self.shape if axis == 1 else self.shape[::-1]
        if self.kind in DIAGONAL_KINDS:
            return np.ones(size, dtype=np.int64)
        if self.kind == "dense":
            return np.full(size, other, dtype=np.int64)
        return self.mask.sum(axis=axis)

    def dense(self) -> np.ndarray:
        """The values as an m x n array."""
        m, n = self.shape
        if self.kind == "scaled":
            return np.eye(m) * self.values
        if self.kind == "diagonal":
            return np.diag(self.values)
        if self.kind == "dense":
            return self.values
        rows, cols, vals = self.values
        out = np.zeros((m, n), dtype=vals.dtype)
        out[rows, cols] = vals
        return out

    def structure_only(self) -> Block:
        """The same block without its values (what the order search works on)."""
        return Block(self.kind, self.shape, None, self.mask, self.unit)

    def describe(self) -> str:
        """A short label: `diagonal 3`, `dense 2x3`, `sparse 4x4 (4 nonzeros)`, ..."""
        m, n = self.shape
        unit = " +-1" if self.unit else ""
        if self.kind == "scaled":
            return f"scaled identity {m}{unit}"
        if self.kind == "diagonal":
            return f"diagonal {m}{unit}"
        if self.kind == "dense":
            return f"dense {m}x{n}{unit}"
        return f"sparse {m}x{n} ({self.nnz} nonzeros){unit}"


def from_dense(J: np.ndarray, mask: np.ndarray, constant: bool, free_units=True) -> Block:
    """The most compact block for the m x n values `J` with structural nonzeros `mask`.

    `constant`: the block does not depend on the point (its zeros and +-1 are structural).
    `free_units=False`: never mark it unit (every product of nonzeros then counts).
    """
    m, n = J.shape
    unit = bool(free_units and constant and mask.any() and np.all(np.abs(J[mask]) == 1))
    if m == n and mask.sum() == m and np.all(np.diag(mask)):
        d = np.diag(J).copy()
        if constant and np.all(d == d[0]):
            return Block("scaled", (m, n), d[0], unit=unit)
        return Block("diagonal", (m, n), d, unit=unit)
    if mask.all():
        return Block("dense", (m, n), J, unit=unit)
    rows, cols = np.nonzero(mask)
    return Block("sparse", (m, n), (rows, cols, J[rows, cols]), mask, unit)


class StructureChanged(ValueError):
    """Values at a new point that do not fit the structure read earlier (a new nonzero)."""


def refill(like: Block, values: np.ndarray, diagonal: bool, name: str) -> Block:
    """A block of `like`'s structure holding `values`: its m x n entries, or its diagonal
    when `diagonal`. Raises StructureChanged when a value falls outside that structure."""
    m, n = like.shape
    if diagonal and like.kind in DIAGONAL_KINDS:
        d = values
    else:
        J = np.diag(values) if diagonal else values
        if like.kind != "dense" and np.any(J[~like.pattern()] != 0):
            raise StructureChanged(f"the partial of {name} has a new nonzero")
        if like.kind == "dense":
            return Block("dense", like.shape, J, unit=like.unit)
        if like.kind == "sparse":
            rows, cols = np.nonzero(like.mask)
            return Block("sparse", like.shape, (rows, cols, J[rows, cols]), like.mask, like.unit)
        d = np.diag(J).copy()
    if like.kind == "diagonal":
        return Block("diagonal", like.shape, d, unit=like.unit)
    if not np.all(d == d[0]):
        raise StructureChanged(f"the partial of {name} is no longer a scaled identity")
    return Block("scaled", like.shape, d[0], unit=like.unit)


def _sparse(shape, values: np.ndarray | None, mask: np.ndarray, unit: bool) -> Block:
    """A block of structure `mask` (dense when full), values from an m x n array."""
    m, n = shape
    if mask.all():
        return Block("dense", shape, values, unit=unit)
    if values is None:
        return Block("sparse", shape, None, mask, unit)
    rows, cols = np.nonzero(mask)
    return Block("sparse", shape, (rows, cols, values[rows, cols]), mask, unit)


def _scale_rows(d, B: Block):
    """diag(d) @ B for a vector (or scalar) d: values only."""
    if B.kind == "scaled":
        return d * B.values
    if B.kind == "diagonal":
        return d * B.values
    if B.kind == "dense":
        return (d[:, None] if np.ndim(d) else d) * B.values
    rows, cols, vals = B.values
    return rows, cols, (d[rows] if np.ndim(d) else d) * vals


def _scale_cols(A: Block, d):
    """A @ diag(d) for a vector (or scalar) d: values only."""
    if A.kind in DIAGONAL_KINDS:
        return A.values * d
    if A.kind == "dense":
        return A.values * d
    rows, cols, vals = A.values
    return rows, cols, vals * (d[cols] if np.ndim(d) else d)


def multiplications(A: Block, B: Block) -> int:
    """Multiplications of A @ B, without forming it."""
    if A.unit or B.unit:
        return 0
    if A.kind in DIAGONAL_KINDS:
        return B.nnz
    if B.kind in DIAGONAL_KINDS:
        return A.nnz
    return int(A.counts(0) @ B.counts(1))


def multiply(A: Block, B: Block):
    """(A @ B, multiplications, additions): the chain rule along one pair of edges."""
    has_values = A.values is not None and B.values is not None
    m, n = A.shape
    p = B.shape[1]
    if A.kind in DIAGONAL_KINDS or B.kind in DIAGONAL_KINDS:
        diag, other, left = (A, B, True) if A.kind in DIAGONAL_KINDS else (B, A, False)
        mults = multiplications(A, B)
        unit = diag.unit and other.unit
        if other.kind in DIAGONAL_KINDS:
            kind = "scaled" if diag.kind == other.kind == "scaled" else "diagonal"
        else:
            kind = other.kind
        values = None
        if has_values:
            values = (_scale_rows(diag.values, other) if left
                      else _scale_cols(other, diag.values))
        return Block(kind, (m, p), values, other.mask, unit), mults, 0
    triples = int(A.counts(0) @ B.counts(1))
    if A.kind == "dense" and B.kind == "dense":
        mask, nnz = None, m * p
    else:
        mask = A.pattern() @ B.pattern()
        nnz = int(mask.sum())
    mults = 0 if A.unit or B.unit else triples   # = multiplications(A, B), reusing triples
    unit = A.unit and B.unit and triples == nnz
    values = A.dense() @ B.dense() if has_values else None
    if mask is None:
        return Block("dense", (m, p), values, unit=unit), mults, triples - nnz
    return _sparse((m, p), values, mask, unit), mults, triples - nnz


def add(C: Block, P: Block):
    """(C + P, additions): two paths' contributions meeting on one edge."""
    has_values = C.values is not None and P.values is not None
    if C.kind in DIAGONAL_KINDS and P.kind in DIAGONAL_KINDS:
        kind = "scaled" if C.kind == P.kind == "scaled" else "diagonal"
        values = None
        if has_values:
            values = C.values + P.values
            if kind == "diagonal" and np.ndim(values) == 0:
                values = np.full(C.shape[0], values)
        return Block(kind, C.shape, values, unit=False), C.nnz
    if C.kind == "dense" and P.kind == "dense":
        values = C.values + P.values if has_values else None
        return Block("dense", C.shape, values), C.nnz
    a, b = C.pattern(), P.pattern()
    overlap = int((a & b).sum())
    values = C.dense() + P.dense() if has_values else None
    return _sparse(C.shape, values, a | b, C.unit and P.unit and overlap == 0), overlap
