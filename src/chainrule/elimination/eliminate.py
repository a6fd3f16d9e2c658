"""Vertex elimination: remove intermediates one by one, multiplying the edges around each.

Eliminating j replaces every path i -> j -> k by the edge i -> k with block
B[k, j] @ B[j, i], added to the edge i -> k if there is one (Griewank and Walther's
vertex elimination; forward and reverse mode are its two simplest orders). When every
intermediate is gone, the edges from inputs to outputs are the Jacobian. Every product
and sum reports its multiplications and additions, so an order's cost is exact.
"""

from __future__ import annotations

from .blocks import add, multiplications, multiply


class Work:
    """A graph being eliminated: edges with predecessor and successor lists, and counts."""

    __slots__ = ("edges", "preds", "succs", "multiplications", "additions", "stored", "peak")

    def __init__(self, edges: dict, vertices: int):
        self.edges = dict(edges)
        self.preds = [{} for _ in range(vertices)]   # dicts used as ordered sets
        self.succs = [{} for _ in range(vertices)]
        for k, j in edges:
            self.preds[k][j] = None
            self.succs[j][k] = None
        self.multiplications = 0
        self.additions = 0
        self.stored = sum(b.stored for b in edges.values())
        self.peak = self.stored

    def copy(self) -> Work:
        """An independent copy (blocks are never mutated, so they are shared)."""
        new = type(self).__new__(type(self))
        new.edges = dict(self.edges)
        new.preds = [dict(p) for p in self.preds]
        new.succs = [dict(s) for s in self.succs]
        new.multiplications = self.multiplications
        new.additions = self.additions
        new.stored = self.stored
        new.peak = self.peak
        return new

    def markowitz(self, j: int) -> int:
        """Markowitz degree of j: (number of predecessors) x (number of successors)."""
        return len(self.preds[j]) * len(self.succs[j])

    def cost(self, j: int) -> int:
        """Multiplications that eliminating j now would take (nothing changes)."""
        edges = self.edges
        return sum(multiplications(edges[(k, j)], edges[(j, i)])
                   for i in self.preds[j] for k in self.succs[j])

    def eliminate(self, j: int, record=None) -> tuple:
        """Eliminate vertex j; returns (multiplications, additions) of this step.

        `record(k, j, i, A, B, old)`, when given, hears of every product A @ B (the
        blocks of k <- j and j <- i) and the block `old` of k <- i it adds to (or None).
        """
        edges, preds, succs = self.edges, self.preds, self.succs
        mults = adds = 0
        for i in preds[j]:
            B = edges[(j, i)]
            for k in succs[j]:
                P, mu, ad = multiply(edges[(k, j)], B)
                mults += mu
                adds += ad
                old = edges.get((k, i))
                if record is not None:
                    record(k, j, i, edges[(k, j)], B, old)
                if old is None:
                    edges[(k, i)] = P
                    preds[k][i] = None
                    succs[i][k] = None
                    self.stored += P.stored
                else:
                    C, ad = add(old, P)
                    adds += ad
                    edges[(k, i)] = C
                    self.stored += C.stored - old.stored
        self.peak = max(self.peak, self.stored)
        for i in preds[j]:
            self.stored -= edges.pop((j, i)).stored
            del succs[i][j]
        for k in succs[j]:
            self.stored -= edges.pop((k, j)).stored
            del preds[k][j]
        preds[j].clear()
        succs[j].clear()
        self.multiplications += mults
        self.additions += adds
        return mults, adds


class ScalarWork(Work):
    """The structure of a graph whose values are all scalars, kept as edge -> unit flag.

    Counts are those of Work on 1 x 1 blocks (a product costs 1 unless a factor is +-1,
    a sum costs 1), at a fraction of the cost: the order search runs on this when it can.
    """

    __slots__ = ()

    def __init__(self, edges: dict, vertices: int):
        self.edges = {key: block.unit for key, block in edges.items()}
        self.preds = [{} for _ in range(vertices)]
        self.succs = [{} for _ in range(vertices)]
        for k, j in edges:
            self.preds[k][j] = None
            self.succs[j][k] = None
        self.multiplications = self.additions = 0
        self.stored = self.peak = len(edges)

    def cost(self, j: int) -> int:
        edges = self.edges
        return sum(1 for i in self.preds[j] if not edges[(j, i)]) * sum(
            1 for k in self.succs[j] if not edges[(k, j)])

    def eliminate(self, j: int) -> tuple:
        edges, preds, succs = self.edges, self.preds, self.succs
        mults = adds = 0
        for i in preds[j]:
            unit_in = edges.pop((j, i))
            del succs[i][j]
            for k in succs[j]:
                unit_out = edges[(k, j)]
                if not (unit_in or unit_out):
                    mults += 1
                if (k, i) in edges:
                    adds += 1
                    edges[(k, i)] = False
                else:
                    edges[(k, i)] = unit_in and unit_out
                    preds[k][i] = None
                    succs[i][k] = None
        self.peak = max(self.peak, len(edges) + len(preds[j]))   # j's in-edges went first
        for k in succs[j]:
            del edges[(k, j)]
            del preds[k][j]
        preds[j].clear()
        succs[j].clear()
        self.stored = len(edges)
        self.multiplications += mults
        self.additions += adds
        return mults, adds
