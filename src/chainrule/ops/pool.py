"""Pooling primitives: max (gradient to the first maximum of each window) and average.

`max_pool2d_gather` picks values at the first maximum of each window (positions chosen by
a reference input) and `max_pool2d_scatter` is its transpose; `avg_pool2d` and
`avg_pool2d_transpose` are a linear pair. Pooling loops over the kh*kw kernel offsets,
each a strided view. Images are NCHW.
"""

from __future__ import annotations

import functools

import numpy as np

from ._define import as_tensor, bind_tensors, constant, defop
from .conv import out_size, pair
from .shape import expand_dims, pad
from .vmap_rules import fold_into_samples

__all__ = ["max_pool2d", "avg_pool2d"]


# ----- pooling ------------------------------------------------------------------------

def _pool_geometry(x_shape, kernel, stride, padding):
    oh = out_size(x_shape[2], kernel[0], stride[0], padding[0])
    ow = out_size(x_shape[3], kernel[1], stride[1], padding[1])
    return oh, ow


def _neg_inf(dtype):
    return -np.inf if np.issubdtype(dtype, np.floating) else np.iinfo(dtype).min


def _padded(x, padding, value=0):
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    return xp


def _offsets(kernel, stride, oh, ow):
    """The index of each kernel offset's strided view: (k, index) for k = i*kw + j."""
    (kh, kw), (sh, sw) = kernel, stride
    return [(i * kw + j, (slice(None), slice(None), slice(i, i + sh * (oh - 1) + 1, sh),
                          slice(j, j + sw * (ow - 1) + 1, sw)))
            for i in range(kh) for j in range(kw)]


@functools.lru_cache(maxsize=256)
def _geometry(shape, kernel, stride, padding):
    """The windows' offsets for inputs of this shape: worked out once (~3 us a call)."""
    oh, ow = _pool_geometry(shape, kernel, stride, padding)
    return tuple(_offsets(kernel, stride, oh, ow))


def _first_max(x, kernel, stride, padding):
    """Boolean (kh*kw, N, C, OH, OW): True at the first maximum of each window of x."""
    xp = _padded(x, padding, _neg_inf(x.dtype))
    offsets = _geometry(x.shape, kernel, stride, padding)
    stacked = np.stack([xp[index] for _, index in offsets])
    hit = stacked == stacked.max(axis=0)
    taken = hit[0].copy()
    for k in range(1, len(offsets)):  # ties: only the first maximum keeps its hit
        h = hit[k]
        h &= ~taken
        taken |= h
    return hit, offsets


def _max_pool_impl(x, kernel, stride, padding):
    xp = _padded(x, padding, _neg_inf(x.dtype))
    offsets = _geometry(x.shape, kernel, stride, padding)
    out = xp[offsets[0][1]].copy(order="K")
    for _, index in offsets[1:]:
        np.maximum(out, xp[index], out=out)
    return out


def _gather_impl(t, x, kernel, stride, padding):
    hit, offsets = _first_max(x, kernel, stride, padding)
    tp = _padded(t, padding)
    stacked = np.stack([tp[index] for _, index in offsets])
    return np.where(hit, stacked, np.zeros((), dtype=t.dtype)).sum(axis=0)


def _scatter_impl(g, x, kernel, stride, padding):
    hit, offsets = _first_max(x, kernel, stride, padding)
    rows = np.where(hit, g, np.zeros((), dtype=g.dtype))
    n, c, h, w = x.shape
    ph, pw = padding
    if ph == 0 and pw == 0:  # same memory layout as x, so elementwise rules stay fast
        out = np.zeros_like(x, dtype=g.dtype)
    else:
        out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=g.dtype)
    disjoint = stride[0] >= kernel[0] and stride[1] >= kernel[1]
    for k, index in offsets:
        if disjoint:  # windows do not overlap: plain stores
            out[index] = rows[k]
        else:
            out[index] += rows[k]
    return out[:, :, ph:ph + h, pw:pw + w] if ph or pw else out


def _pool_params(kernel, stride, padding):
    return {"kernel": kernel, "stride": stride, "padding": padding}


def _gather(t, x, **p):
    return bind_tensors(max_pool2d_gather_p, (t, x), p)


def _scatter(g, x, **p):
    return bind_tensors(max_pool2d_scatter_p, (g, x), p)


max_pool2d_p = defop(
    "max_pool2d", _max_pool_impl,
    vjp=lambda g, ans, x, **p: _scatter(g, x, **p),
    jvp=lambda t, ans, x, **p: _gather(t, x, **p),
    doc="Max over each window; the gradient goes to the first maximum of the window.",
    batch=fold_into_samples((0,)))

max_pool2d_gather_p = defop(
    "max_pool2d_gather", _gather_impl, nin=2,
    vjp=(lambda g, ans, t, x, **p: _scatter(g, x, **p), lambda g, ans, t, x, **p: None),
    jvp=(lambda tt, ans, t, x, **p: _gather(tt, x, **p), lambda tt, ans, t, x, **p: None),
    doc="t picked at the argmax of each window of x (x only chooses where: no gradient).",
    batch=fold_into_samples((0, 1)))

max_pool2d_scatter_p = defop(
    "max_pool2d_scatter", _scatter_impl, nin=2,
    vjp=(lambda h, ans, g, x, **p: _gather(h, x, **p), lambda h, ans, g, x, **p: None),
    jvp=(lambda t, ans, g, x, **p: _scatter(t, x, **p), lambda t, ans, g, x, **p: None),
    doc="max_pool2d_gather's transpose: g added at the argmax of each window of x.",
    batch=fold_into_samples((0, 1)))


