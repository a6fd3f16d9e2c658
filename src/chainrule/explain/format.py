"""Short, stable texts for numbers, arrays and counts: the leaf every renderer shares."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["count_text", "fmt"]


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
