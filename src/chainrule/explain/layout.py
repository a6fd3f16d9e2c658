"""Coordinates for the page from graphviz: boxes of given sizes, edge splines, clusters.

The page is laid out once, when it is generated, by the `dot` program (`dot -Tjson`), so
nothing overlaps and edges are routed around boxes; the browser only draws. Units are
CSS pixels (graphviz points, 1:1), y pointing down.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field

from .dot import nest_clusters, quote
from .render import INSTALL, GraphvizMissing

__all__ = ["Box", "Cluster", "Link", "layout"]

EDGE_FONT = 10  # px; the page draws edge labels in this size, monospace (Courier in dot)


@dataclass
class Box:
    id: str
    width: float
    height: float
    plain: bool = False  # a constant: no frame
    cluster: str | None = None


@dataclass
class Link:
    id: str
    src: str
    dst: str
    label: str = ""
    weight: int = 1


@dataclass
class Cluster:
    id: str
    label: str
    parent: str | None = None
    members: list = field(default_factory=list)


def _dot(boxes, links, clusters, rankdir) -> str:
    lines = ["digraph page {", f"  rankdir={rankdir}; nodesep=0.3; ranksep=0.55;",
             '  node [shape=box, fixedsize=true, label=""];',
             f'  edge [fontname="Courier", fontsize={EDGE_FONT}];',
             '  graph [fontname="Helvetica", fontsize=12, labeljust=l];']
    inside: dict = {}
    for b in boxes:
        inside.setdefault(b.cluster, []).append(_box(b))
    children: dict = {}
    for c in clusters:
        children.setdefault(c.parent, []).append((c.id, c.label))
    lines += nest_clusters(children, inside, 'style="rounded"; color="#9aa0a6";')
    for e in links:
        label = f", label={quote(e.label)}" if e.label else ""
        lines.append(f"  {e.src} -> {e.dst} [id={quote(e.id)}, weight={e.weight}{label}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _box(b: Box) -> str:
    shape = ", shape=plaintext" if b.plain else ""
    return f"{b.id} [width={b.width / 72:.4f}, height={b.height / 72:.4f}{shape}];"


def _points(text: str) -> list:
    return [tuple(float(v) for v in p.split(",")) for p in text.split()]


def layout(boxes, links, clusters=(), rankdir: str = "LR", timeout: float = 300) -> dict:
    """Run `dot -Tjson` on the boxes and links; return positions in page pixels.

    {"size": [w, h], "boxes": {id: [x, y, w, h]}, "links": {id: {"d": SVG path, "tip":
    [x, y], "base": [x, y], "at": label centre [x, y] or None}}, "clusters": {id: [x, y,
    w, h, label_x, label_y]}}.
    """
    if shutil.which("dot") is None:
        raise GraphvizMissing(f"the page is laid out by graphviz's `dot` program: {INSTALL}")
    source = _dot(boxes, links, clusters, rankdir)
    run = subprocess.run(["dot", "-Tjson"], input=source.encode(), capture_output=True,
                         timeout=timeout, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"layout: dot failed: {run.stderr.decode(errors='replace')[:400]}")
    data = json.loads(run.stdout)
    _, _, width, height = (float(v) for v in data["bb"].split(","))

    def flip(x, y):
        return [round(x, 2), round(height - y, 2)]

    out = {"size": [round(width, 2), round(height, 2)], "boxes": {}, "links": {},
           "clusters": {}}
    by_gvid = {}
    for obj in data.get("objects", []):
        by_gvid[obj["_gvid"]] = obj
        if "bb" in obj and obj["name"].startswith("cluster_"):
            x0, y0, x1, y1 = (float(v) for v in obj["bb"].split(","))
            lx, ly = (float(v) for v in obj.get("lp", f"{x0},{y1}").split(","))
            out["clusters"][obj["name"][len("cluster_"):]] = (
                flip(x0, y1) + [round(x1 - x0, 2), round(y1 - y0, 2)] + flip(lx, ly))
        elif "pos" in obj:
            x, y = (float(v) for v in obj["pos"].split(","))
            w, h = float(obj["width"]) * 72, float(obj["height"]) * 72
            top = height - y - h / 2
            out["boxes"][obj["name"]] = [round(x - w / 2, 2), round(top, 2), round(w, 2),
                                         round(h, 2)]
    for e in data.get("edges", []):
        parts = e["pos"].split()
        tip = start = None
        while parts and parts[0][:2] in ("e,", "s,"):
            kind, rest = parts[0][0], parts.pop(0)[2:]
            if kind == "e":
                tip = _points(rest)[0]
            else:
                start = _points(rest)[0]
        pts = _points(" ".join(parts))
        if start is not None:
            pts[0] = start
        d = "M" + " ".join(f"{a},{b}" for a, b in [tuple(flip(*pts[0]))])
        for k in range(1, len(pts) - 2, 3):
            d += " C" + " ".join("{},{}".format(*flip(*p)) for p in pts[k:k + 3])
        base = pts[-1]
        lp = e.get("lp")
        out["links"][e.get("id") or f"{e['tail']}-{e['head']}"] = {
            "d": d, "base": flip(*base), "tip": flip(*(tip or base)),
            "at": flip(*(float(v) for v in lp.split(","))) if lp else None}
    return out
