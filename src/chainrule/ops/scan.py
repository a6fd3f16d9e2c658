"""`cumprod` as a primitive: NumPy's running product for the value, derivatives exact with
zeros.

Where no entry is 0 the rules are the textbook ones (`ans * cumsum(t / x)` and a reversed
cumulative sum divided by x). Where some entry is 0 they follow a log-depth (Hillis-Steele)
scan of products, which never divides: forward, its tangent is carried step by step;
reverse, the same steps are transposed.
"""

from __future__ import annotations

import numpy as np

from ..core import ground
from ._define import defop
from .reduce import cumsum
from .shape import flip, getitem, pad


def _has_zero(x) -> bool:
    """True when some value of x is 0, in every example a transform's box stands for."""
    return bool((ground(x).data == 0).any())


def _shift(v, step, axis, fill):
    """v moved `step` places along axis, the first `step` entries set to `fill`."""
    n = v.shape[axis]
    widths = [(0, 0)] * v.ndim
    widths[axis] = (step, 0)
    return pad(getitem(v, (slice(None),) * axis + (slice(0, n - step),)), widths,
               constant_values=fill)


def _unshift(u, step, axis):
    """The transpose of `_shift` with fill 0."""
    widths = [(0, 0)] * u.ndim
    widths[axis] = (0, step)
    return pad(getitem(u, (slice(None),) * axis + (slice(step, None),)), widths,
               constant_values=0)


def _scan_states(x, axis):
    """[(step, y_k, s_k)]: y_{k+1} = y_k * s_k, s_k = y_k shifted by step (fill 1)."""
    states, y, step = [], x, 1
    while step < x.shape[axis]:
        s = _shift(y, step, axis, 1)
        states.append((step, y, s))
        y = y * s
        step *= 2
    return states


def _cumprod_jvp(t, ans, x, axis):
    if not _has_zero(x):
        return ans * cumsum(t / x, axis)
    for step, y, s in _scan_states(x, axis):
        t = t * s + y * _shift(t, step, axis, 0)
    return t


def _cumprod_vjp(g, ans, x, axis):
    if not _has_zero(x):
        return flip(cumsum(flip(g * ans, axis), axis), axis) / x
    for step, y, s in reversed(_scan_states(x, axis)):
        g = g * s + _unshift(g * y, step, axis)
    return g


cumprod_p = defop("cumprod", lambda x, axis: np.cumprod(x, axis=axis), vjp=_cumprod_vjp,
                  jvp=_cumprod_jvp, batch="axes",
                  doc="Running product along axis; derivatives exact where entries are 0.")
