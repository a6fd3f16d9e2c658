"""2-D convolution as a closed family of three bilinear primitives.

`conv2d` is im2col (a strided window view of the padded, channels-last input, copied
once) plus one matrix product; its result is an NCHW view of channels-last memory, which
the following elementwise ops keep. Its VJPs are two more bilinear primitives
(`conv2d_input_grad`: for stride 1 a full correlation with the flipped kernel, otherwise
col2im, a scatter-add per kernel offset, never a loop over pixels; `conv2d_weight_grad`),
and the three are closed under differentiation, so every order works in both modes.
Images are NCHW, kernels (out_channels, in_channels, kh, kw).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._define import as_tensor, bind_tensors, coerce, constant, defop
from .reduce import sum as _sum
from .shape import expand_dims, reshape
from .vmap_rules import fold_into_samples

__all__ = ["conv2d", "pair", "out_size"]


def pair(v, name="value") -> tuple:
    """An int or a pair of ints as a pair of ints."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name}: expected an int or a pair of ints, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


# ----- conv2d ---------------------------------------------------------------------------

def out_size(n, k, s, p):
    """Output length of a window of k with stride s over n entries padded by p each side."""
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
        "one matrix product.", batch=fold_into_samples((0,)))

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
    doc="conv2d's VJP with respect to the input (col2im: a scatter-add per kernel offset).",
    batch=fold_into_samples((0,), shape_param="x_shape"))

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
    doc="conv2d's VJP with respect to the weight.", batch="loop")


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
    oh = out_size(x.shape[2], weight.shape[2], stride[0], padding[0])
    ow = out_size(x.shape[3], weight.shape[3], stride[1], padding[1])
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