def _avg_pool_impl(x, kernel, stride, padding):
    xp = _padded(x, padding)
    offsets = _geometry(x.shape, kernel, stride, padding)
    out = xp[offsets[0][1]].copy(order="K")
    for _, index in offsets[1:]:
        out += xp[index]
    out /= kernel[0] * kernel[1]
    return out


def _avg_pool_t_impl(g, x_shape, kernel, stride, padding):
    n, c, h, w = x_shape
    ph, pw = padding
    share = g / (kernel[0] * kernel[1])
    oh, ow = g.shape[2:]
    if tuple(kernel) == tuple(stride) and ph == pw == 0 and \
            (oh * kernel[0], ow * kernel[1]) == (h, w):
        # the windows tile x: each entry gets its window's share, one broadcast copy
        out = np.empty((n, c, oh, kernel[0], ow, kernel[1]), dtype=share.dtype)
        out[...] = share[:, :, :, None, :, None]
        return out.reshape(x_shape)
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=g.dtype)
    for _, index in _geometry(x_shape, kernel, stride, padding):
        out[index] += share
    return out[:, :, ph:ph + h, pw:pw + w]


avg_pool2d_p = defop(
    "avg_pool2d", _avg_pool_impl,
    vjp=lambda g, ans, x, **p: bind_tensors(avg_pool2d_transpose_p, (g,),
                                            {"x_shape": x.shape, **p}),
    linear=True, doc="Mean over each window (zero padding counts in the mean).",
    batch=fold_into_samples((0,)))

avg_pool2d_transpose_p = defop(
    "avg_pool2d_transpose", _avg_pool_t_impl,
    vjp=lambda h, ans, g, x_shape, **p: bind_tensors(avg_pool2d_p, (h,), p),
    linear=True, doc="avg_pool2d's transpose: each output spread evenly over its window.",
    batch=fold_into_samples((0,), shape_param="x_shape"))


def _ceil_extent(n, k, s, p):
    """PyTorch's ceil_mode output length, and the extra far-side padding it needs."""
    out = -(-(n + 2 * p - k) // s) + 1
    if (out - 1) * s >= n + p:  # the last window must start inside the input or padding
        out -= 1
    return out, max(0, (out - 1) * s + k - (n + 2 * p))


def _pool_args(name, x, kernel_size, stride, padding):
    kernel = pair(kernel_size, f"{name}: kernel_size")
    stride = kernel if stride is None else pair(stride, f"{name}: stride")
    padding = pair(padding, f"{name}: padding")
    if x.ndim != 4:
        raise ValueError(f"{name}: expected an input (N, C, H, W), got shape {x.shape}")
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"{name}: stride must be >= 1 and padding >= 0, got {stride}, "
                         f"{padding}")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{name}: padding {padding} should be at most half the kernel "
                         f"{kernel}")
    oh, ow = _pool_geometry(x.shape, kernel, stride, padding)
    if oh < 1 or ow < 1:
        raise ValueError(f"{name}: kernel {kernel} is larger than the padded input of shape "
                         f"{x.shape}")
    return _pool_params(kernel, stride, padding)


def _ceil_padded(x, p, value):
    """x padded on the far sides so plain windows give ceil_mode's extra outputs."""
    extra = [_ceil_extent(n, k, s, pd)[1] for n, k, s, pd in zip(
        x.shape[2:], p["kernel"], p["stride"], p["padding"])]
    if not any(extra):
        return x
    return pad(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])), constant_values=value)


def _divisor(shape, p, ceil_mode, count_include_pad):
    """PyTorch's avg_pool2d divisor of each output (OH, OW): the window clipped to the
    padded input, or to the input alone when count_include_pad is False."""
    axes = []
    for n, k, s, pd in zip(shape[2:], p["kernel"], p["stride"], p["padding"]):
        out = _ceil_extent(n, k, s, pd)[0] if ceil_mode else out_size(n, k, s, pd)
        start = np.arange(out) * s - pd
        end = np.minimum(start + k, n + pd)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        axes.append(end - start)
    return np.outer(axes[0], axes[1])


def _unbatched(fn):
    """Apply fn to an (N, C, H, W) tensor, treating (C, H, W) as a batch of one."""
    def run(x, *args):
        x = as_tensor(x)
        if x.ndim == 3:
            return fn(expand_dims(x, 0), *args)[0]
        return fn(x, *args)
    return run


def max_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """Max pooling (PyTorch's max_pool2d; stride defaults to the kernel size; ceil_mode
    keeps a last partial window as PyTorch does)."""
    def run(x):
        p = _pool_args("max_pool2d", x, kernel_size, stride, padding)
        if ceil_mode:
            x = _ceil_padded(x, p, _neg_inf(x.dtype))
        return bind_tensors(max_pool2d_p, (x,), p)
    return _unbatched(run)(x)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Average pooling (PyTorch's avg_pool2d: stride defaults to the kernel size; padded
    zeros count unless count_include_pad=False; ceil_mode keeps a last partial window)."""
    def run(x):
        p = _pool_args("avg_pool2d", x, kernel_size, stride, padding)
        if not ceil_mode and count_include_pad:
            return bind_tensors(avg_pool2d_p, (x,), p)
        window = p["kernel"][0] * p["kernel"][1]
        scale = window / _divisor(x.shape, p, ceil_mode, count_include_pad)
        out = bind_tensors(avg_pool2d_p, (_ceil_padded(x, p, 0) if ceil_mode else x,), p)
        return out * constant(scale.astype(x.dtype))
    return _unbatched(run)(x)
