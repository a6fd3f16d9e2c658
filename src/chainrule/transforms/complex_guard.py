"""Refuse complex numbers where a real one is required: a tangent of a real input, a
constant complex value returned where a real one is expected."""

from __future__ import annotations

import numpy as np


def refuse_complex(dtype, where: str, what: str) -> None:
    """Raise when `dtype` is complex: `where` names the function called, `what` the value."""
    if np.dtype(dtype).kind == "c":
        raise TypeError(
            f"{where}: {what} is complex ({np.dtype(dtype)}); it must be real here "
            "(see docs/complex.md: grad needs a real value, or holomorphic=True)")
