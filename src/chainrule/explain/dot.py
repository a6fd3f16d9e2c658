"""DOT text of a graph (no install needed): nodes show name, op, shape and value (a small
heatmap for a bigger tensor) and the gradient; edges the local partial (a number) or the
Jacobian's structure (`diag`, `· @ W.T`); module groups become clusters, and with
`collapse` each layer is one box showing its Jacobian's shape. The text depends only on
the graph, so the same graph gives the same bytes every time."""

from __future__ import annotations

import html

from .format import block_means, fmt
from .rules import edge_text, repeated_as
from .scopes import collapsed_owner, layer_lines

__all__ = ["nest_clusters", "quote", "to_dot"]

COLLAPSE_ABOVE = 250  # nodes: bigger pictures draw each layer as one box by default
SMALL = 4


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _adjoint_list(graph, adjoints):
    if adjoints is None:
        return [n.grad for n in graph.nodes]
    values = getattr(adjoints, "adjoints", adjoints)
    return list(values)


def _colour(v: float) -> str:
    """Blue below zero, red above, white at zero (v in [-1, 1])."""
    a = 1 - min(1.0, abs(v))
    if v >= 0:
        r, g, b = 214, 69 + a * 186, 59 + a * 196
    else:
        r, g, b = 59 + a * 196, 111 + a * 144, 214
    return f"#{int(r):02x}{int(g):02x}{int(b):02x}"


def _heat_cells(a, rows: int = 8, cols: int = 12) -> str:
    """An HTML-like graphviz table of coloured cells: block means scaled to [-1, 1]."""
    grid, _ = block_means(a, rows, cols)
    body = "".join("<TR>" + "".join(f'<TD BGCOLOR="{_colour(v)}" WIDTH="7" HEIGHT="7"></TD>'
                                    for v in row) + "</TR>" for row in grid)
    return f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0">{body}</TABLE>'


def _label(n, g, out: str):
    """A node's label: plain text for scalars and small tensors, HTML-like with heatmaps."""
    head = n.name if n.kind == "input" else f"{n.name} = {n.op}"
    if n.size <= SMALL:
        lines = [head, f"value {fmt(n.value, 40)}"]
        if n.size != 1:
            lines.insert(1, f"shape {n.shape} {n.value.dtype}")
        if g is not None:
            lines.append(f"grad d{out}/d{n.name} = {fmt(g, 40)}")
        return quote("\n".join(lines))
    esc = html.escape
    rows = [f"<TR><TD ALIGN=\"LEFT\">{esc(head)}</TD></TR>",
            f"<TR><TD ALIGN=\"LEFT\">{esc(f'shape {n.shape} {n.value.dtype}')}</TD></TR>",
            f"<TR><TD ALIGN=\"LEFT\">value</TD></TR><TR><TD>{_heat_cells(n.value)}</TD></TR>"]
    if g is not None:
        rows.append(f"<TR><TD ALIGN=\"LEFT\">{esc(f'grad d{out}/d{n.name}')}</TD></TR>"
                    f"<TR><TD>{_heat_cells(g)}</TD></TR>")
    return f'<<TABLE BORDER="0" CELLSPACING="2">{"".join(rows)}</TABLE>>'


