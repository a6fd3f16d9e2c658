"""Path sums (the chain rule as a sum over paths) and the work each way of summing costs.

d out / d x is the sum, over every path from x to out, of the product of the local partials
on the path's edges. The number of paths is counted exactly by dynamic programming over
the topological order (Python ints: the depth-1,000 diamond has 2**1000), and the paths
themselves are enumerated only up to a cap. Everything is iterative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .format import count_text

__all__ = ["Path", "PathSums", "Work", "count_paths", "path_sums", "work_counts"]


@dataclass
class Path:
    """Edges from the input to the output, and the product of their partials."""

    edges: list
    product: object  # float, ndarray (out.shape + input.shape) or None when too big
    start: object = None  # the input node (the only node when the output is the input)

    def nodes(self) -> list:
        first = self.edges[0].src if self.edges else self.start
        return [first] + [e.dst for e in self.edges]

    def factors(self, limit: int = 12) -> str:
        """`1·2`: the partials along the path, input side first (long paths abbreviated)."""
        labels = [e.label() if e.scalar else f"∂{e.dst.name}/∂{e.src.name}" for e in self.edges]
        if not labels:
            return "1"
        if len(labels) > limit:
            k = limit // 2
            labels = labels[:k] + [f"…({len(labels) - 2 * k} more)…"] + labels[-k:]
        return "·".join(labels)


@dataclass
class PathSums:
    """The paths from one input to the output (maybe capped) and their exact count."""

    graph: object
    wrt: object
    count: int
    paths: list
    capped: bool
    max_paths: int
    total: object  # the sum over all paths (factored: the forward DP of the products)

    @property
    def enumerated_sum(self):
        """Sum of the listed paths' products (equals `total` unless capped)."""
        if any(p.product is None for p in self.paths):
            return None
        return sum((p.product for p in self.paths), 0.0)

    def __str__(self):
        from .report import paths_text
        return paths_text(self)

    def _repr_html_(self):
        from .tables import paths_html
        return paths_html(self)

    def note(self) -> str:
        if not self.capped:
            return ""
        return (f"showing the first {len(self.paths)} of {count_text(self.count)} paths "
                f"(capped by max_paths={self.max_paths}); the total is the factored sum")


def _paths_to_output(graph) -> list:
    """M[i] = number of paths from node i to the output (one reverse DP, Python ints)."""
    m = [0] * len(graph.nodes)
    m[graph.output.index] = 1
    for n in reversed(graph.nodes):
        if m[n.index]:
            for e in n.edges_in:
                m[e.src.index] += m[n.index]
    return m


def _paths_from(graph, x) -> list:
    """N[i] = number of paths from input x to node i (one forward DP, Python ints)."""
    count = [0] * len(graph.nodes)
    count[x.index] = 1
    for n in graph.nodes:
        for e in n.edges_in:
            count[n.index] += count[e.src.index]
    return count


def count_paths(graph, wrt=None) -> int:
    """The exact number of paths from input `wrt` to the output, without enumerating."""
    x = graph.input_node(wrt)
    return _paths_from(graph, x)[graph.output.index]


def _product(edges):
    """Product of the partials along a path, input side first (Jacobians chained)."""
    if all(e.scalar for e in edges):
        p = 1.0
        for e in edges:
            p *= e.partial
        return p
    if any(e.partial is None for e in edges):
        return None
    p = None
    for e in edges:
        j = np.asarray(e.partial, dtype=np.float64).reshape(e.dst.size, e.src.size)
        p = j if p is None else j @ p
    return p.reshape(edges[-1].dst.shape + edges[0].src.shape)


def _identity(x):
    return 1.0 if x.size == 1 else np.eye(x.size).reshape(x.shape + x.shape)


def _factored_sum(graph, x, reach):
    """Sum over all paths by dynamic programming (forward accumulation of the products);
    None when some Jacobian on the way was too big to form."""
    if any(e.partial is None for e in graph.edges if reach[e.src.index]):
        return None
    sums = {x.index: np.eye(x.size)}
    for n in graph.nodes:
        if n is x or not reach[n.index]:
            continue
        acc = None
        for e in n.edges_in:
            if e.src.index not in sums:
                continue
            if e.partial is None:
                return None
            j = np.asarray(e.partial, dtype=np.float64).reshape(n.size, e.src.size)
            part = j @ sums[e.src.index]
            acc = part if acc is None else acc + part
        if acc is not None:
            sums[n.index] = acc
    out = graph.output
    total = sums.get(out.index, np.zeros((out.size, x.size)))
    return float(total[0, 0]) if out.size == x.size == 1 else \
        total.reshape(out.shape + x.shape)


