"""Coarse primitives for neural networks: linear, 2-D convolution, pooling, cross-entropy.

The hot paths of `cr.nn` each run as one NumPy-level primitive with a tight rule:
- `conv2d` is im2col (a strided window view of the padded, channels-last input, copied
  once) plus one matrix product; its result is an NCHW view of channels-last memory, which
  the following elementwise ops keep. Its VJPs are two more bilinear primitives
  (`conv2d_input_grad`: for stride 1 a full correlation with the flipped kernel, otherwise
  col2im, a scatter-add per kernel offset, never a loop over pixels; `conv2d_weight_grad`),
  and the three are closed under differentiation, so every order works in both modes.
- `max_pool2d` routes gradients to the first maximum of each window: `max_pool2d_gather`
  picks values there (positions chosen by a reference input), `max_pool2d_scatter` is its
  transpose. `avg_pool2d` and `avg_pool2d_transpose` are a linear pair. Pooling loops over
  the kh*kw kernel offsets, each a strided view.
- `cross_entropy` (per-sample, integer targets) has a fused VJP, softmax - onehot,
  computed by `cross_entropy_grad`.
- `linear` is x @ w.T + b in one primitive; `erf` serves the exact GELU.
Images are NCHW, kernels (out_channels, in_channels, kh, kw).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..core import TensorBase
from ._define import as_tensor, bind_tensors, coerce, constant, defop
from .elementwise import exp
from .linalg import einsum, matmul
from .nn import softmax
from .reduce import sum as _sum
from .shape import expand_dims, reshape, transpose

__all__ = [
    "linear", "conv2d", "max_pool2d", "avg_pool2d", "cross_entropy_per_sample", "erf", "pair",
]


def pair(v, name="value") -> tuple:
    """An int or a pair of ints as a pair of ints."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name}: expected an int or a pair of ints, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


# ----- linear ---------------------------------------------------------------------------

def _linear_impl(x, w, b):
    out = np.matmul(x, w.T)
    out += b
    return out


def _linear_vjp_w(g, ans, x, w, b):
    if g.ndim == 2:
        return matmul(transpose(g), x)
    return einsum("...o,...i->oi", g, x)


def _linear_vjp_b(g, ans, x, w, b):
    return _sum(g, tuple(range(g.ndim - 1))) if g.ndim > 1 else g


linear_p = defop(
    "linear", _linear_impl, nin=3,
    vjp=(lambda g, ans, x, w, b: matmul(g, w), _linear_vjp_w, _linear_vjp_b),
    jvp=(lambda t, ans, x, w, b: matmul(t, transpose(w)),
         lambda t, ans, x, w, b: matmul(x, transpose(t)),
         lambda t, ans, x, w, b: t),
    doc="x @ w.T + b for x of shape (..., in), w (out, in), b (out,).")


def linear(x, weight, bias=None):
    """`x @ weight.T + bias` (PyTorch's layout: weight is (out_features, in_features))."""
    x, weight = coerce((x, weight))
    if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} does not fit a weight of shape "
                         f"{weight.shape}: the last axis of the input must be "
                         f"{weight.shape[1] if weight.ndim == 2 else 'in_features'}")
    if bias is None:
        return matmul(x, transpose(weight))
    bias = as_tensor(bias)
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias of shape {bias.shape} does not fit a weight of shape "
                         f"{weight.shape}; expected ({weight.shape[0]},)")
    return bind_tensors(linear_p, (x, weight, bias), {})


# ----- conv2d ---------------------------------------------------------------------------

def _out_size(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def _padded_nhwc(x, padding):
    """The NCHW array x as a zero-padded channels-last (N, H+2ph, W+2pw, C) array."""
    n, c, h, w = x.shape
    ph, pw = padding
    if ph == 0 and pw == 0:  # free when x already is a channels-last view
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    xp = np.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=x.dtype)
    xp[:, ph:ph + h, pw:pw + w, :] = x.transpose(0, 2, 3, 1)
    return xp


def _im2col(x, kernel, stride, padding):
    """Rows (N*OH*OW, kh*kw*C): one window per row, channels innermost (one copy)."""
    (kh, kw), (sh, sw) = kernel, stride
    xp = _padded_nhwc(x, padding)
    n, hp, wp, c = xp.shape
    oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    s0, s1, s2, s3 = xp.strides
    win = as_strided(xp, (n, oh, ow, kh, kw, c), (s0, s1 * sh, s2 * sw, s1, s2, s3),
                     writeable=False)
    return win.reshape(n * oh * ow, kh * kw * c), (n, oh, ow)


