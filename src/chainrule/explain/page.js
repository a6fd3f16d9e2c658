// The interactive page: draws one graph's views and steps through its sweeps.
// Everything is looked up under `root` (the page's own element), never by global id.
(function (root) {
  "use strict";
  var D = JSON.parse(root.querySelector(".crx-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var byId = {}, state = {i: -1, input: D.inputs[0].id, view: D.view, timer: null};
  var els = {}, links = [], rows = {};
  D.nodes.forEach(function (n) { byId[n.id] = n; });
  function q(sel) { return root.querySelector(sel); }
  function el(tag, attrs, parent, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function steps() { return D.forward[state.input].concat(D.reverse); }
  function colour(v) {
    var a = Math.round(255 * (1 - Math.min(1, Math.abs(v))));
    return v >= 0 ? "rgb(214," + Math.round(69 + (a / 255) * 186) + "," + Math.round(59 + (a / 255) * 196) + ")"
                  : "rgb(" + Math.round(59 + (a / 255) * 196) + "," + Math.round(111 + (a / 255) * 144) + ",214)";
  }
  function heatmap(g, h, x, y) {
    var c = D.cell, hg = el("g", {"class": "heat"}, g);
    h.cells.forEach(function (row, r) {
      row.forEach(function (v, k) {
        el("rect", {x: x + k * c, y: y + r * c, width: c, height: c, fill: colour(v)}, hg);
      });
    });
    el("title", {}, hg, "max |entry| " + h.scale);
    return hg;
  }
  function visible(id) {  // the box that shows node `id` in this view
    var view = D.views[state.view], n = byId[id];
    if (view.boxes[id]) return id;
    var g = n ? n.group : null;
    while (g !== null && g !== undefined) {
      if (view.boxes["g" + g]) return "g" + g;
      g = byId["g" + g] ? byId["g" + g].group : null;
    }
    return null;
  }
  function draw() {
    var view = D.views[state.view], L = D.line, P = D.pad;
    var svg = el("svg", {width: view.size[0], height: view.size[1], "class": "crx-graph"});
    Object.keys(view.clusters).forEach(function (k) {
      var c = view.clusters[k], g = el("g", {"class": "cluster", "data-group": k}, svg);
      el("rect", {x: c[0], y: c[1], width: c[2], height: c[3], rx: 8}, g);
      var t = el("text", {x: c[4], y: c[5] + 4, "text-anchor": "middle"}, g, view.groups[k]);
      t.addEventListener("click", function () { setView("layers"); });  // collapse
    });
    links = [];
    view.links.forEach(function (lk) {
      var e0 = D.edges[lk.members[0]], differentiable = lk.members.some(function (m) {
        return D.edges[m].differentiable; });
      var g = el("g", {"class": "edge" + (differentiable ? "" : " const"),
                       "data-src": byId[lk.src].name, "data-dst": byId[lk.dst].name}, svg);
      el("path", {d: lk.d + " L" + lk.base[0] + "," + lk.base[1]}, g);
      var dx = lk.tip[0] - lk.base[0], dy = lk.tip[1] - lk.base[1];
      var len = Math.sqrt(dx * dx + dy * dy) || 1, nx = -dy / len * 3.5, ny = dx / len * 3.5;
      el("polygon", {points: lk.tip[0] + "," + lk.tip[1] + " " + (lk.base[0] + nx) + "," +
        (lk.base[1] + ny) + " " + (lk.base[0] - nx) + "," + (lk.base[1] - ny)}, g);
      if (lk.text && lk.at) {
        el("text", {x: lk.at[0], y: lk.at[1] + 3, "text-anchor": "middle"}, g, lk.text);
      }
      el("title", {}, g, lk.members.map(function (m) {
        return D.edges[m].srcName + " \u2192 " + D.edges[m].dstName + ": " + D.edges[m].title;
      }).join("\n"));
      links.push({g: g, members: lk.members});
    });
    els = {};
    Object.keys(view.boxes).forEach(function (id) {
      var n = byId[id], b = view.boxes[id];
      if (!n) return;
      var g = el("g", {"class": "node " + n.kind, "data-name": n.name, "data-id": id,
                       transform: "translate(" + b[0] + "," + b[1] + ")"}, svg);
      el("rect", {"class": "frame", width: b[2], height: b[3], rx: 7}, g);
      var y = P + L - 3, rec = {g: g};
      if (n.kind === "const") {
        el("text", {x: b[2] / 2, y: b[3] / 2 + 4, "text-anchor": "middle"}, g, n.lines[0]);
        els[id] = rec;
        return;
      }
      n.lines.forEach(function (t, k) {
        el("text", {x: P, y: y, "class": k === 0 ? "title" : "info"}, g, t);
        y += L;
      });
      if (n.kind === "layer") {
        g.addEventListener("click", function () {  // open this layer (alone, if laid out)
          setView(D.views["layers+" + id.slice(1)] ? "layers+" + id.slice(1) : "operations");
        });
      } else {
        rec.tangent = el("text", {x: P, y: y, "class": "tangent"}, g, "");
        rec.adjoint = el("text", {x: P, y: y + L, "class": "adjoint"}, g, "");
        y += 2 * L;
        if (n.heat) {
          var w = n.heat.cells[0].length * D.cell;
          el("text", {x: P, y: y - 2, "class": "caption"}, g, "value");
          heatmap(g, n.heat, P, y + 2);
          rec.gradX = P + Math.max(w, 40) + 12; rec.gradY = y + 2;
          rec.gradCaption = el("text", {x: rec.gradX, y: y - 2, "class": "caption"}, g, "");
        }
      }
      els[id] = rec;
    });
    var pic = q(".crx-picture");
    pic.innerHTML = "";
    pic.appendChild(svg);
  }
  function setView(v) {
    if (!D.views[v] || v === state.view) return;
    state.view = v; q(".crx-view").value = v; draw(); render();
  }
  function render() {
    var S = steps(), s = state.i >= 0 ? S[state.i] : null;
    var tangent = {}, adjoint = {}, heat = {}, values = {}, key;
    for (var k = 0; k <= state.i; k++) {
      var st = S[k];
      for (key in (st.tangent || {})) tangent[key] = st.tangent[key];
      for (key in (st.adjoint || {})) adjoint[key] = st.adjoint[key];
      for (key in (st.heat || {})) heat[key] = st.heat[key];
      for (key in (st.values || {})) values[key] = st.values[key];
    }
    var on = s && s.node ? visible(s.node) : null;
    Object.keys(els).forEach(function (id) {
      var r = els[id];
      r.g.classList.toggle("active", id === on);
      if (r.tangent) r.tangent.textContent = tangent[id] || "";
      if (r.adjoint) r.adjoint.textContent = adjoint[id] || "";
      if (values[id]) r.g.setAttribute("data-adjoint", JSON.stringify(values[id]));
      else r.g.removeAttribute("data-adjoint");
      if (r.gradHeat) { r.gradHeat.remove(); r.gradHeat = null; }
      if (r.gradCaption) r.gradCaption.textContent = heat[id] ? "grad" : "";
      if (heat[id] && r.gradX !== undefined) r.gradHeat = heatmap(r.g, heat[id], r.gradX, r.gradY);
    });
    links.forEach(function (lk) {
      var active = s !== null && lk.members.some(function (m) { return s.edges.indexOf(m) >= 0; });
      lk.g.classList.toggle("active", active);
    });
    Object.keys(rows).forEach(function (id) {
      var r = rows[id];
      r.tr.classList.toggle("active", s !== null && s.node === id);
      r.t.textContent = tangent[id] || ""; r.a.textContent = adjoint[id] || "";
    });
    var x = byId[state.input].name;
    var names = {forward: "forward sweep (dn/d" + x + " for every node n: cr.jvp)",
                 reverse: "reverse sweep (d" + D.output + "/dn for every node n: the engine's backward sweep)",
                 done: "done"};
    var phase = q(".crx-phase");
    phase.textContent = s ? names[s.phase] : "press step (or \u2192) to start";
    phase.setAttribute("data-phase", s ? s.phase : "start");
    q(".crx-status").textContent = s ? s.text :
      "the forward sweep for " + x + " runs first, then the reverse sweep";
    q(".crx-counter").textContent = "step " + (state.i + 1) + " of " + S.length;
    q('[data-act="step"]').disabled = state.i >= S.length - 1;
    q('[data-act="back"]').disabled = state.i < 0;
    q('[data-act="play"]').innerHTML = state.timer ? "&#x23F8; pause" : "&#x25B6; play";
  }
  function act(a) {
    var S = steps();
    if (a === "step" && state.i < S.length - 1) state.i++;
    if (a === "back" && state.i >= 0) state.i--;
    if (a === "reset") state.i = -1;
    if (a === "play") {
      if (state.timer) { clearInterval(state.timer); state.timer = null; }
      else {
        if (state.i >= S.length - 1) state.i = -1;
        state.timer = setInterval(function () {
          if (state.i >= steps().length - 1) { clearInterval(state.timer); state.timer = null; }
          else state.i++;
          render();
        }, 700);
      }
    }
    render();
  }
  root.querySelectorAll(".crx-bar button").forEach(function (b) {
    b.addEventListener("click", function () { act(b.getAttribute("data-act")); });
  });
  root.addEventListener("keydown", function (ev) { key(ev); });
  document.addEventListener("keydown", function (ev) {
    if (root.contains(ev.target)) return;  // handled above
    if (document.querySelectorAll(".crx").length === 1 && ev.target === document.body) key(ev);
  });
  function key(ev) {
    var map = {ArrowRight: "step", ArrowLeft: "back", " ": "play", Home: "reset"};
    if (ev.target.tagName === "SELECT" || !map[ev.key]) return;
    ev.preventDefault(); act(map[ev.key]);
  }
  var sel = q(".crx-input"), psel = q(".crx-path-input"), vsel = q(".crx-view");
  D.inputs.forEach(function (x) {
    [sel, psel].forEach(function (s) {
      var o = document.createElement("option"); o.value = x.id; o.textContent = x.name;
      s.appendChild(o);
    });
  });
  sel.addEventListener("change", function () {
    state.input = sel.value; state.i = -1; psel.value = sel.value; showPaths(); render();
  });
  Object.keys(D.views).forEach(function (v) {
    var o = document.createElement("option"); o.value = v;
    o.textContent = D.views[v].title;
    vsel.appendChild(o);
  });
  vsel.value = state.view;
  vsel.addEventListener("change", function () { setView(vsel.value); });
  function showPaths() {
    var P = D.paths[psel.value], tb = q(".crx-paths tbody");
    q(".crx-path-head").textContent = P.count + " path(s) from " + byId[psel.value].name +
      " to " + D.output + "; their sum = " + P.total + (P.note ? " (" + P.note + ")" : "");
    tb.innerHTML = "";
    P.paths.forEach(function (p) {
      var tr = document.createElement("tr");
      [p.nodes, p.factors, p.product].forEach(function (t) {
        var td = document.createElement("td"); td.textContent = t; tr.appendChild(td);
      });
      tr.addEventListener("mouseenter", function () { mark(p, true); });
      tr.addEventListener("mouseleave", function () { mark(p, false); });
      tb.appendChild(tr);
    });
  }
  function mark(p, on) {
    var names = {};
    p.edges.forEach(function (m) {
      names[visible(D.edges[m].src)] = 1; names[visible(D.edges[m].dst)] = 1; });
    links.forEach(function (lk) {
      lk.g.classList.toggle("onpath", on && lk.members.some(function (m) {
        return p.edges.indexOf(m) >= 0; }));
    });
    Object.keys(els).forEach(function (id) { els[id].g.classList.toggle("onpath", on && !!names[id]); });
  }
  psel.addEventListener("change", showPaths);
  var wb = q(".crx-work tbody");
  D.work.rows.forEach(function (r) {
    var tr = document.createElement("tr");
    r.forEach(function (t) { var td = document.createElement("td"); td.textContent = t; tr.appendChild(td); });
    wb.appendChild(tr);
  });
  q(".crx-work-note").textContent = D.work.note;
  q(".crx-notes").textContent = D.notes.join("\n");
  q(".th-t").textContent = "tangent (forward)"; q(".th-a").textContent = "adjoint (reverse)";
  var vb = q(".crx-values tbody"), shown = 0;
  D.nodes.forEach(function (n) {
    if (n.kind === "const" || n.kind === "layer" || shown++ > 400) return;
    var tr = document.createElement("tr"); tr.setAttribute("data-name", n.name);
    var cells = [n.name, n.lines[1], "", ""].map(function (t) {
      var td = document.createElement("td"); td.textContent = t; tr.appendChild(td); return td;
    });
    vb.appendChild(tr); rows[n.id] = {tr: tr, t: cells[2], a: cells[3]};
  });
  draw(); showPaths(); render();
})(document.getElementById("__UID__"));
