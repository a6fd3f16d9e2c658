"""One self-contained HTML page (no network) stepping through the forward sweep, then the
reverse sweep, node by node: the edge in use is highlighted and the running derivative
(tangent going forward, adjoint going back) is shown on every node and in a table.

The page's numbers are the sweeps' (cr.jvp for the forward sweep, the VJP rules for the
reverse sweep); the layout is a simple layered drawing made here, so no graphviz needed.
"""

from __future__ import annotations

import html as _html
import json

from ..files import write_text
from .graph import fmt

__all__ = ["MAX_NODES", "page_data", "to_html"]

MAX_NODES = 400
_W, _H, _DX, _DY = 136, 58, 190, 96


def _layout(graph) -> dict:
    """Column = longest path from an input; constants sit one column before their consumer."""
    column, pos = {}, {}
    for n in graph.nodes:
        srcs = [column[id(i)] for i in n.inputs if i.kind != "const"]
        column[id(n)] = 0 if n.kind == "input" else 1 + max(srcs, default=0)
    for c in graph.constants:
        column[id(c)] = max(0, min(column[id(n)] for n in c.consumers) - 1)
    rows: dict = {}
    for n in graph.nodes + graph.constants:
        col = column[id(n)]
        row = rows.get(col, 0)
        rows[col] = row + 1
        pos[id(n)] = (30 + col * _DX, 70 + row * _DY)
    return pos


def _ident(n) -> str:
    return f"n{n.index}" if n.kind != "const" else f"c{-1 - n.index}"


def page_data(graph, wrt=None) -> dict:
    """Everything the page shows, as JSON-ready data (also handy for tests)."""
    x = graph.input_node(wrt)
    out = graph.output
    forward = graph.forward_sweep(x.name)
    reverse = graph.reverse_sweep()
    pos = _layout(graph)
    nodes = []
    for n in graph.nodes + graph.constants:
        px, py = pos[id(n)]
        nodes.append({"id": _ident(n), "name": n.name, "kind": n.kind, "op": n.op,
                      "value": fmt(n.value, 24), "x": px, "y": py})
    edges, edge_index = [], {}
    for n in graph.nodes:
        by_position = {e.position: e for e in n.edges_in}
        for position, src in enumerate(n.inputs):
            e = by_position.get(position)
            if e is not None:
                edge_index[id(e)] = len(edges)
            edges.append({"id": f"e{len(edges)}", "src": _ident(src), "dst": _ident(n),
                          "srcName": src.name, "dstName": n.name, "position": position,
                          "label": "" if e is None else e.label() if e.scalar else
                          "J " + "x".join(map(str, e.jacobian_shape)),
                          "title": e.label() if e is not None else "constant: no gradient",
                          "differentiable": e is not None})
    steps = [{"phase": "forward", "node": _ident(x), "edges": [],
              "tangent": {_ident(i): fmt(forward.derivatives[i.index], 24)
                          for i in graph.inputs},
              "text": f"seed the forward sweep: d{x.name}/d{x.name} = 1"
                      + (", every other input 0" if len(graph.inputs) > 1 else "")}]
    for step in forward.steps:
        n = step.node
        terms = [f"∂{n.name}/∂{e.src.name}·d{e.src.name}/d{x.name}" for e, _ in
                 step.contributions]
        nums = [f"{e.label()}·{fmt(forward.derivatives[e.src.index], 16)}"
                for e, _ in step.contributions]
        parts = [fmt(c, 16) for _, c in step.contributions]
        sums = f" = {' + '.join(parts)}" if len(parts) > 1 and None not in \
            [c for _, c in step.contributions] else ""
        text = (f"d{n.name}/d{x.name} = {' + '.join(terms)} = {' + '.join(nums)}{sums} = "
                f"{fmt(step.total, 24)}")
        steps.append({"phase": "forward", "node": _ident(n),
                      "edges": [edge_index[id(e)] for e, _ in step.contributions],
                      "tangent": {_ident(n): fmt(step.total, 24)}, "text": text})
    if not forward.steps:  # a tensor input: one step per node with the whole Jacobian
        for n in graph.nodes[1:]:
            if n.kind == "op":
                steps.append({"phase": "forward", "node": _ident(n),
                              "edges": [edge_index[id(e)] for e in n.edges_in],
                              "tangent": {_ident(n): fmt(forward.derivatives[n.index], 24)},
                              "text": f"d{n.name}/d{x.name} = "
                                      f"{fmt(forward.derivatives[n.index], 60)}"})
    steps.append({"phase": "reverse", "node": _ident(out), "edges": [],
                  "adjoint": {_ident(out): "1"},
                  "text": f"seed the reverse sweep: d{out.name}/d{out.name} = 1"})
    for s in reverse.steps:
        e = s.edge
        text = (f"edge {e.dst.name} → {e.src.name}: d{out.name}/d{e.src.name} += "
                f"d{out.name}/d{e.dst.name} · ∂{e.dst.name}/∂{e.src.name} = "
                f"{fmt(s.upstream, 16)} · {e.label()} = {fmt(s.contribution, 24)}; "
                f"running adjoint d{out.name}/d{e.src.name} = {fmt(s.running, 24)}")
        steps.append({"phase": "reverse", "node": _ident(e.src), "edges": [edge_index[id(e)]],
                      "adjoint": {_ident(e.src): fmt(s.running, 24)}, "text": text})
    grads = ", ".join(f"d{out.name}/d{i.name} = {fmt(reverse.adjoints[i.index], 24)}"
                      for i in graph.inputs)
    steps.append({"phase": "done", "node": None, "edges": [], "text": f"done: {grads}"})
    width = max(n["x"] for n in nodes) + _W + 30
    height = max(n["y"] for n in nodes) + _H + 30
    return {"wrt": x.name, "output": out.name, "nodes": nodes, "edges": edges,
            "steps": steps, "size": [width, height], "box": [_W, _H]}


