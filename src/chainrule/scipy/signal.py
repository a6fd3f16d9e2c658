"""`cr.scipy.signal.convolve`: N-dimensional convolution, differentiable in both inputs.

One primitive, the full convolution; 'same' and 'valid' are slices of it. Convolution is
bilinear, so each input's cotangent is a full convolution of the cotangent with the other
input flipped, sliced to the input's extent.
"""

from __future__ import annotations

from scipy import signal as _ss

from ..ops._define import coerce
from ..ops.shape import flip, getitem, reshape
from ._define import defop


def _full_impl(a, b, axes):
    if len(axes) == a.ndim:
        return _ss.convolve(a, b, mode="full")
    return _ss.fftconvolve(a, b, mode="full", axes=axes)


def _window(x, starts, lengths, axes):
    """x sliced along `axes` to [start, start + length)."""
    index = [slice(None)] * x.ndim
    for ax, s, n in zip(axes, starts, lengths):
        index[ax] = slice(s, s + n)
    return getitem(x, tuple(index))


def _cotangent(g, other, x, axes):
    """The cotangent of one input x of the full convolution with `other`."""
    corr = convolve_p(g, flip(other, axis=axes), axes=axes)
    return _window(corr, [other.shape[a] - 1 for a in axes], [x.shape[a] for a in axes], axes)


def _batch(size, op, vals, batched, params):
    vals = [v if b else reshape(v, (1,) + v.shape) for v, b in zip(vals, batched)]
    return convolve_p(*vals, axes=tuple(a + 1 for a in params["axes"]))


convolve_p = defop(
    "convolve", _full_impl, nin=2, batch=_batch,
    vjp=(lambda g, ans, a, b, axes: _cotangent(g, b, a, axes),
         lambda g, ans, a, b, axes: _cotangent(g, a, b, axes)),
    jvp=(lambda t, ans, a, b, axes: convolve_p(t, b, axes=axes),
         lambda t, ans, a, b, axes: convolve_p(a, t, axes=axes)),
    doc="Full N-d convolution over `axes` (other axes broadcast).")


def convolve(in1, in2, mode="full", method="auto"):
    """`scipy.signal.convolve(in1, in2, mode)`, mode 'full', 'same' or 'valid'."""
    a, b = coerce((in1, in2))
    if a.ndim != b.ndim:
        raise ValueError(f"convolve: in1 and in2 need the same number of dims, got shapes "
                         f"{a.shape} and {b.shape}")
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"convolve: mode must be 'full', 'same' or 'valid', got {mode!r}")
    axes = tuple(range(a.ndim))
    full = convolve_p(a, b, axes=axes)
    if mode == "full" or a.ndim == 0:
        return full
    if mode == "same":
        return _window(full, [(n2 - 1) // 2 for n2 in b.shape], a.shape, axes)
    if not (all(n1 >= n2 for n1, n2 in zip(a.shape, b.shape))
            or all(n2 >= n1 for n1, n2 in zip(a.shape, b.shape))):
        raise ValueError(f"convolve: mode='valid' needs one input at least as large as the "
                         f"other in every dimension, got shapes {a.shape} and {b.shape}")
    return _window(full, [min(n1, n2) - 1 for n1, n2 in zip(a.shape, b.shape)],
                   [abs(n1 - n2) + 1 for n1, n2 in zip(a.shape, b.shape)], axes)


__all__ = ["convolve"]
