"""Short, stable texts for numbers, arrays and counts: the leaf every renderer shares."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["block_means", "count_text", "fmt"]


def fmt(x, width: int = 60) -> str:
    """A short, stable text for a number or array (6 significant digits)."""
    if x is None:
        return "-"
    a = np.asarray(x)
    if a.ndim == 0:
        v = a.item()
        if isinstance(v, float) and math.isfinite(v) and v == int(v) and abs(v) < 1e15:
            return str(int(v)) if v != 0 or not np.signbit(v) else "0"
        return f"{v:.6g}"
    text = np.array2string(a, precision=4, separator=", ", suppress_small=True,
                           max_line_width=10_000, threshold=20, edgeitems=3)
    text = " ".join(text.split())
    return text if len(text) <= width else f"array of shape {a.shape}"


def count_text(n: int) -> str:
    """An exact count, readable: 1,234 or, when huge, 2^1000 ≈ 1.07e+301 (302 digits)."""
    if n < 10**12:
        return f"{n:,}"
    digits = str(n)
    power = f"2^{n.bit_length() - 1} ≈ " if n & (n - 1) == 0 else ""
    return f"{power}{digits[0]}.{digits[1:3]}e+{len(digits) - 1} ({len(digits)} digits)"


def block_means(a, rows: int, cols: int):
    """A tensor as at most rows x cols block means scaled to [-1, 1], and the scale.

    1-D tensors are one row; higher ones are (everything but the last axis) x last axis.
    Non-finite blocks show as 0. For heatmaps.
    """
    a = np.asarray(a, dtype=np.float64)
    m = a.reshape(1, -1) if a.ndim <= 1 else a.reshape(-1, a.shape[-1])
    r0 = [r[0] for r in np.array_split(np.arange(m.shape[0]), min(m.shape[0], rows))]
    c0 = [c[0] for c in np.array_split(np.arange(m.shape[1]), min(m.shape[1], cols))]
    counts = np.outer(np.diff(r0 + [m.shape[0]]), np.diff(c0 + [m.shape[1]]))
    grid = np.add.reduceat(np.add.reduceat(m, r0, axis=0), c0, axis=1) / counts
    finite = np.isfinite(grid)
    scale = float(np.abs(grid[finite]).max()) if finite.any() else 0.0
    return np.where(finite, grid / scale if scale else 0.0, 0.0), scale
