"""Everything the interactive page shows, as JSON-ready data: boxes sized to their text,
graphviz coordinates for each view, the steps of both sweeps, the paths and the work.

Numbers come from the sweeps (cr.jvp forward, the engine's backward sweep in reverse);
step texts come from each op's own rule (`rules.rule_text`). Two views: "operations"
(every node, modules as clusters) and "layers" (each layer collapsed to one box), the
latter the default above COLLAPSE_ABOVE nodes; the operations view is not laid out above
EXPAND_LIMIT nodes.
"""

from __future__ import annotations

import math

import numpy as np

from .format import block_means, count_text, fmt
from .layout import Box, Cluster, Link, layout
from .report import work_note, work_rows
from .rules import edge_text, partial_name, rule_text
from .scopes import collapsed_owner, layer_lines

__all__ = ["COLLAPSE_ABOVE", "EXPAND_LIMIT", "page_data"]

COLLAPSE_ABOVE = 250  # nodes: above this the page opens on the layers view
EXPAND_LIMIT = 2500  # nodes: above this only the layers view is laid out
MAX_LAYER_VIEWS = 12  # layers: up to this many, each can be opened alone (one view each)
FORWARD_BUDGET = 300_000  # input entries x graph entries: bigger forward sweeps left out
SMALL = 4  # entries: a tensor this small shows its numbers, a bigger one a heatmap
CHAR, LINE, PAD, CELL = 6.8, 14, 8, 7  # px: monospace 11px text, heatmap cells
HEAT_ROWS, HEAT_COLS = 12, 16


def _ident(n) -> str:
    return f"n{n.index}" if n.kind != "const" else f"c{-1 - n.index}"


def _finite(x):
    """JSON has no inf/nan: they travel as strings ("inf", "-inf", "nan")."""
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def _numbers(a, limit: int = 4096):
    a = np.asarray(a, dtype=np.float64)
    if a.size > limit:
        return None
    return [_finite(float(v)) for v in a.reshape(-1)]


def heat(a) -> dict | None:
    """A small grid of block means scaled to [-1, 1] (None for a small tensor)."""
    if np.size(a) <= SMALL:
        return None
    cells, scale = block_means(a, HEAT_ROWS, HEAT_COLS)
    return {"cells": np.round(cells, 3).tolist(), "scale": fmt(scale)}


def _shape(s) -> str:
    return "x".join(map(str, s)) or "scalar"


def _short(a, width: int = 60) -> str:
    """Numbers when there are few (SMALL), else what the box shows instead: a heatmap."""
    a = np.asarray(a)
    return fmt(a, width) if a.size <= SMALL else f"({_shape(a.shape)}) heatmap"


def _box_width(lines) -> float:
    return max(len(t) for t in lines) * CHAR + 2 * PAD


def _node(n, texts: list, with_grad: bool) -> dict:
    """A node's static text, heatmaps and box size (room for every text it will show)."""
    if n.kind == "const":
        label = n.name if len(n.name) <= 24 else f"const {_shape(n.shape)}"
        return {"id": _ident(n), "name": n.name, "kind": "const", "lines": [label],
                "w": _box_width([label]), "h": LINE + 6, "group": n.group}
    title = n.name if n.kind == "input" else f"{n.name} = {n.op}"
    info = (f"value {fmt(n.value, 30)}" if n.size == 1 else
            f"{_shape(n.shape)} {n.value.dtype}")
    lines = [title, info]
    if 1 < n.size <= SMALL:
        lines.append(f"value {fmt(n.value, 40)}")
    value_heat = heat(n.value)
    width = _box_width(lines + texts)
    height = LINE * (len(lines) + 2) + PAD
    if value_heat is not None:
        rows, cols = len(value_heat["cells"]), len(value_heat["cells"][0])
        width = max(width, 2 * PAD + (2 if with_grad else 1) * max(cols * CELL, 40) + 12)
        height += LINE + rows * CELL + 4
    return {"id": _ident(n), "name": n.name, "kind": n.kind, "op": n.op, "lines": lines,
            "shape": list(n.shape), "dtype": str(n.value.dtype), "heat": value_heat,
            "w": round(width, 1), "h": height, "group": n.group}