def _rows(g):
    """An NCHW array as rows (N*H*W, C) (free when g is a channels-last view)."""
    n, c, h, w = g.shape
    return g.transpose(0, 2, 3, 1).reshape(n * h * w, c)


def _conv2d_impl(x, w, b, stride, padding):
    o, c, kh, kw = w.shape
    cols, (n, oh, ow) = _im2col(x, (kh, kw), stride, padding)
    out = cols @ w.transpose(2, 3, 1, 0).reshape(kh * kw * c, o)
    out += b
    return out.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)  # NCHW view of channels-last


def _col2im(cols, x_shape, kernel, stride, padding):
    """Scatter-add window rows (N, OH, OW, kh, kw, C) onto an (N, C, H, W) image: one
    strided add per kernel offset, never a loop over pixels."""
    n, c, h, w_ = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = cols.shape[1], cols.shape[2]
    out = np.zeros((n, h + 2 * ph, w_ + 2 * pw, c), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw, :] += \
                cols[:, :, :, i, j, :]
    return out[:, ph:ph + h, pw:pw + w_, :].transpose(0, 3, 1, 2)


def _conv2d_input_grad_impl(g, w, x_shape, stride, padding):
    o, c, kh, kw = w.shape
    n, _, oh, ow = g.shape
    (ph, pw) = padding
    if stride == (1, 1) and ph < kh and pw < kw:
        # Stride 1: a full correlation of g with the flipped kernel, one im2col and product.
        cols, _ = _im2col(g, (kh, kw), (1, 1), (kh - 1 - ph, kw - 1 - pw))
        flipped = w[:, :, ::-1, ::-1].transpose(2, 3, 0, 1).reshape(kh * kw * o, c)
        out = cols @ flipped
        return out.reshape(n, x_shape[2], x_shape[3], c).transpose(0, 3, 1, 2)
    cols = _rows(g) @ w.transpose(0, 2, 3, 1).reshape(o, kh * kw * c)
    return _col2im(cols.reshape(n, oh, ow, kh, kw, c), x_shape, (kh, kw), stride, padding)


def _conv2d_weight_grad_impl(x, g, kernel, stride, padding):
    cols, _ = _im2col(x, kernel, stride, padding)
    dw = _rows(g).T @ cols                                     # (O, kh*kw*C)
    return dw.reshape(g.shape[1], kernel[0], kernel[1], x.shape[1]).transpose(0, 3, 1, 2)


def _conv(x, w, stride, padding, b=None):
    if b is None:
        b = constant(np.zeros(w.shape[0], dtype=w.dtype))
    return bind_tensors(conv2d_p, (x, w, b), {"stride": stride, "padding": padding})


def _bias_grad(g):
    return _sum(g, (0, 2, 3))


def _conv_input_grad(g, w, x_shape, stride, padding):
    return bind_tensors(conv2d_input_grad_p, (g, w), {
        "x_shape": tuple(x_shape), "stride": stride, "padding": padding})


def _conv_weight_grad(x, g, kernel, stride, padding):
    return bind_tensors(conv2d_weight_grad_p, (x, g), {
        "kernel": tuple(kernel), "stride": stride, "padding": padding})


conv2d_p = defop(
    "conv2d", _conv2d_impl, nin=3,
    vjp=(lambda g, ans, x, w, b, stride, padding: _conv_input_grad(g, w, x.shape, stride,
                                                                   padding),
         lambda g, ans, x, w, b, stride, padding: _conv_weight_grad(x, g, w.shape[2:], stride,
                                                                    padding),
         lambda g, ans, x, w, b, stride, padding: _bias_grad(g)),
    jvp=(lambda t, ans, x, w, b, stride, padding: _conv(t, w, stride, padding),
         lambda t, ans, x, w, b, stride, padding: _conv(x, t, stride, padding),
         lambda t, ans, x, w, b, stride, padding: reshape(t, (-1, 1, 1))),
    doc="Cross-correlation of NCHW x with (O, C, kh, kw) w plus bias b (O,): im2col and "
        "one matrix product.")

# <input_grad(g, w), h> = <g, conv(h, w)> and its weight derivative is weight_grad(h, g).
conv2d_input_grad_p = defop(
    "conv2d_input_grad", _conv2d_input_grad_impl, nin=2,
    vjp=(lambda h, ans, g, w, x_shape, stride, padding: _conv(h, w, stride, padding),
         lambda h, ans, g, w, x_shape, stride, padding: _conv_weight_grad(
             h, g, w.shape[2:], stride, padding)),
    jvp=(lambda t, ans, g, w, x_shape, stride, padding: _conv_input_grad(
        t, w, x_shape, stride, padding),
         lambda t, ans, g, w, x_shape, stride, padding: _conv_input_grad(
             g, t, x_shape, stride, padding)),
    doc="conv2d's VJP with respect to the input (col2im: a scatter-add per kernel offset).")

