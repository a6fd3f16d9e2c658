"""The graph as DOT text, step by step as vertices are eliminated, and a page of the steps.

DOT needs no install; rendering it to SVG is the caller's (the CLI passes graphviz's).
"""

from __future__ import annotations

import html

from .eliminate import Work

_FILL = {"input": "#dbe9ff", "output": "#ffe3c4", "intermediate": "#ffffff"}


def state(graph, eliminated) -> Work:
    """The graph's structure after eliminating `eliminated` (vertex indices, in order)."""
    work = Work({k: b.structure_only() for k, b in graph.edges.items()}, len(graph.vertices))
    for j in eliminated:
        work.eliminate(j)
    return work


def to_dot(graph, eliminated=(), next_vertex=None) -> str:
    """DOT text of the graph left after `eliminated`; `next_vertex` is drawn in red."""
    work = state(graph, eliminated)
    gone = set(eliminated)
    lines = ["digraph elimination {", "  rankdir=LR;",
             '  node [shape=box, style="rounded,filled", fontname="Helvetica"];']
    for v in graph.vertices:
        if v.index in gone:
            continue
        color = ', color="red", penwidth=2' if v.index == next_vertex else ""
        label = f"{v.name}\\n{v.op or 'input'} {tuple(v.shape)}"
        lines.append(f'  n{v.index} [label="{_escape(label)}", '
                     f'fillcolor="{_FILL[v.role]}"{color}];')
    for (k, j), block in work.edges.items():
        lines.append(f'  n{j} -> n{k} [label="{_escape(block.describe())}", fontsize=10];')
    lines.append("}")
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace('"', '\\"')


def page(elimination, render=None) -> str:
    """A self-contained HTML page: the order's table of steps and the graph at each step.

    `render(dot) -> svg bytes` draws the pictures; without it the DOT text is shown.
    """
    g, seq = elimination.graph, elimination.indices
    parts = [f"<h1>Vertex elimination: {html.escape(elimination.order)} order</h1>",
             f"<p>{elimination.multiplications} multiplications, {elimination.additions} "
             f"additions, peak {elimination.peak_entries} stored Jacobian entries.</p>"]
    for step in range(len(seq) + 1):
        nxt = seq[step] if step < len(seq) else None
        title = ("the Jacobian: only inputs and outputs are left" if nxt is None else
                 f"step {step + 1}: eliminate {g.vertices[nxt].name} "
                 f"({elimination.steps[step].multiplications} mul, "
                 f"{elimination.steps[step].additions} add)")
        dot = to_dot(g, seq[:step], nxt)
        picture = (render(dot).decode("utf-8") if render is not None
                   else f"<pre>{html.escape(dot)}</pre>")
        parts.append(f"<section><h2>{html.escape(title)}</h2>{picture}</section>")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>vertex elimination"
            "</title></head><body>" + "\n".join(parts) + "</body></html>")
