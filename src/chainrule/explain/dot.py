"""DOT text of a graph (no install needed): nodes show op and value (and grad), edges the
local partials. The text depends only on the graph, so the same graph gives the same
bytes every time (node ids follow the topological order)."""

from __future__ import annotations

from .format import fmt

__all__ = ["to_dot"]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _adjoint_list(graph, adjoints):
    if adjoints is None:
        return [n.grad for n in graph.nodes]
    values = getattr(adjoints, "adjoints", adjoints)
    return list(values)


def to_dot(graph, adjoints=None, title: str | None = None, dpi: int | None = None) -> str:
    """The graph as DOT. `adjoints`: a ReverseSweep (grad on every node); by default
    each tensor's `.grad` is shown where a backward() has set it. `dpi` sets the PNG
    resolution (graphviz's default is 96)."""
    grads = _adjoint_list(graph, adjoints)
    out = graph.output.name
    lines = ["digraph chainrule {",
             "  rankdir=LR;",
             '  node [shape=box, style="rounded", fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=10];']
    if title:
        lines.append(f"  label={_quote(title)}; labelloc=t;")
    if dpi is not None:
        if not isinstance(dpi, int) or dpi <= 0:
            raise ValueError(f"to_dot: dpi must be a positive int (e.g. 200), got {dpi!r}")
        lines.append(f"  dpi={dpi};")
    for n in graph.constants:
        lines.append(f"  c{-1 - n.index} [label={_quote(n.name)}, shape=plaintext, "
                     'fontcolor="gray40"];')
    for n in graph.nodes:
        head = n.name if n.kind == "input" else f"{n.name} = {n.op}"
        label = [head, f"value {fmt(n.value, 40)}"]
        if n.size != 1:
            label.append(f"shape {n.shape}")
        g = grads[n.index]
        if g is not None:
            label.append(f"grad d{out}/d{n.name} = {fmt(g, 40)}")
        style = ', style="rounded,filled", fillcolor="#e8f0fe"' if n.kind == "input" else (
            ', style="rounded,bold"' if n is graph.output else "")
        lines.append(f"  n{n.index} [label={_quote(chr(10).join(label))}{style}];")
    for n in graph.nodes:
        by_position = {e.position: e for e in n.edges_in}
        for position, src in enumerate(n.inputs):
            source = f"c{-1 - src.index}" if src.kind == "const" else f"n{src.index}"
            edge = by_position.get(position)
            if edge is None:
                lines.append(f'  {source} -> n{n.index} [style=dashed, color="gray60", '
                             'tooltip="no gradient flows here"];')
                continue
            tip = f"d{n.name}/d{src.name} = {edge.label()}"
            lines.append(f"  {source} -> n{n.index} [label={_quote(edge.label())}, "
                         f"tooltip={_quote(tip)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