def to_html(graph, path=None, wrt=None, title: str = "chainrule explain") -> str:
    """The page as a string; written to `path` too when given."""
    if len(graph.nodes) + len(graph.constants) > MAX_NODES:
        raise ValueError(f"html: the graph has {len(graph.nodes)} nodes; the page draws at "
                         f"most {MAX_NODES} (use the text report or DOT for bigger graphs)")
    data = json.dumps(page_data(graph, wrt), ensure_ascii=False).replace("</", "<\\/")
    page = (_PAGE.replace("__TITLE__", _html.escape(title))
            .replace("__DATA__", data).replace("__SCRIPT__", _SCRIPT))
    if path is not None:
        write_text(path, page)
    return page


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 18px; margin: 0 0 8px 0; }
#controls button { font-size: 14px; margin-right: 6px; padding: 4px 12px; }
#phase { font-weight: bold; margin: 8px 0 2px 0; }
#status { font-family: Menlo, Consolas, monospace; font-size: 13px; min-height: 2.6em; }
svg { border: 1px solid #ddd; background: #fcfcfc; margin-top: 6px; }
.node rect { fill: #fff; stroke: #555; stroke-width: 1.2; rx: 8; }
.node.input rect { fill: #e8f0fe; }
.node.const rect { fill: none; stroke: none; }
.node.active rect { stroke: #e8710a; stroke-width: 3; fill: #fff4e5; }
.node text { font-size: 11px; }
.node .tangent { fill: #1a73e8; } .node .adjoint { fill: #c5221f; }
.edge path { fill: none; stroke: #888; stroke-width: 1.3; marker-end: url(#arrow); }
.edge.const path { stroke-dasharray: 4 3; stroke: #bbb; }
.edge text { font-size: 11px; fill: #444; }
.edge.active path { stroke: #e8710a; stroke-width: 3.5; }
.edge.active text { fill: #e8710a; font-weight: bold; }
table { border-collapse: collapse; margin-top: 10px; font-size: 13px; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: left; }
tr.active { background: #fff4e5; }
</style></head>
<body>
<h1>__TITLE__</h1>
<div id="controls"><button id="reset">reset</button><button id="back">back</button>
<button id="step">step</button> <span id="counter"></span></div>
<div id="phase"></div><div id="status"></div>
<div id="picture"></div>
<table id="values"><thead><tr><th>node</th><th>value</th><th id="tangent-head"></th>
<th id="adjoint-head"></th></tr></thead><tbody></tbody></table>
<script id="data" type="application/json">__DATA__</script>
<script>__SCRIPT__</script>
</body></html>
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var W = D.box[0], H = D.box[1], byId = {}, i = -1;
  D.nodes.forEach(function (n) { byId[n.id] = n; });
  function el(tag, attrs, parent, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  var svg = el("svg", {width: D.size[0], height: D.size[1], id: "graph"});
  var defs = el("defs", {}, svg);
  var m = el("marker", {id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
                        markerWidth: 7, markerHeight: 7, orient: "auto"}, defs);
  el("path", {d: "M0,0 L10,5 L0,10 z", fill: "#888"}, m);
  D.edges.forEach(function (e) {
    var s = byId[e.src], t = byId[e.dst];
    var x1 = s.x + W, y1 = s.y + H / 2, x2 = t.x, y2 = t.y + H / 2;
    var bend = (e.position - 0.5) * 14, mx = (x1 + x2) / 2, my = (y1 + y2) / 2 + bend;
    if (t.x - s.x > W + 80) my = Math.min(s.y, t.y) - 30 - 12 * e.position;  // skip a column
    var g = el("g", {"class": "edge" + (e.differentiable ? "" : " const"), id: "edge-" + e.id,
                     "data-src": e.srcName, "data-dst": e.dstName}, svg);
    el("path", {d: "M" + x1 + "," + y1 + " Q" + mx + "," + my + " " + x2 + "," + y2}, g);
    var ly = (y1 + 2 * my + y2) / 4;  // the curve's midpoint
    el("text", {x: mx, y: ly - 4, "text-anchor": "middle"}, g, e.label);
    el("title", {}, g, e.srcName + " \u2192 " + e.dstName + ": " + e.title);
  });
  D.nodes.forEach(function (n) {
    var g = el("g", {"class": "node " + n.kind, id: "node-" + n.id, "data-name": n.name,
                     transform: "translate(" + n.x + "," + n.y + ")"}, svg);
    el("rect", {width: W, height: H}, g);
    if (n.kind === "const") {
      el("text", {x: W / 2, y: H / 2, "text-anchor": "middle"}, g, n.name);
      return;
    }
    el("text", {x: 8, y: 14}, g, n.kind === "input" ? n.name : n.name + " = " + n.op);
    el("text", {x: 8, y: 28, "class": "value"}, g, "value " + n.value);
    n.tangentEl = el("text", {x: 8, y: 41, "class": "tangent"}, g, "");
    n.adjointEl = el("text", {x: 8, y: 54, "class": "adjoint"}, g, "");
  });
  document.getElementById("picture").appendChild(svg);
  document.getElementById("tangent-head").textContent = "d\u00b7/d" + D.wrt + " (forward)";
  document.getElementById("adjoint-head").textContent = "d" + D.output + "/d\u00b7 (reverse)";
  var tbody = document.querySelector("#values tbody"), rows = {};
  D.nodes.forEach(function (n) {
    if (n.kind === "const") return;
    var tr = document.createElement("tr"); tr.id = "row-" + n.id;
    tr.setAttribute("data-name", n.name);
    [n.name, n.value, "", ""].forEach(function (v, k) {
      var td = document.createElement("td"); td.textContent = v;
      td.className = ["name", "value", "tangent", "adjoint"][k]; tr.appendChild(td);
    });
    tbody.appendChild(tr); rows[n.id] = tr;
  });
  function render() {
    var tangent = {}, adjoint = {}, s = i >= 0 ? D.steps[i] : null;
    for (var k = 0; k <= i; k++) {
      var st = D.steps[k], key;
      for (key in (st.tangent || {})) tangent[key] = st.tangent[key];
      for (key in (st.adjoint || {})) adjoint[key] = st.adjoint[key];
    }
    D.nodes.forEach(function (n) {
      if (n.kind === "const") return;
      var t = tangent[n.id], a = adjoint[n.id];
      n.tangentEl.textContent = t === undefined ? "" : "d\u00b7/d" + D.wrt + " = " + t;
      n.adjointEl.textContent = a === undefined ? "" : "d" + D.output + "/d\u00b7 = " + a;
      rows[n.id].querySelector(".tangent").textContent = t === undefined ? "" : t;
      rows[n.id].querySelector(".adjoint").textContent = a === undefined ? "" : a;
      var on = s !== null && s.node === n.id;
      document.getElementById("node-" + n.id).classList.toggle("active", on);
      rows[n.id].classList.toggle("active", on);
    });
    D.edges.forEach(function (e, k) {
      var on = s !== null && s.edges.indexOf(k) >= 0;
      document.getElementById("edge-" + e.id).classList.toggle("active", on);
    });
    var names = {forward: "forward sweep (d\u00b7/d" + D.wrt + ", cr.jvp)",
                 reverse: "reverse sweep (d" + D.output + "/d\u00b7, VJP rules)", done: "done"};
    document.getElementById("phase").textContent = s ? names[s.phase] : "press step to start";
    document.getElementById("phase").setAttribute("data-phase", s ? s.phase : "start");
    document.getElementById("status").textContent = s ? s.text :
      "the forward sweep runs first, then the reverse sweep";
    document.getElementById("counter").textContent = "step " + (i + 1) + " of " + D.steps.length;
    document.getElementById("step").disabled = i >= D.steps.length - 1;
    document.getElementById("back").disabled = i < 0;
  }
  document.getElementById("step").onclick = function () {
    if (i < D.steps.length - 1) i++;
    render();
  };
  document.getElementById("back").onclick = function () { if (i >= 0) i--; render(); };
  document.getElementById("reset").onclick = function () { i = -1; render(); };
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowRight") document.getElementById("step").click();
    if (ev.key === "ArrowLeft") document.getElementById("back").click();
  });
  render();
})();
"""
