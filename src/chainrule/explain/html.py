"""One self-contained HTML page (no network) stepping through the forward sweep, then the
reverse sweep: the edge in use is highlighted and the running derivative (tangent going
forward, adjoint going back) shown on every node, with a legend, an input selector,
play/pause/step/back (keys shown on the page), a path-sum panel and the work table.

Everything is scoped under one element with a unique id, so any number of pages can sit
in one notebook or document. The layout comes from graphviz at generation time
(`layout.py`); the data from `page.page_data`.
"""

from __future__ import annotations

import hashlib
import html as _html
import itertools
import json
import pathlib

from ..files import write_text
from .page import page_data

__all__ = ["fragment", "to_html"]

_COUNTER = itertools.count(1)


def fragment(graph, wrt=None, title: str = "chainrule explain", view: str | None = None) -> str:
    """The page as an HTML fragment (a <div> with its own style and script)."""
    data = json.dumps(page_data(graph, wrt, view), ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).replace("</", "<\\/")
    digest = hashlib.sha1(data.encode()).hexdigest()[:8]
    uid = f"crx-{digest}-{next(_COUNTER)}"
    return (_FRAGMENT.replace("__UID__", uid).replace("__TITLE__", _html.escape(title))
            .replace("__STYLE__", _STYLE).replace("__SCRIPT__", _SCRIPT.replace("__UID__", uid))
            .replace("__DATA__", data))


def to_html(graph, path=None, wrt=None, title: str = "chainrule explain",
            view: str | None = None) -> str:
    """The page as a whole document; written to `path` too when given."""
    page = _PAGE.replace("__TITLE__", _html.escape(title)).replace(
        "__BODY__", fragment(graph, wrt, title, view))
    if path is not None:
        write_text(path, page)
    return page


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
</head>
<body>
__BODY__
</body></html>
"""

_FRAGMENT = """<div class="crx" id="__UID__" tabindex="0">
<style>__STYLE__</style>
<div class="crx-title">__TITLE__</div>
<div class="crx-bar"><button data-act="reset" title="Home">reset</button>
<button data-act="back" title="left arrow">&#x25C0; back</button>
<button data-act="play" title="space">&#x25B6; play</button>
<button data-act="step" title="right arrow">step &#x25B6;</button>
<label>forward sweep for <select class="crx-input"></select></label>
<label>view <select class="crx-view"></select></label>
<span class="crx-counter"></span></div>
<div class="crx-keys">keys: &#x2192; step &#xB7; &#x2190; back &#xB7; space play/pause &#xB7;
Home reset (click the page first when there are several)</div>
<div class="crx-legend"><span class="tangent">dn/dx: tangent (forward sweep)</span>
<span class="adjoint">dL/dn: adjoint (reverse sweep)</span>
<span class="lg-active">&#x2501;&#x25B6; edge in use</span>
<span class="lg-const">&#x2504;&#x25B6; constant: no gradient</span>
<span class="lg-path">&#x2501; path under the mouse</span>
<span>heatmaps: <b class="neg">&#x25A0;</b> &lt; 0 &lt; <b class="pos">&#x25A0;</b></span></div>
<div class="crx-phase"></div><div class="crx-status"></div>
<div class="crx-notes"></div>
<div class="crx-picture"></div>
<div class="crx-panels">
<div class="crx-paths"><b>path sums</b> for <select class="crx-path-input"></select>
<div class="crx-path-head"></div><table><tbody></tbody></table></div>
<div class="crx-work"><b>work for the whole gradient</b>
<table><thead><tr><th>method</th><th>multiplications</th><th>additions</th><th>how</th></tr>
</thead><tbody></tbody></table><div class="crx-work-note"></div></div>
</div>
<details class="crx-table"><summary>every node: value, tangent, adjoint</summary>
<table class="crx-values"><thead><tr><th>node</th><th>value</th><th class="th-t"></th>
<th class="th-a"></th></tr></thead><tbody></tbody></table></details>
<script type="application/json" class="crx-data">__DATA__</script>
<script>__SCRIPT__</script>
</div>"""

_HERE = pathlib.Path(__file__).parent
_STYLE = (_HERE / "page.css").read_text(encoding="utf-8")
_SCRIPT = (_HERE / "page.js").read_text(encoding="utf-8")
