"""HTML tables for Jupyter (`_repr_html_`) of the sweeps, path sums, work and chain costs:
the same rows as the text reports, as real tables."""

from __future__ import annotations

import html

import numpy as np

from .format import count_text, fmt
from .report import chain_rows, work_note, work_rows

__all__ = ["chain_html", "forward_html", "paths_html", "reverse_html", "table_html",
           "work_html"]


def table_html(caption: str, header: list, rows: list, note: str = "") -> str:
    """A small self-styled table: caption, header row, body, and an optional note."""
    esc = html.escape
    head = "".join(f"<th style='text-align:left'>{esc(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='text-align:left;font-family:monospace'>"
                                    f"{esc(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    extra = f"<div style='color:#555;max-width:640px'>{esc(note)}</div>" if note else ""
    return (f"<div class='crx-table'><table><caption style='text-align:left'><b>"
            f"{esc(caption)}</b></caption><thead><tr>{head}</tr></thead><tbody>{body}"
            f"</tbody></table>{extra}</div>")


def forward_html(sweep) -> str:
    g, x = sweep.graph, sweep.wrt
    rows = [[n.name, n.op, fmt(n.value), fmt(sweep.derivatives[n.index])] for n in g.nodes]
    return table_html(f"forward sweep (cr.jvp): dn/d{x.name} for every node n, "
                      f"{sweep.sweeps} sweep{'s' if sweep.sweeps != 1 else ''}",
                      ["node", "operation", "value", f"dn/d{x.name}"], rows)


def reverse_html(sweep) -> str:
    g = sweep.graph
    out = g.output.name
    rows = [[n.name, n.op, fmt(n.value), fmt(sweep.adjoints[n.index])]
            for n in reversed(g.nodes)]
    steps = [[f"{s.edge.dst.name} → {s.edge.src.name}", fmt(s.upstream, 30),
              fmt(s.contribution, 30), fmt(s.running, 30)] for s in sweep.steps]
    return (table_html(f"reverse sweep (the engine's backward sweep): d{out}/dn for every "
                       "node n", ["node", "operation", "value", f"d{out}/dn"], rows)
            + table_html("its steps, edge by edge", ["edge", "adjoint of the head",
                                                     "contribution", "running adjoint"],
                         steps))


def paths_html(sums) -> str:
    x, out = sums.wrt, sums.graph.output
    rows = [["→".join(n.name for n in p.nodes()), p.factors(),
             fmt(p.product, 30) if p.product is not None and np.size(p.product) <= 9 else
             f"Jacobian {np.shape(p.product)}" if p.product is not None else "not formed"]
            for p in sums.paths]
    rows.append(["sum over all paths (factored)", "", fmt(sums.total, 40)])
    return table_html(f"path sums: {count_text(sums.count)} path"
                      f"{'s' if sums.count != 1 else ''} from {x.name} to {out.name}",
                      ["path", "partials", "product"], rows, sums.note())


def work_html(work) -> str:
    return table_html("work for the whole gradient (products with the seed 1 are free)",
                      ["method", "multiplications", "additions", "how"], work_rows(work),
                      work_note(work))


def chain_html(costs) -> str:
    return table_html(f"Jacobian chain for widths {' → '.join(map(str, costs.widths))}",
                      ["accumulation", "order", "multiply-adds"], chain_rows(costs))