def _forward_steps(graph, x, sweep, edge_index) -> list:
    """The forward sweep for input x as page steps (tangents named dn/dx)."""
    steps = [{"phase": "forward", "node": _ident(x), "edges": [],
              "tangent": {_ident(i): f"d{i.name}/d{x.name} = {1 if i is x else 0}"
                          for i in graph.inputs if i.size == 1 and x.size == 1},
              "text": f"seed the forward sweep: d{x.name}/d{x.name} = "
                      f"{'1' if x.size == 1 else 'I (identity)'}"
                      + (", every other input 0" if len(graph.inputs) > 1 else "")}]
    if x.size == 1:
        for step in sweep.steps:
            n = step.node
            terms = [f"{partial_name(e)}·d{e.src.name}/d{x.name}" for e, _ in step.contributions]
            nums = [f"{edge_text(e).split(': ')[-1]}·"
                    f"{_short(sweep.derivatives[e.src.index])}" for e, _ in step.contributions]
            parts = [_short(c) for _, c in step.contributions]
            sums = f" = {' + '.join(parts)}" if len(parts) > 1 and not any(
                c is None for _, c in step.contributions) else ""
            total = step.total
            value = fmt(total, 24) if np.size(total) <= SMALL else f"({_shape(np.shape(total))})"
            text = (f"d{n.name}/d{x.name} = {' + '.join(terms)} = {' + '.join(nums)}{sums} = "
                    f"{value}") if n.size == 1 else (
                f"d{n.name}/d{x.name} = " + " + ".join(
                    _rule(e, "jvp", f"d{e.src.name}/d{x.name}") for e, _ in step.contributions))
            steps.append({"phase": "forward", "node": _ident(n),
                          "edges": [edge_index[id(e)] for e, _ in step.contributions],
                          "tangent": {_ident(n): f"d{n.name}/d{x.name} = "
                                      f"{_short(total)}"}, "text": text})
        return steps
    reached = {x.index}
    for n in graph.nodes:
        used = [e for e in n.edges_in if e.src.index in reached]
        if n.kind != "op" or not used:
            continue
        reached.add(n.index)
        d = sweep.derivatives[n.index]
        text = f"d{n.name}/d{x.name} = " + " + ".join(
            _rule(e, "jvp", f"d{e.src.name}/d{x.name}") for e in used)
        steps.append({"phase": "forward", "node": _ident(n),
                      "edges": [edge_index[id(e)] for e in used],
                      "tangent": {_ident(n): f"d{n.name}/d{x.name}: {_shape(np.shape(d))}"},
                      "text": text})
    return steps


def _rule(e, which: str, incoming: str) -> str:
    """`g @ W.T`: the op's rule for this edge with the graph's names."""
    names = {"g": "g", "t": incoming, "ans": e.dst.name,
             "inputs": [i.name for i in e.dst.inputs]}
    text = rule_text(e.dst.tensor._node.op, which, e.position, names)
    if text is None:
        return f"{incoming} through {e.dst.op}'s rule" if which == "jvp" else \
            f"g through {e.dst.op}'s rule"
    return text


def _reverse_steps(graph, sweep, edge_index) -> list:
    """The reverse sweep as page steps; in a big graph only the inputs' and the output's
    running adjoints carry numbers and heatmaps (the rest stay text)."""
    out = graph.output
    detailed = len(graph.nodes) <= COLLAPSE_ABOVE
    L = out.name
    steps = [{"phase": "reverse", "node": _ident(out), "edges": [],
              "adjoint": {_ident(out): f"d{L}/d{L} = 1"},
              "values": {_ident(out): _numbers(sweep.seed)},
              "text": f"seed the reverse sweep: d{L}/d{L} = 1"}]
    for s in sweep.steps:
        e = s.edge
        src, dst = e.src, e.dst
        if e.scalar:
            text = (f"edge {dst.name} → {src.name}: d{L}/d{src.name} += d{L}/d{dst.name} · "
                    f"{partial_name(e)} = {fmt(s.upstream, 16)} · {e.label()} = "
                    f"{fmt(s.contribution, 24)}; running adjoint d{L}/d{src.name} = "
                    f"{fmt(s.running, 24)}")
        else:
            text = (f"edge {dst.name} → {src.name}: d{L}/d{src.name} += "
                    f"{_rule(e, 'vjp', 'g')}, with g = d{L}/d{dst.name} "
                    f"({_shape(dst.shape)})")
            if src.size <= SMALL:
                text += f"; running adjoint = {fmt(s.running, 60)}"
        step = {"phase": "reverse", "node": _ident(src), "edges": [edge_index[id(e)]],
                "adjoint": {_ident(src): f"d{L}/d{src.name} = {_short(s.running)}"},
                "text": text}
        if detailed or src.kind == "input":
            step["values"] = {_ident(src): _numbers(s.running)}
            grad_heat = heat(s.running)
            if grad_heat is not None:
                step["heat"] = {_ident(src): grad_heat}
        steps.append(step)
    grads = ", ".join(f"d{L}/d{i.name} = {_short(sweep.adjoints[i.index])}"
                      for i in graph.inputs)
    steps.append({"phase": "done", "node": None, "edges": [], "text": f"done: {grads}"})
    return steps