# <weight_grad(x, g), h> = <g, conv(x, h)>.
conv2d_weight_grad_p = defop(
    "conv2d_weight_grad", _conv2d_weight_grad_impl, nin=2,
    vjp=(lambda h, ans, x, g, kernel, stride, padding: _conv_input_grad(
        g, h, x.shape, stride, padding),
         lambda h, ans, x, g, kernel, stride, padding: _conv(x, h, stride, padding)),
    jvp=(lambda t, ans, x, g, kernel, stride, padding: _conv_weight_grad(
        t, g, kernel, stride, padding),
         lambda t, ans, x, g, kernel, stride, padding: _conv_weight_grad(
             x, t, kernel, stride, padding)),
    doc="conv2d's VJP with respect to the weight.")


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-D cross-correlation (PyTorch's conv2d): x (N, C, H, W), weight (O, C, kh, kw).

    A 3-D input (C, H, W) is treated as a batch of one. `padding` is zeros on each side.
    """
    x, weight = coerce((x, weight))
    stride, padding = pair(stride, "conv2d: stride"), pair(padding, "conv2d: padding")
    unbatched = x.ndim == 3
    if unbatched:
        x = expand_dims(x, 0)
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"conv2d: expected an input (N, C, H, W) and a weight "
                         f"(O, C, kh, kw), got shapes {x.shape} and {weight.shape}")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv2d: input has {x.shape[1]} channels (shape {x.shape}) but the "
                         f"weight expects {weight.shape[1]} (shape {weight.shape})")
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"conv2d: stride must be >= 1 and padding >= 0, got {stride}, "
                         f"{padding}")
    oh = _out_size(x.shape[2], weight.shape[2], stride[0], padding[0])
    ow = _out_size(x.shape[3], weight.shape[3], stride[1], padding[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"conv2d: kernel {weight.shape[2:]} is larger than the padded input "
                         f"{(x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1])}")
    if bias is not None:
        bias = as_tensor(bias)
        if bias.shape != weight.shape[:1]:
            raise ValueError(f"conv2d: bias of shape {bias.shape} does not fit a weight of "
                             f"shape {weight.shape}; expected ({weight.shape[0]},)")
    out = _conv(x, weight, stride, padding, bias)
    return out[0] if unbatched else out


# ----- pooling ------------------------------------------------------------------------

def _pool_geometry(x_shape, kernel, stride, padding):
    oh = _out_size(x_shape[2], kernel[0], stride[0], padding[0])
    ow = _out_size(x_shape[3], kernel[1], stride[1], padding[1])
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


def _geometry(shape, kernel, stride, padding):
    oh, ow = _pool_geometry(shape, kernel, stride, padding)
    return _offsets(kernel, stride, oh, ow)


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
    doc="Max over each window; the gradient goes to the first maximum of the window.")

max_pool2d_gather_p = defop(
    "max_pool2d_gather", _gather_impl, nin=2,
    vjp=(lambda g, ans, t, x, **p: _scatter(g, x, **p), lambda g, ans, t, x, **p: None),
    jvp=(lambda tt, ans, t, x, **p: _gather(tt, x, **p), lambda tt, ans, t, x, **p: None),
    doc="t picked at the argmax of each window of x (x only chooses where: no gradient).")

max_pool2d_scatter_p = defop(
    "max_pool2d_scatter", _scatter_impl, nin=2,
    vjp=(lambda h, ans, g, x, **p: _gather(h, x, **p), lambda h, ans, g, x, **p: None),
    jvp=(lambda t, ans, g, x, **p: _scatter(t, x, **p), lambda t, ans, g, x, **p: None),
    doc="max_pool2d_gather's transpose: g added at the argmax of each window of x.")


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
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=g.dtype)
    share = g / (kernel[0] * kernel[1])
    for _, index in _geometry(x_shape, kernel, stride, padding):
        out[index] += share
    return out[:, :, ph:ph + h, pw:pw + w]


avg_pool2d_p = defop(
    "avg_pool2d", _avg_pool_impl,
    vjp=lambda g, ans, x, **p: bind_tensors(avg_pool2d_transpose_p, (g,),
                                            {"x_shape": x.shape, **p}),
    linear=True, doc="Mean over each window (zero padding counts in the mean).")

avg_pool2d_transpose_p = defop(
    "avg_pool2d_transpose", _avg_pool_t_impl,
    vjp=lambda h, ans, g, x_shape, **p: bind_tensors(avg_pool2d_p, (h,), p),
    linear=True, doc="avg_pool2d's transpose: each output spread evenly over its window.")


def _pool_args(name, x, kernel_size, stride, padding):
    kernel = pair(kernel_size, f"{name}: kernel_size")
    stride = kernel if stride is None else pair(stride, f"{name}: stride")
    padding = pair(padding, f"{name}: padding")
    if x.ndim != 4:
        raise ValueError(f"{name}: expected an input (N, C, H, W), got shape {x.shape}")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{name}: padding {padding} should be at most half the kernel "
                         f"{kernel}")
    oh, ow = _pool_geometry(x.shape, kernel, stride, padding)
    if oh < 1 or ow < 1:
        raise ValueError(f"{name}: kernel {kernel} is larger than the padded input of shape "
                         f"{x.shape}")
    return _pool_params(kernel, stride, padding)


def _pool(prim, name, x, kernel_size, stride, padding):
    x = as_tensor(x)
    unbatched = x.ndim == 3
    if unbatched:
        x = expand_dims(x, 0)
    out = bind_tensors(prim, (x,), _pool_args(name, x, kernel_size, stride, padding))
    return out[0] if unbatched else out


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max pooling (PyTorch's max_pool2d; stride defaults to the kernel size)."""
    return _pool(max_pool2d_p, "max_pool2d", x, kernel_size, stride, padding)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Average pooling (stride defaults to the kernel size; padded zeros count)."""
    return _pool(avg_pool2d_p, "avg_pool2d", x, kernel_size, stride, padding)


# ----- cross-entropy on logits with integer targets -----------------------------------

def _picked(x, target):
    """x[n, target[n], ...] along axis 1, keeping that axis."""
    if x.ndim == 2:
        return x[np.arange(x.shape[0]), target][:, None]
    return np.take_along_axis(x, np.expand_dims(target, 1), axis=1)


def _cross_entropy_impl(logits, target):
    shifted = logits - logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return (lse - _picked(shifted, target))[:, 0]


def _cross_entropy_grad_impl(logits, target):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    if e.ndim == 2:
        e[np.arange(e.shape[0]), target] -= 1
    else:
        np.put_along_axis(e, np.expand_dims(target, 1), _picked(e, target) - 1, axis=1)
    return e


def _ce_grad(logits, target):
    return bind_tensors(cross_entropy_grad_p, (logits,), {"target": target})


def _softmax_jacobian_apply(v, logits):
    s = softmax(logits, axis=1)
    return s * (v - _sum(v * s, 1, keepdims=True))


cross_entropy_p = defop(
    "cross_entropy", _cross_entropy_impl,
    vjp=lambda g, ans, logits, target: expand_dims(g, 1) * _ce_grad(logits, target),
    jvp=lambda t, ans, logits, target: _sum(t * _ce_grad(logits, target), 1),
    doc="Per-sample -log softmax(logits)[target] along axis 1 (targets are integers).")

cross_entropy_grad_p = defop(
    "cross_entropy_grad", _cross_entropy_grad_impl,
    vjp=lambda h, ans, logits, target: _softmax_jacobian_apply(h, logits),
    jvp=lambda t, ans, logits, target: _softmax_jacobian_apply(t, logits),
    doc="softmax(logits) - onehot(target) along axis 1: cross_entropy's gradient.")


def cross_entropy_per_sample(logits, target):
    """-log_softmax(logits, axis=1) at the integer `target`: shape of `target`."""
    logits = as_tensor(logits)
    target = np.asarray(target.data if isinstance(target, TensorBase) else target)
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype "
                        f"{target.dtype}")
    if logits.ndim < 1 or target.shape != logits.shape[:1] + logits.shape[2:]:
        raise ValueError(f"cross_entropy: logits of shape {logits.shape} need targets of shape "
                         f"{logits.shape[:1] + logits.shape[2:]}, got {target.shape}")
    if target.size and (target.min() < 0 or target.max() >= logits.shape[1]):
        raise ValueError(f"cross_entropy: targets must lie in [0, {logits.shape[1]}), got "
                         f"values from {target.min()} to {target.max()}")
    return bind_tensors(cross_entropy_p, (logits,), {"target": target})


# ----- erf (exact GELU) -----------------------------------------------------------------

_erf_ufunc = np.frompyfunc(math.erf, 1, 1)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erf_impl(x):
    return _erf_ufunc(x).astype(x.dtype)


erf = defop(
    "erf", _erf_impl,
    vjp=lambda g, ans, x: g * (_TWO_OVER_SQRT_PI * exp(-(x * x))),
    jvp=lambda t, ans, x: t * (_TWO_OVER_SQRT_PI * exp(-(x * x))),
    doc="The error function (math.erf elementwise).")
