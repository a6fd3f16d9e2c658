"""`cr.elimination.graph`, `compare` and the Jacobian by the cheapest order found."""

from __future__ import annotations

import html
import numbers
import time

import numpy as np

from .linearized import LinearizedGraph, build, from_recorded, single_argnum, trace
from .orders import HEURISTICS, resolve
from .result import Elimination, execute
from .reuse import Plan


def graph(f, *args, argnums=None, free_units=True) -> LinearizedGraph:
    """The linearized graph of f at args: vertices, and edges holding local Jacobians.

    `argnums`: the arguments differentiated (default: all). `free_units`: products with
    +-1 blocks (sums, copies, sign flips) cost no multiplication; False counts every
    product of nonzeros, as graphax and the AlphaGrad paper do.
    """
    return build(f, args, argnums, free_units)


class Comparison:
    """Rows of `compare`: one Elimination per order, with `.seconds` to run it."""

    def __init__(self, graph, rows):
        self.graph = graph
        self.rows = rows

    @property
    def best(self) -> Elimination:
        """The row of fewest multiplications (then additions)."""
        return min(self.rows, key=lambda r: (r.multiplications, r.additions, r.peak_entries))

    def table(self) -> str:
        """The comparison as aligned text."""
        head = (f"{'order':<10} {'multiplications':>15} {'additions':>10} "
                f"{'peak entries':>12} {'time (ms)':>10}")
        lines = [repr(self.graph), head, "-" * len(head)]
        for r in self.rows:
            lines.append(f"{r.order:<10} {r.multiplications:>15} {r.additions:>10} "
                         f"{r.peak_entries:>12} {1e3 * r.seconds:>10.3f}")
        return "\n".join(lines)

    def __str__(self):
        best = self.best
        return (self.table() + f"\n\nbest: {best.order}, step by step:\n"
                + "\n".join(str(best).splitlines()[1:]))

    def _repr_html_(self):
        cells = "".join(
            f"<tr><td>{html.escape(r.order)}</td><td>{r.multiplications}</td>"
            f"<td>{r.additions}</td><td>{r.peak_entries}</td><td>{1e3 * r.seconds:.3f}</td></tr>"
            for r in self.rows)
        steps = "".join(
            f"<li>{html.escape(s.vertex)}: {s.multiplications} mul, {s.additions} add</li>"
            for s in self.best.steps)
        return ("<table><tr><th>order</th><th>multiplications</th><th>additions</th>"
                f"<th>peak entries</th><th>time (ms)</th></tr>{cells}</table>"
                f"<p>best: {html.escape(self.best.order)}</p><ol>{steps}</ol>")


def compare(f, *args, argnums=None, orders=None, seconds: float = 1.0, repeats: int = 3,
            free_units=True) -> Comparison:
    """Eliminate f's graph in several orders; rows with counts and the time to run each.

    `f` may also be a LinearizedGraph (then no args). `orders`: names or lists (default:
    forward, reverse, Markowitz, greedy and the best found: exhaustive for small graphs,
    annealing within `seconds` otherwise). Times are medians of `repeats` runs.
    """
    g = f if isinstance(f, LinearizedGraph) else graph(f, *args, argnums=argnums,
                                                        free_units=free_units)
    rows = []
    for spec in orders or (*HEURISTICS, "best"):
        name, sequence = resolve(g, spec, seconds)
        times = []
        for _ in range(max(1, repeats)):
            start = time.perf_counter()
            row = execute(g, name, sequence)
            times.append(time.perf_counter() - start)
        row.seconds = float(np.median(times))
        rows.append(row)
    return Comparison(g, rows)


def jacobian(f, argnums=0, seconds: float = 0.25):
    """`cr.jacobian(f, mode="eliminate")`: the Jacobian by the cheapest elimination found.

    The first call per argument shapes and dtypes linearizes f and searches the order
    (`seconds` at most); later calls re-evaluate only the local partials at the new point
    in the stored structure and run the stored order (see reuse.py).
    """
    plans = {}

    def wrapped(*args):
        recorded, rebuild, nums = trace(f, args, argnums, "jacobian", named=False)
        key = tuple((np.shape(a), np.asarray(a).dtype.str) for a in args)
        plan = plans.get(key)
        if plan is not None:
            J = plan.jacobian_at(recorded, rebuild)
            if J is not None:
                return J
        g = from_recorded(recorded, rebuild, single_argnum(argnums, nums))
        if plan is None or sorted(plan.order) != g.intermediates:
            plans[key] = plan = Plan(g, recorded, resolve(g, "best", seconds)[1])
        return execute(g, "best", plan.order).jacobian

    if not isinstance(argnums, (numbers.Integral, tuple, list)):
        raise TypeError(f"jacobian: argnums must be an int or a tuple of ints, got {argnums!r}")
    return wrapped