def _paths(graph, x, edge_index, max_paths: int = 12) -> dict:
    sums = graph.paths(x.name, max_paths)
    rows = []
    for p in sums.paths:
        product = fmt(p.product, 24) if p.product is not None and np.size(p.product) <= SMALL \
            else f"J {_shape(np.shape(p.product))}" if p.product is not None else "too big to form"
        rows.append({"edges": [edge_index[id(e)] for e in p.edges],
                     "nodes": "→".join(n.name for n in p.nodes()),
                     "factors": p.factors(), "product": product})
    total = fmt(sums.total, 30) if np.size(sums.total) <= SMALL else \
        f"J {_shape(np.shape(sums.total))}"
    return {"count": count_text(sums.count), "paths": rows, "total": total,
            "note": sums.note()}


def _layer_box(g, members) -> dict:
    lines = layer_lines(g, members)
    return {"id": f"g{g.index}", "name": g.label, "kind": "layer", "lines": lines,
            "w": round(_box_width(lines), 1), "h": LINE * len(lines) + PAD + 6,
            "group": g.parent}


def _views(graph, nodes, edges, expanded: bool) -> tuple:
    """The laid-out views: "operations" (unless too big) and "layers" (when modules are
    known); each box, link and cluster positioned by graphviz."""
    groups = graph.groups
    owner = collapsed_owner(graph)
    collapsed = set(owner.values())
    everything = graph.nodes + graph.constants
    layer_boxes = [_layer_box(groups[k], [n for n in everything if owner.get(id(n)) == k])
                   for k in sorted(collapsed)]
    plans = [("layers", collapsed, "layers (modules collapsed)")] if collapsed else []
    if expanded or not collapsed:
        plans.insert(0, ("operations", set(), "operations"))
    if 1 < len(collapsed) <= MAX_LAYER_VIEWS:  # one layer opened, the others collapsed
        for k in sorted(collapsed):
            if sum(1 for v in owner.values() if v == k) <= EXPAND_LIMIT:
                plans.append((f"layers+{k}", collapsed - {k},
                              f"layers, {groups[k].label} opened"))
    views = {}
    for name, hidden, title in plans:
        mapping = {_ident(n): (f"g{owner[id(n)]}" if owner.get(id(n)) in hidden
                               else _ident(n)) for n in everything}
        shown = [v for v in nodes if mapping[v["id"]] == v["id"]] + [
            b for b in layer_boxes if int(b["id"][1:]) in hidden]
        keep = set()
        for b in shown:  # clusters: groups holding a shown box, and their parents
            k = b.get("group")
            while k is not None and k not in keep:
                keep.add(k)
                k = groups[k].parent
        keep -= hidden
        clusters = [Cluster(str(k), groups[k].label,
                            None if groups[k].parent is None else str(groups[k].parent))
                    for k in sorted(keep)]
        boxes = [Box(b["id"], b["w"], b["h"], b["kind"] == "const",
                     str(b["group"]) if b.get("group") in keep else None) for b in shown]
        links, members_of = [], {}
        for k, e in enumerate(edges):
            s, d = mapping[e["src"]], mapping[e["dst"]]
            if s == d:
                continue
            whole = (s, d) == (e["src"], e["dst"])  # not folded into a layer: its own link
            key = k if whole else (s, d)
            if key not in members_of:
                members_of[key] = []
                links.append(Link(f"v{len(links)}", s, d, e["label"] if whole else "",
                                  1 if e["differentiable"] else 0))
            members_of[key].append(k)
        pos = layout(boxes, links, clusters)
        views[name] = {"boxes": pos["boxes"], "clusters": pos["clusters"], "size": pos["size"],
                       "links": [dict(pos["links"][lk.id], src=lk.src, dst=lk.dst,
                                      text=lk.label, members=members_of[key])
                                 for lk, key in zip(links, members_of)],
                       "groups": {str(k): groups[k].label for k in keep}, "title": title}
    return views, layer_boxes


