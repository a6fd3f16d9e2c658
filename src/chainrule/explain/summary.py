"""What `chainrule explain` prints for a graph, as text or as a JSON-ready dict: every
table, and the path sums checked against the engine's own gradient."""

from __future__ import annotations

import math

import numpy as np

from .format import fmt
from .report import forward_table, graph_table, paths_text, reverse_table, work_text
from .sweeps import engine_gradient

__all__ = ["explain_json", "explain_text"]


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
