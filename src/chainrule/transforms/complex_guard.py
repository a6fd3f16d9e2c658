"""Refuse complex numbers at the transforms' doors, until complex differentiation lands.

The rules are written for real numbers; a complex value reaching them would be cut to its
real part or differentiated by the wrong convention, so each door raises instead.
"""

from __future__ import annotations

import numpy as np


def refuse_complex(dtype, where: str, what: str) -> None:
    """Raise when `dtype` is complex: `where` names the function called, `what` the value."""
    if np.dtype(dtype).kind == "c":
        raise TypeError(
            f"{where}: {what} is complex ({np.dtype(dtype)}); chainrule differentiates real "
            "numbers only for now: pass the real and imaginary parts as separate float "
            "tensors, or return a real value (e.g. the squared modulus)")