def path_sums(graph, wrt=None, max_paths: int = 20) -> PathSums:
    """Every path from `wrt` to the output (at most `max_paths`), its product, the count."""
    if max_paths < 0:
        raise ValueError("max_paths must be >= 0")
    x = graph.input_node(wrt)
    reach = _paths_from(graph, x)
    count = reach[graph.output.index]
    paths = []
    # Depth-first from the output back to x over edges that x reaches; a partial path is
    # a linked list (edge, rest) so that each push is O(1) however deep the graph.
    stack = [(graph.output, None)] if count else []
    while stack and len(paths) < max_paths:
        n, rest = stack.pop()
        if n is x:
            edges = []
            while rest is not None:
                edges.append(rest[0])
                rest = rest[1]
            paths.append(Path(edges, _product(edges) if edges else _identity(x), x))
            continue
        for e in reversed(n.edges_in):
            if reach[e.src.index]:
                stack.append((e.src, (e, rest)))
    total = _factored_sum(graph, x, reach)
    if total is None and graph.output.size == 1:  # Jacobians too big to print: the sum
        total = graph.reverse_sweep().adjoints[x.index]  # is the gradient, one sweep away
    elif total is None:  # ... or, for a tensor output, one forward sweep per entry of x
        total = graph.forward_sweep(x.name).derivatives[graph.output.index]
    return PathSums(graph, x, count, paths, count > len(paths), max_paths, total)


@dataclass
class Work:
    """Scalar multiplications and additions to get the whole gradient three ways.

    Counted alike for all three: a multiplication is an edge partial times a derivative
    (dense Jacobians per edge); products with the seed (1, or an identity) cost nothing,
    as the first factor of a path costs nothing. An addition joins two contributions.
    naive: every path's product formed on its own (a path of L scalar edges costs L - 1),
    then the paths added; forward: one sweep per input entry; reverse: one sweep per
    output entry.
    """

    naive: int
    paths: int
    forward: int
    forward_sweeps: int
    reverse: int
    reverse_sweeps: int
    edges: int
    naive_additions: int = 0
    forward_additions: int = 0
    reverse_additions: int = 0

    def table(self) -> str:
        from .report import work_text
        return work_text(self)

    def __str__(self):
        return self.table()

    def _repr_html_(self):
        from .tables import work_html
        return work_html(self)


def work_counts(graph) -> Work:
    """The work counts side by side, computed by DP (no path is enumerated)."""
    to_out = _paths_to_output(graph)
    out = graph.output
    useful = [e for e in graph.edges if to_out[e.dst.index]]
    naive = paths = forward = forward_sweeps = naive_add = forward_add = 0
    for x in graph.inputs:
        from_x = _paths_from(graph, x)
        count = from_x[out.index]
        paths += count
        forward_sweeps += x.size
        naive_add += max(count - 1, 0) * out.size * x.size
        fan_in: dict = {}
        for e in useful:
            if not from_x[e.src.index]:
                continue
            fan_in[e.dst.index] = fan_in.get(e.dst.index, 0) + 1
            if e.src is not x:  # the first edge of a path is where its product starts
                forward += x.size * e.cost
                naive += x.size * e.cost * from_x[e.src.index] * to_out[e.dst.index]
        forward_add += sum((k - 1) * graph.nodes[i].size * x.size for i, k in fan_in.items())
    reverse = out.size * sum(e.cost for e in useful if e.dst is not out)
    fan_out: dict = {}
    for e in useful:
        fan_out[e.src.index] = fan_out.get(e.src.index, 0) + 1
    reverse_add = out.size * sum((k - 1) * graph.nodes[i].size for i, k in fan_out.items())
    return Work(naive, paths, forward, forward_sweeps, reverse, out.size, len(useful),
                naive_add, forward_add, reverse_add)
