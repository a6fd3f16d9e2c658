"""Plain-text and JSON reports: the graph, both sweeps, the path sums, the work counts."""

from __future__ import annotations

import math

import numpy as np

from .format import count_text, fmt
from .rules import repeated_as
from .sweeps import engine_gradient

__all__ = ["chain_table", "explain_json", "explain_text", "forward_table", "graph_table",
           "paths_text", "reverse_table", "work_text"]


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


def _names(graph, wrt):
    return [graph.input_node(wrt).name] if wrt is not None else [n.name for n in graph.inputs]


def explain_text(graph, wrt=None, max_paths: int = 20) -> str:
    """Everything the `explain` command prints for a graph."""
    names = _names(graph, wrt)
    forward = [graph.forward_sweep(n) for n in names]
    reverse = graph.reverse_sweep()
    grads = engine_gradient(graph)
    parts = [f"output {graph.output.name} = {fmt(graph.output.value)}", "", graph_table(graph),
             "", forward_table(forward), "", reverse_table(reverse), "",
             f"path sums: d{graph.output.name}/d(input) = sum over the paths from the input of "
             "the product of the edge partials"]
    for n in names:
        parts.append(paths_text(graph.paths(n, max_paths), grads[n]))
    run = getattr(graph, "run", None)
    if run is not None and wrt is None:
        for n in run.program.inputs:
            if n not in grads:
                parts.append(f"  {n}: 0 paths (the output does not depend on {n}; gradient 0)")
    parts += ["", work_text(graph.work())]
    return "\n".join(parts) + "\n"


def _jsonable(x):
    """Numbers and nested lists for JSON; inf, -inf and nan (which strict JSON cannot
    hold) become the strings "inf", "-inf" and "nan"."""
    if x is None:
        return None
    a = np.asarray(x, dtype=np.float64)
    if not np.isfinite(a).all():
        flat = [float(v) if math.isfinite(v) else "nan" if math.isnan(v) else
                "inf" if v > 0 else "-inf" for v in a.reshape(-1).tolist()]
        a = np.array(flat, dtype=object).reshape(a.shape)
    return a.item() if a.ndim == 0 else a.tolist()


def explain_json(graph, wrt=None, max_paths: int = 20) -> dict:
    """The same content as a JSON-ready dict (path counts stay exact Python ints)."""
    names = _names(graph, wrt)
    reverse = graph.reverse_sweep()
    grads = engine_gradient(graph)
    paths = {}
    for n in names:
        s = graph.paths(n, max_paths)
        paths[n] = {"count": s.count, "sum": _jsonable(s.total), "capped": s.capped,
                    "listed": [{"nodes": [v.name for v in p.nodes()],
                                "partials": [_jsonable(e.partial) for e in p.edges],
                                "product": _jsonable(p.product)}
                               for p in s.paths]}
    forward = {n: {v.name: _jsonable(d) for v, d in zip(graph.nodes, graph.forward_sweep(n)
                                                         .derivatives)} for n in names}
    work = graph.work()
    return {
        "output": graph.output.name,
        "value": _jsonable(graph.output.value),
        "grad": {n: _jsonable(grads[n]) for n in names},
        "nodes": [{"name": v.name, "op": v.op, "inputs": [i.name for i in v.inputs],
                   "consumers": [c.name for c in v.consumers], "value": _jsonable(v.value)}
                  for v in graph.nodes],
        "edges": [{"src": e.src.name, "dst": e.dst.name, "position": e.position,
                   "jacobian_shape": list(e.jacobian_shape),
                   "partial": _jsonable(e.partial)}
                  for e in graph.edges],
        "forward": forward,
        "reverse": {v.name: _jsonable(a) for v, a in zip(graph.nodes, reverse.adjoints)},
        "paths": paths,
        "work": {"naive": work.naive, "forward": work.forward, "reverse": work.reverse,
                 "paths": work.paths, "forward_sweeps": work.forward_sweeps,
                 "reverse_sweeps": work.reverse_sweeps, "edges": work.edges},
    }
