"""Plain-text tables: the graph, both sweeps, the path sums, the work counts, chain costs."""

from __future__ import annotations

import numpy as np

from .format import count_text, fmt
from .rules import repeated_as

__all__ = ["chain_rows", "chain_table", "forward_table", "graph_table", "paths_text",
           "reverse_table", "work_note", "work_rows", "work_text"]


def _table(header: list, rows: list, indent: str = "  ") -> str:
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _input_names(n) -> str:
    return ", ".join(i.name for i in n.inputs) or "-"


def graph_table(graph) -> str:
    """Nodes in topological order (operation, inputs, consumers, value), then the edges."""
    rows = []
    for n in graph.nodes:
        rows.append([n.name, n.op, _input_names(n),
                     ", ".join(c.name for c in n.consumers) or "-", fmt(n.value), n.expr])
    lines = [f"graph: {len(graph.nodes)} nodes in topological order "
             "(Goodfellow's operation, inputs, consumers)",
             _table(["node", "operation", "inputs", "consumers", "value", "source"], rows)]
    lines.append(f"edges: local partial derivatives from each operation's VJP rule "
                 f"({_plural(len(graph.edges), 'edge')})")
    erows = [[f"d{e.dst.name}/d{e.src.name}" + (f" (as {repeated_as(e)})" if repeated_as(e)
                                                 else ""), e.label()] for e in graph.edges]
    lines.append(_table(["edge", "partial"], erows))
    return "\n".join(lines)


def forward_table(sweeps: list) -> str:
    """The forward sweep(s): one column per chosen input, d node / d input for every node."""
    graph = sweeps[0].graph
    header = ["node"] + [f"d{'·'}/d{s.wrt.name}" for s in sweeps]
    rows = [[n.name] + [fmt(s.derivatives[n.index]) for s in sweeps] for n in graph.nodes]
    return ("forward sweep (cr.jvp, one sweep per input): derivative of every node "
            "with respect to one input\n" + _table(header, rows))


def reverse_table(sweep) -> str:
    """The reverse sweep: d output / d node for every node, output first."""
    graph = sweep.graph
    out = graph.output.name
    rows = [[n.name, fmt(sweep.adjoints[n.index])] for n in reversed(graph.nodes)]
    return (f"reverse sweep (VJP rules, one sweep for the output): derivative of {out} "
            "with respect to every node\n" + _table(["node", f"d{out}/d·"], rows))


def paths_text(sums, grad=None) -> str:
    """`b: 2 paths: 1·2 + 1·3 = 5`, with a note when the enumeration was capped."""
    x = sums.wrt
    noun = "path" if sums.count == 1 else "paths"
    head = f"  {x.name}: {count_text(sums.count)} {noun}"
    if sums.count == 0:
        return f"{head} (the output does not depend on {x.name}; gradient 0)"
    scalar = all(p.product is not None and np.ndim(p.product) == 0 for p in sums.paths)
    if scalar and not sums.capped and len(sums.paths) <= 8:
        terms = " + ".join(p.factors() for p in sums.paths)
        line = f"{head}: {terms} = {fmt(sums.total)}"
    else:
        lines = [f"{head}:"]
        for p in sums.paths:
            names = "→".join(n.name for n in p.nodes())
            if len(p.edges) > 12:
                names = f"{p.edges[0].src.name}→…({len(p.edges)} edges)…→{p.edges[-1].dst.name}"
            product = fmt(p.product) if p.product is not None else \
                "(not formed: a Jacobian on it is too big to show)"
            lines.append(f"    {names}: {p.factors()} = {product}")
        if sums.capped:
            lines.append(f"    … {count_text(sums.count - len(sums.paths))} more paths not listed "
                         f"(enumeration capped at --max-paths {sums.max_paths})")
        lines.append(f"    sum over all {count_text(sums.count)} {noun} (factored, by dynamic "
                     f"programming) = {fmt(sums.total)}")
        line = "\n".join(lines)
    if grad is not None:
        line += f"   [engine gradient {fmt(grad)}]"
    return line


def work_rows(work) -> list:
    """[method, multiplications, additions, how] for the three ways to the gradient."""
    def sweeps(n, per):
        return f"{n} sweep{'s' if n != 1 else ''}, one per {per}"
    return [["naive path sum", count_text(work.naive), count_text(work.naive_additions),
             f"{count_text(work.paths)} path{'s' if work.paths != 1 else ''}, each product "
             "formed on its own, then added"],
            ["forward sweeps", count_text(work.forward), count_text(work.forward_additions),
             sweeps(work.forward_sweeps, "input entry")],
            ["reverse sweeps", count_text(work.reverse), count_text(work.reverse_additions),
             sweeps(work.reverse_sweeps, "output entry")]]


def work_note(work) -> str:
    """Why the counts come out as they do (and say so when path summing wins)."""
    best = min(work.forward, work.reverse)
    if work.naive < best:
        return ("here summing the paths one by one is cheapest: few paths share edges, so "
                "factoring has nothing to save; sweeps win once paths share edges (their "
                "number grows exponentially with depth, a sweep's work only with edges)")
    if work.naive == best:
        return ("here all ways cost the same: no product is shared between paths, so "
                "factoring saves nothing yet; add depth or fan-out and the paths multiply")
    return ("each sweep multiplies once per edge it crosses; the paths repeat those products "
            "on every path through an edge")


def work_text(work) -> str:
    return (f"work: scalar operations for the whole gradient ({_plural(work.edges, 'edge')}; "
            "products with the seed 1 are free in every method)\n"
            + _table(["method", "multiplications", "additions", "how"], work_rows(work))
            + f"\n  {work_note(work)}")


def chain_rows(costs) -> list:
    """[accumulation, order, multiply-adds] for the three bracketings."""
    return [["from the input side (forward mode)", costs.forward_order, f"{costs.forward:,}"],
            ["from the output side (reverse mode)", costs.reverse_order, f"{costs.reverse:,}"],
            ["optimal (matrix-chain DP)", costs.optimal_order, f"{costs.optimal:,}"]]


def chain_table(costs) -> str:
    w = costs.widths
    k = len(w) - 1
    factors = ", ".join(f"J{i}: {w[i]}x{w[i - 1]}" for i in range(k, 0, -1))
    rows = chain_rows(costs)
    return (f"Jacobian chain for widths {' -> '.join(map(str, w))}: J{k} ... J1 ({factors})\n"
            + _table(["accumulation", "order", "multiply-adds"], rows))
