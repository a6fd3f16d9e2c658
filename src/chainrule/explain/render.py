"""SVG and PNG through graphviz (the Python package and the `dot` program), imported lazily."""

from __future__ import annotations

import pathlib
import shutil

from ..files import write_bytes

__all__ = ["GraphvizMissing", "render", "render_to_file", "require_graphviz"]

INSTALL = ("install the graphviz `dot` program (Debian/Ubuntu: sudo apt-get install graphviz; "
           "macOS: brew install graphviz) and the Python package (pip install graphviz); "
           "DOT text needs neither: graph.to_dot()")


class GraphvizMissing(RuntimeError):
    """Rendering needs graphviz, which is not installed."""


def require_graphviz():
    """The graphviz module, or GraphvizMissing saying how to install what is missing."""
    try:
        import graphviz
    except ImportError:
        raise GraphvizMissing(f"rendering needs the graphviz Python package: {INSTALL}") from None
    if shutil.which("dot") is None:
        raise GraphvizMissing(f"rendering needs the `dot` program, not found on PATH: {INSTALL}")
    return graphviz


def render(dot_source: str, format: str = "svg") -> bytes:
    """Render DOT text to `format` ("svg" or "png") bytes."""
    if format not in ("svg", "png"):
        raise ValueError(f"render: format must be 'svg' or 'png', got {format!r}")
    graphviz = require_graphviz()
    return graphviz.Source(dot_source).pipe(format=format)


def render_to_file(dot_source: str, path, format: str | None = None) -> pathlib.Path:
    """Write the rendering to `path`; the format defaults to the file's suffix."""
    path = pathlib.Path(path)
    format = format or path.suffix.lstrip(".").lower() or "svg"
    write_bytes(path, render(dot_source, format))
    return path
