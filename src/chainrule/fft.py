"""`cr.fft`: NumPy's discrete Fourier transforms, differentiable (JAX's complex convention).

Three primitives carry everything: the complex transform `fftn` (forward or inverse), the
real-input `rfftn` and the real-output `irfftn`. All are linear, so each JVP is the op
itself, and each VJP is a transform too: the DFT matrix is symmetric, so the transpose of
fftn is fftn with the same `norm`; rfftn's is the real part of fftn of the cotangent
zero-padded to the full spectrum; irfftn's is ifftn of the cotangent, cut to the half
spectrum and doubled where irfftn counts a frequency twice. `n`/`s` crop or zero-pad the
input first, as NumPy does; the 1-D and 2-D functions are fftn over one or two axes.
"""

from __future__ import annotations

import numbers

import numpy as np

from .ops._define import as_tensor, constant, defop, normalize_axis
from .ops.elementwise import real
from .ops.shape import astype, concatenate, getitem, pad

_NORMS = ("backward", "ortho", "forward")


def _complex_dtype(x):
    return np.result_type(x.dtype, np.complex64)


def _along(x, axis, lo, hi):
    """x[..., lo:hi, ...] along one axis."""
    return getitem(x, tuple(slice(lo, hi) if i == axis else slice(None) for i in range(x.ndim)))


def _padded(x, axis, n):
    """x zero-padded at the end of `axis` to length n."""
    width = [(0, 0)] * x.ndim
    width[axis] = (0, n - x.shape[axis])
    return pad(x, width)