def to_dot(graph, adjoints=None, title: str | None = None, dpi: int | None = None,
           collapse: bool | None = None) -> str:
    """The graph as DOT. `adjoints`: a ReverseSweep (grad on every node); by default
    each tensor's `.grad` is shown where a backward() has set it. `dpi` sets the PNG
    resolution (graphviz's default is 96). `collapse`: draw each layer (a module group)
    as one box; by default when the graph has more than COLLAPSE_ABOVE nodes."""
    grads = _adjoint_list(graph, adjoints)
    out = graph.output.name
    lines = ["digraph chainrule {",
             "  rankdir=LR;",
             '  node [shape=box, style="rounded", fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=10];']
    if title:
        lines.append(f"  label={quote(title)}; labelloc=t;")
    if dpi is not None:
        if not isinstance(dpi, int) or dpi <= 0:
            raise ValueError(f"to_dot: dpi must be a positive int (e.g. 200), got {dpi!r}")
        lines.append(f"  dpi={dpi};")
    if collapse is None:
        collapse = len(graph.nodes) > COLLAPSE_ABOVE
    owner = collapsed_owner(graph) if collapse and graph.groups else {}
    everything = graph.nodes + graph.constants

    def ident(n):
        if id(n) in owner:
            return f"g{owner[id(n)]}"
        return f"c{-1 - n.index}" if n.kind == "const" else f"n{n.index}"

    boxes: dict = {}  # group index (or None) -> DOT lines of the boxes drawn inside it
    for k in sorted(set(owner.values())):
        text = "\n".join(layer_lines(graph.groups[k], [n for n in everything
                                                       if owner.get(id(n)) == k]))
        boxes.setdefault(graph.groups[k].parent, []).append(
            f"g{k} [label={quote(text)}, style=\"rounded,dashed,filled\", "
            'fillcolor="#f3f3f3"];')
    for n in graph.constants:
        if id(n) not in owner:
            boxes.setdefault(n.group, []).append(
                f"{ident(n)} [label={quote(n.name)}, shape=plaintext, fontcolor=\"gray40\"];")
    for n in graph.nodes:
        if id(n) in owner:
            continue
        style = ', style="rounded,filled", fillcolor="#e8f0fe"' if n.kind == "input" else (
            ', style="rounded,bold"' if n is graph.output else "")
        boxes.setdefault(n.group, []).append(
            f"{ident(n)} [label={_label(n, grads[n.index], out)}{style}];")
    lines += _clusters(graph.groups, boxes, set(owner.values()))
    seen = set()
    for n in graph.nodes:
        by_position = {e.position: e for e in n.edges_in}
        for position, src in enumerate(n.inputs):
            a, b = ident(src), ident(n)
            edge = by_position.get(position)
            if a == b or (owner and (a, b) in seen):
                continue
            seen.add((a, b))
            if a.startswith("g") or b.startswith("g"):
                lines.append(f"  {a} -> {b};")
            elif edge is None:
                lines.append(f'  {a} -> {b} [style=dashed, color="gray60", '
                             'tooltip="no gradient flows here"];')
            else:
                label = edge_text(edge)
                as_ = repeated_as(edge)
                tip = (f"d{n.name}/d{src.name}" + (f" (as {as_})" if as_ else "")
                       + f" = {edge.label()}")
                lines.append(f"  {a} -> {b} [label={quote(label)}, tooltip={quote(tip)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _clusters(groups, boxes: dict, collapsed: set) -> list:
    """The module groups (but collapsed ones) as nested clusters holding their boxes."""
    children: dict = {}
    for g in groups:
        if g.index not in collapsed:
            children.setdefault(g.parent, []).append((g.index, g.label))
    return nest_clusters(children, boxes, 'style="rounded,dashed"; color="gray50"; '
                         'fontname="Helvetica";')


def nest_clusters(children: dict, boxes: dict, style: str) -> list:
    """DOT lines: `boxes[None]`, then for each cluster (children: {parent: [(key, label)]},
    roots under None) a `subgraph cluster_<key>` holding `boxes[key]` and its children,
    written with an explicit stack."""
    lines = ["  " + b for b in boxes.get(None, [])]
    stack = [("open", c) for c in reversed(children.get(None, []))]
    depth = 1
    while stack:
        action, (key, label) = stack.pop()
        if action == "close":
            depth -= 1
            lines.append("  " * depth + "}")
            continue
        lines.append("  " * depth + f"subgraph cluster_{key} {{ label={quote(label)}; {style}")
        depth += 1
        lines += ["  " * depth + b for b in boxes.get(key, [])]
        stack.append(("close", (key, label)))
        stack.extend(("open", c) for c in reversed(children.get(key, [])))
    return lines