def page_data(graph, wrt=None, view: str | None = None) -> dict:
    """Everything the page shows, as JSON-ready data (also handy for tests)."""
    x0 = graph.input_node(wrt)
    out = graph.output
    reverse = graph.reverse_sweep()
    edges, edge_index = [], {}
    for n in graph.nodes:
        by_position = {e.position: e for e in n.edges_in}
        for position, src in enumerate(n.inputs):
            e = by_position.get(position)
            if e is not None:
                edge_index[id(e)] = len(edges)
            edges.append({"id": f"e{len(edges)}", "src": _ident(src), "dst": _ident(n),
                          "srcName": src.name, "dstName": n.name, "position": position,
                          "label": "" if e is None else edge_text(e),
                          "title": "constant: no gradient flows here" if e is None else
                          f"{partial_name(e)} = {e.label()}",
                          "differentiable": e is not None})
    budget, entries = FORWARD_BUDGET, sum(n.size for n in graph.nodes)
    forward, sweeps = {}, {}
    for x in [x0] + [i for i in graph.inputs if i is not x0]:
        if x.size * entries > budget:
            forward[_ident(x)] = [{
                "phase": "forward", "node": _ident(x), "edges": [],
                "text": f"the forward sweep for {x.name} takes {x.size:,} sweeps (one per "
                        "entry) and is left out of this page; the reverse sweep below gets "
                        "every gradient in one"}]
            continue
        budget -= x.size * entries
        sweeps[x.index] = graph.forward_sweep(x.name)
        forward[_ident(x)] = _forward_steps(graph, x, sweeps[x.index], edge_index)
    chosen = graph.inputs
    reverse_steps = _reverse_steps(graph, reverse, edge_index)
    texts: dict = {}
    for steps in list(forward.values()) + [reverse_steps]:
        for s in steps:
            for kind in ("tangent", "adjoint"):
                for k, t in s.get(kind, {}).items():
                    texts.setdefault(k, []).append(t)
    reached = {k for s in reverse_steps for k in s.get("heat", {})}
    nodes = [_node(n, texts.get(_ident(n), []), _ident(n) in reached)
             for n in graph.nodes + graph.constants]
    count = len(graph.nodes) + len(graph.constants)
    views, layer_boxes = _views(graph, nodes, edges, count <= EXPAND_LIMIT)
    default = view or ("layers" if "layers" in views and count > COLLAPSE_ABOVE
                       else next(iter(views)))
    work = graph.work()
    notes = _agreement(graph, reverse, list(sweeps.values()))
    return {"wrt": x0.name, "output": out.name, "nodes": nodes + layer_boxes, "edges": edges,
            "inputs": [{"id": _ident(x), "name": x.name} for x in [x0] + [
                i for i in chosen if i is not x0]],
            "forward": forward, "reverse": reverse_steps, "views": views, "view": default,
            "paths": {_ident(x): _paths(graph, x, edge_index) for x in chosen},
            "work": {"rows": work_rows(work), "note": work_note(work)},
            "notes": notes, "cell": CELL, "line": LINE, "pad": PAD}


def _agreement(graph, reverse, forward_sweeps) -> list:
    """Say so where the forward and reverse sweeps give different numbers (inf/nan)."""
    notes = []
    for sweep in forward_sweeps:
        x = sweep.wrt
        f = np.asarray(sweep.derivatives[graph.output.index])
        r = np.asarray(reverse.adjoints[x.index])
        if f.shape == r.shape and not np.allclose(f, r, equal_nan=True):
            notes.append(f"d{graph.output.name}/d{x.name}: the forward sweep gives {fmt(f)} and "
                         f"the reverse sweep {fmt(r)}: a non-finite value (inf or nan) meets a "
                         "zero on some edge, and inf·0 has no value; see docs/conventions.md")
    return notes