def _double_inner(x, axis, n):
    """x times 2 along `axis` except at frequency 0 and (n even) n/2: irfft's weights."""
    m = x.shape[axis]
    w = np.full(m, 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    shape = [1] * x.ndim
    shape[axis] = m
    return x * constant(w.reshape(shape), dtype=np.finfo(x.dtype).dtype)


def _fftn_impl(x, axes, inverse, norm):
    return (np.fft.ifftn if inverse else np.fft.fftn)(x, axes=axes, norm=norm)


fftn_p = defop(
    "fftn", _fftn_impl, linear=True, batch="axes",
    vjp=lambda g, ans, x, axes, inverse, norm: fftn_p(g, axes=axes, inverse=inverse, norm=norm),
    doc="The complex DFT over `axes` (inverse: NumPy's ifftn), with NumPy's `norm`.")

rfftn_p = defop(
    "rfftn", lambda x, axes, norm: np.fft.rfftn(x, axes=axes, norm=norm), linear=True,
    batch="axes",
    vjp=lambda g, ans, x, axes, norm: real(fftn_p(
        _padded(g, axes[-1], x.shape[axes[-1]]), axes=axes, inverse=False, norm=norm)),
    doc="The DFT of a real tensor: the half spectrum along the last of `axes`.")


def _irfftn_vjp(g, ans, x, axes, s, norm):
    full = fftn_p(astype(g, _complex_dtype(g)), axes=axes, inverse=True, norm=norm)
    ax = axes[-1]
    return _double_inner(_along(full, ax, 0, x.shape[ax]), ax, s[-1])


irfftn_p = defop(
    "irfftn", lambda x, axes, s, norm: np.fft.irfftn(x, s=s, axes=axes, norm=norm),
    linear=True, batch="axes", vjp=_irfftn_vjp,
    doc="The inverse of rfftn: a real tensor of lengths `s` along `axes`.")


# ----- argument handling ------------------------------------------------------------------

def _norm(norm, fn):
    norm = "backward" if norm is None else norm
    if norm not in _NORMS:
        raise ValueError(f"fft.{fn}: norm must be None, 'backward', 'ortho' or 'forward', "
                         f"got {norm!r}")
    return norm


def _axes_and_sizes(x, s, axes, fn):
    """The transformed axes (non-negative) and their lengths, NumPy's defaults filled in."""
    if axes is None:
        axes = tuple(range(x.ndim)) if s is None else tuple(range(x.ndim - len(s), x.ndim))
    else:
        axes = tuple([axes] if isinstance(axes, numbers.Integral) else axes)
    if x.ndim == 0:
        raise ValueError(f"fft.{fn}: needs at least one dimension, got a 0-d tensor")
    for a in axes:
        normalize_axis(a, x.ndim, f"fft.{fn}")
    axes = tuple(a % x.ndim for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"fft.{fn}: repeated axis in {axes}")
    if s is None:
        s = tuple(x.shape[a] for a in axes)
    s = tuple(int(n) for n in s)
    if len(s) != len(axes):
        raise ValueError(f"fft.{fn}: s={s} and axes={axes} differ in length")
    if any(n < 1 for n in s):
        raise ValueError(f"fft.{fn}: transform lengths must be >= 1, got {s}")
    return axes, s


def _resized(x, axes, sizes):
    """x cropped or zero-padded at the end of each of `axes` to `sizes`."""
    for a, n in zip(axes, sizes):
        if n < x.shape[a]:
            x = _along(x, a, 0, n)
        elif n > x.shape[a]:
            x = _padded(x, a, n)
    return x


def _c2c(a, s, axes, norm, inverse, fn):
    x = as_tensor(a)
    axes, s = _axes_and_sizes(x, s, axes, fn)
    x = _resized(x, axes, s)
    if x.dtype.kind != "c":
        x = astype(x, _complex_dtype(x))
    return fftn_p(x, axes=axes, inverse=inverse, norm=_norm(norm, fn))


def _r2c(a, s, axes, norm, fn):
    x = as_tensor(a)
    if x.dtype.kind == "c":
        raise TypeError(f"fft.{fn}: needs a real tensor, got {x.dtype}; use fft.fftn")
    axes, s = _axes_and_sizes(x, s, axes, fn)
    return rfftn_p(_resized(x, axes, s), axes=axes, norm=_norm(norm, fn))


def _c2r(a, s, axes, norm, fn):
    x = as_tensor(a)
    if s is None:
        axes, s = _axes_and_sizes(x, None, axes, fn)
        s = s[:-1] + (2 * (s[-1] - 1),)
    else:
        axes, s = _axes_and_sizes(x, s, axes, fn)
    x = _resized(x, axes, s[:-1] + (s[-1] // 2 + 1,))
    if x.dtype.kind != "c":
        x = astype(x, _complex_dtype(x))
    return irfftn_p(x, axes=axes, s=s, norm=_norm(norm, fn))


def _one(n):
    return None if n is None else (n,)


# ----- NumPy's functions ---------------------------------------------------------------

def fft(a, n=None, axis=-1, norm=None):
    """`np.fft.fft`."""
    return _c2c(a, _one(n), (axis,), norm, False, "fft")


def ifft(a, n=None, axis=-1, norm=None):
    """`np.fft.ifft`."""
    return _c2c(a, _one(n), (axis,), norm, True, "ifft")


def rfft(a, n=None, axis=-1, norm=None):
    """`np.fft.rfft`: the half spectrum of a real tensor."""
    return _r2c(a, _one(n), (axis,), norm, "rfft")


def irfft(a, n=None, axis=-1, norm=None):
    """`np.fft.irfft`: a real tensor of length n (default 2 (m - 1)) from a half spectrum."""
    return _c2r(a, _one(n), (axis,), norm, "irfft")


def fft2(a, s=None, axes=(-2, -1), norm=None):
    """`np.fft.fft2`."""
    return _c2c(a, s, axes, norm, False, "fft2")


def ifft2(a, s=None, axes=(-2, -1), norm=None):
    """`np.fft.ifft2`."""
    return _c2c(a, s, axes, norm, True, "ifft2")


def rfft2(a, s=None, axes=(-2, -1), norm=None):
    """`np.fft.rfft2`."""
    return _r2c(a, s, axes, norm, "rfft2")


def irfft2(a, s=None, axes=(-2, -1), norm=None):
    """`np.fft.irfft2`."""
    return _c2r(a, s, axes, norm, "irfft2")


def fftn(a, s=None, axes=None, norm=None):
    """`np.fft.fftn`."""
    return _c2c(a, s, axes, norm, False, "fftn")


def ifftn(a, s=None, axes=None, norm=None):
    """`np.fft.ifftn`."""
    return _c2c(a, s, axes, norm, True, "ifftn")


def rfftn(a, s=None, axes=None, norm=None):
    """`np.fft.rfftn`."""
    return _r2c(a, s, axes, norm, "rfftn")


def irfftn(a, s=None, axes=None, norm=None):
    """`np.fft.irfftn`."""
    return _c2r(a, s, axes, norm, "irfftn")


def _shift(x, axes, inverse):
    x = as_tensor(x)
    axes = tuple(range(x.ndim)) if axes is None else tuple(
        [axes] if isinstance(axes, numbers.Integral) else axes)
    for a in axes:
        a = normalize_axis(a, x.ndim, "fft.fftshift")[0]
        n = x.shape[a]
        k = n - n // 2 if inverse else n // 2         # roll by +n//2 (fftshift)
        cut = n - k
        x = concatenate([_along(x, a, cut, n), _along(x, a, 0, cut)], axis=a)
    return x


def fftshift(x, axes=None):
    """`np.fft.fftshift`: the zero frequency moved to the center."""
    return _shift(x, axes, inverse=False)


def ifftshift(x, axes=None):
    """`np.fft.ifftshift`: the inverse of fftshift."""
    return _shift(x, axes, inverse=True)


def fftfreq(n, d=1.0):
    """`np.fft.fftfreq` (a constant tensor)."""
    return constant(np.fft.fftfreq(n, d))


def rfftfreq(n, d=1.0):
    """`np.fft.rfftfreq` (a constant tensor)."""
    return constant(np.fft.rfftfreq(n, d))


__all__ = ["fft", "fft2", "fftfreq", "fftn", "fftshift", "ifft", "ifft2", "ifftn",
           "ifftshift", "irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftfreq", "rfftn"]
