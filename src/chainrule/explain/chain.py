"""Jacobian-chain costs: forward vs reverse accumulation vs the optimal bracketing.

For layer widths d0, d1, ..., dk the Jacobian of the whole chain is J_k ... J_2 J_1 with
J_i of shape (d_i, d_{i-1}). Multiplying a (p, q) by a (q, r) matrix costs p*q*r
multiply-adds. Accumulating from the input side (forward mode) brackets as
J_k (... (J_3 (J_2 J_1))); from the output side (reverse mode, backprop) as
((J_k J_{k-1}) J_{k-2}) ...; the cheapest bracketing is found by the classic
matrix-chain dynamic program (Cormen et al.), and `brute_force_cost` checks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

__all__ = ["ChainCosts", "brute_force_cost", "chain_costs", "parse_widths",
           "widths_from_graph"]


@dataclass
class ChainCosts:
    """Multiply-adds of the three orders for the chain of widths d0..dk."""

    widths: tuple
    forward: int
    reverse: int
    optimal: int
    forward_order: str
    reverse_order: str
    optimal_order: str

    def table(self) -> str:
        from .report import chain_table
        return chain_table(self)

    def __str__(self):
        return self.table()

    def _repr_html_(self):
        from .tables import chain_html
        return chain_html(self)


def parse_widths(text) -> tuple:
    """`"784,256,10,1"` or a sequence of ints -> a tuple of positive ints (at least two)."""
    items = text.replace(" ", "").split(",") if isinstance(text, str) else list(text)
    try:
        widths = tuple(int(w) for w in items if w != "")
    except (TypeError, ValueError):
        raise ValueError(f"chain: widths must be positive integers like 784,256,10,1, "
                         f"got {text!r}") from None
    if len(widths) < 2 or any(w <= 0 for w in widths):
        raise ValueError(f"chain: give at least two positive widths (d0,d1,...), got {text!r}")
    return widths


def _name(i: int) -> str:
    return f"J{i}"


def _matrices(widths):
    """The factors left to right: J_k ... J_1 as (name, rows, cols)."""
    k = len(widths) - 1
    return [(_name(i), widths[i], widths[i - 1]) for i in range(k, 0, -1)]


def _forward(widths):
    k = len(widths) - 1
    cost = sum(widths[i] * widths[i - 1] * widths[0] for i in range(2, k + 1))
    order = _name(1)
    for i in range(2, k + 1):
        order = f"{_name(i)} {order}" if i == 2 else f"{_name(i)} ({order})"
    return cost, order


def _reverse(widths):
    k = len(widths) - 1
    cost = sum(widths[k] * widths[i] * widths[i - 1] for i in range(1, k))
    order = _name(k)
    for i in range(k - 1, 0, -1):
        order = f"{order} {_name(i)}" if i == k - 1 else f"({order}) {_name(i)}"
    return cost, order


def _optimal(widths):
    """Matrix-chain ordering by dynamic programming, O(k^3), iterative."""
    mats = _matrices(widths)
    n = len(mats)
    dims = [mats[0][1]] + [m[2] for m in mats]  # factor j is dims[j] x dims[j+1]
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(2, n + 1):
        for i in range(n - length + 1):
            j = i + length - 1
            best = None
            for s in range(i, j):
                c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
                if best is None or c < best:
                    best, split[i][j] = c, s
            cost[i][j] = best
    # Rebuild the bracketing without recursion.
    text = {}
    stack = [(0, n - 1, False)]
    while stack:
        i, j, ready = stack.pop()
        if i == j:
            text[(i, j)] = mats[i][0]
            continue
        s = split[i][j]
        if not ready:
            stack += [(i, j, True), (i, s, False), (s + 1, j, False)]
            continue
        left, right = text[(i, s)], text[(s + 1, j)]
        left = f"({left})" if s > i else left
        right = f"({right})" if s + 1 < j else right
        text[(i, j)] = f"{left} {right}"
    return cost[0][n - 1], text[(0, n - 1)]


def chain_costs(widths) -> ChainCosts:
    """Costs of accumulating J_k ... J_1 for widths d0..dk: input side, output side, best."""
    widths = parse_widths(widths)
    f_cost, f_order = _forward(widths)
    r_cost, r_order = _reverse(widths)
    o_cost, o_order = _optimal(widths)
    return ChainCosts(widths, f_cost, r_cost, o_cost, f_order, r_order, o_order)


def brute_force_cost(widths) -> int:
    """The cheapest bracketing by trying all of them (Catalan many: for tests, short chains)."""
    widths = parse_widths(widths)
    dims = [widths[-1 - i] for i in range(len(widths))]  # J_k ... J_1: dims d_k, ..., d_0

    @lru_cache(maxsize=None)
    def best(i, j):  # factors i..j (0-based, left to right)
        if i == j:
            return 0
        return min(best(i, s) + best(s + 1, j) + dims[i] * dims[s + 1] * dims[j + 1]
                   for s in range(i, j))

    return best(0, len(widths) - 2)


def widths_from_graph(graph, wrt=None) -> tuple:
    """Layer widths read off a traced network: the sizes along the path from `wrt` to the
    output, kept at the input, after each operation that mixes entries (matmul, sums, …)
    and at the output; elementwise steps (bias add, activations) keep the width."""
    from ..core import PRIMITIVES

    elementwise_ops = {name for name, p in PRIMITIVES.items() if p.batch == "elementwise"}
    x = graph.input_node(wrt)
    paths = graph.paths(x, max_paths=1).paths
    if not paths:
        raise ValueError(f"chain: the output does not depend on {x.name}")
    widths = [x.size]
    for e in paths[0].edges:
        if e.dst.op not in elementwise_ops or e.dst.size != e.src.size:
            widths.append(e.dst.size)
    if widths[-1] != graph.output.size or len(widths) == 1:
        widths.append(graph.output.size)
    return tuple(widths)
