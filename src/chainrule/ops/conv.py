"""2-D convolution as a closed family of three bilinear primitives.

`conv2d` is im2col (a strided window view of the padded, channels-last input, copied
once) plus one matrix product per group; its result is an NCHW view of channels-last
memory, which the following elementwise ops keep. Its VJPs are two more bilinear
primitives (`conv2d_input_grad`: for stride 1 a full correlation with the flipped kernel,
otherwise col2im, a scatter-add per kernel offset, never a loop over pixels;
`conv2d_weight_grad`), and the three are closed under differentiation, so every order
works in both modes. All three take `stride`, `padding`, `dilation` (the gap between
kernel taps) and `groups` (input and output channels split into that many independent
blocks; groups == channels is a depthwise convolution). Images are NCHW, kernels
(out_channels, in_channels / groups, kh, kw). `conv2d_input_grad` is also the transposed
convolution (nn.functional.conv_transpose2d).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._define import as_tensor, bind_tensors, coerce, constant, defop
from .reduce import sum as _sum
from .shape import expand_dims, reshape
from .vmap_rules import fold_into_samples

__all__ = ["conv2d", "conv_transpose2d", "pair", "out_size"]

_ONE = (1, 1)


def pair(v, name="value") -> tuple:
    """An int or a pair of ints as a pair of ints."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name}: expected an int or a pair of ints, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


# ----- conv2d ---------------------------------------------------------------------------

def out_size(n, k, s, p, d=1):
    """Output length of a window of k taps d apart, stride s, over n entries padded by p."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _padded_nhwc(x, padding):
    """The NCHW array x as a zero-padded channels-last (N, H+2ph, W+2pw, C) array."""
    n, c, h, w = x.shape
    ph, pw = padding
    if ph == 0 and pw == 0:  # free when x already is a channels-last view
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    xp = np.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=x.dtype)
    xp[:, ph:ph + h, pw:pw + w, :] = x.transpose(0, 2, 3, 1)
    return xp


def _windows(x, kernel, stride, padding, dilation=_ONE):
    """The strided window view (N, OH, OW, kh, kw, C) of the padded channels-last x."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    xp = _padded_nhwc(x, padding)
    n, hp, wp, c = xp.shape
    oh, ow = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
    s0, s1, s2, s3 = xp.strides
    return as_strided(xp, (n, oh, ow, kh, kw, c),
                      (s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3), writeable=False)


def _im2col(x, kernel, stride, padding, dilation=_ONE, groups=1):
    """Rows (G, N*OH*OW, kh*kw*C/G): one window per row, channels innermost (one copy)."""
    win = _windows(x, kernel, stride, padding, dilation)
    n, oh, ow, kh, kw, c = win.shape
    rows = n * oh * ow
    if groups == 1:
        return win.reshape(1, rows, kh * kw * c), (n, oh, ow)
    win = win.reshape(rows, kh * kw, groups, c // groups).transpose(2, 0, 1, 3)
    return win.reshape(groups, rows, kh * kw * (c // groups)), (n, oh, ow)


def _grouped_kernel(w, groups):
    """(O, C/G, kh, kw) as (G, kh*kw*C/G, O/G), matching _im2col's columns."""
    o, cg, kh, kw = w.shape
    return w.reshape(groups, o // groups, cg, kh, kw).transpose(0, 3, 4, 2, 1).reshape(
        groups, kh * kw * cg, o // groups)


def _rows(g, groups=1):
    """An NCHW array as rows (G, N*H*W, C/G) (free when g is a channels-last view, G=1)."""
    n, c, h, w = g.shape
    rows = g.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    if groups == 1:
        return rows[None]
    return rows.reshape(n * h * w, groups, c // groups).transpose(1, 0, 2)


def _ungroup(out, shape):
    """(G, rows, K) back to (rows, G*K) reshaped to `shape` (free for G == 1)."""
    g, rows, k = out.shape
    flat = out[0] if g == 1 else out.transpose(1, 0, 2).reshape(rows, g * k)
    return flat.reshape(shape)


def _depthwise(w, groups):
    """Whether w is a depthwise kernel of multiplier 1 (one filter per channel)."""
    return groups > 1 and w.shape[0] == groups and w.shape[1] == 1


def _depthwise_taps(w):
    """(C, 1, kh, kw) as (kh, kw, C): one weight per channel per kernel offset."""
    return w[:, 0].transpose(1, 2, 0)


def _depthwise_correlate(x, taps, stride, padding, dilation):
    """Channels-last (N, OH, OW, C): each kernel offset's window view times its per-channel
    weights taps[i, j], summed; one multiply-add per offset into reused buffers, no copy
    of the windows (an im2col copy would be kh*kw times the image)."""
    win = _windows(x, taps.shape[:2], stride, padding, dilation)
    out = np.multiply(win[:, :, :, 0, 0, :], taps[0, 0])
    tmp = np.empty_like(out)
    for i in range(taps.shape[0]):
        for j in range(taps.shape[1]):
            if i or j:
                out += np.multiply(win[:, :, :, i, j, :], taps[i, j], out=tmp)
    return out


def _conv2d_impl(x, w, b, stride, padding, dilation=_ONE, groups=1):
    o = w.shape[0]
    if _depthwise(w, groups):
        out = _depthwise_correlate(x, _depthwise_taps(w), stride, padding, dilation)
        out += b
        return out.transpose(0, 3, 1, 2)
    cols, (n, oh, ow) = _im2col(x, w.shape[2:], stride, padding, dilation, groups)
    out = _ungroup(cols @ _grouped_kernel(w, groups), (n * oh * ow, o))
    out += b
    return out.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)  # NCHW view of channels-last


def _col2im(cols, x_shape, kernel, stride, padding, dilation=_ONE):
    """Scatter-add window rows (N, OH, OW, kh, kw, C) onto an (N, C, H, W) image: one
    strided add per kernel offset, never a loop over pixels."""
    n, c, h, w_ = x_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    oh, ow = cols.shape[1], cols.shape[2]
    out = np.zeros((n, h + 2 * ph, w_ + 2 * pw, c), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                j * dw:j * dw + sw * (ow - 1) + 1:sw, :] += cols[:, :, :, i, j, :]
    return out[:, ph:ph + h, pw:pw + w_, :].transpose(0, 3, 1, 2)


def _conv2d_input_grad_impl(g, w, x_shape, stride, padding, dilation=_ONE, groups=1):
    o, cg, kh, kw = w.shape
    n, _, oh, ow = g.shape
    c = cg * groups
    (ph, pw) = padding
    if stride == _ONE and dilation == _ONE and groups == 1 and ph < kh and pw < kw:
        # Stride 1: a full correlation of g with the flipped kernel, one im2col and product.
        cols, _ = _im2col(g, (kh, kw), _ONE, (kh - 1 - ph, kw - 1 - pw))
        flipped = w[:, :, ::-1, ::-1].transpose(2, 3, 0, 1).reshape(kh * kw * o, c)
        out = cols[0] @ flipped
        return out.reshape(n, x_shape[2], x_shape[3], c).transpose(0, 3, 1, 2)
    full = (dilation[0] * (kh - 1) - ph, dilation[1] * (kw - 1) - pw)
    if _depthwise(w, groups) and stride == _ONE and min(full) >= 0:
        # A full correlation of g with the flipped taps: the forward loop again.
        taps = _depthwise_taps(w)[::-1, ::-1]
        return _depthwise_correlate(g, taps, _ONE, full, dilation).transpose(0, 3, 1, 2)
    if _depthwise(w, groups):  # window rows are g times each offset's channel weights
        rows = g.transpose(0, 2, 3, 1)
        cols = rows[:, :, :, None, None, :] * _depthwise_taps(w)
        return _col2im(cols, x_shape, (kh, kw), stride, padding, dilation)
    cols = _rows(g, groups) @ _grouped_kernel(w, groups).transpose(0, 2, 1)
    if groups > 1:  # (G, rows, kh*kw*C/G) -> rows (N, OH, OW, kh, kw, C)
        cols = cols.reshape(groups, n * oh * ow, kh * kw, cg).transpose(1, 2, 0, 3)
    return _col2im(cols.reshape(n, oh, ow, kh, kw, c), x_shape, (kh, kw), stride, padding,
                   dilation)


def _conv2d_weight_grad_impl(x, g, kernel, stride, padding, dilation=_ONE, groups=1):
    if groups > 1 and g.shape[1] == groups == x.shape[1]:  # depthwise: no im2col copy
        win = _windows(x, kernel, stride, padding, dilation)
        # einsum's own loop over channels-last operands: 2.4x faster than its BLAS path here
        g_last = np.ascontiguousarray(g.transpose(0, 2, 3, 1))  # free if already so
        dw = np.einsum("nhwijc,nhwc->cij", win, g_last)
        return dw[:, None]
    cols, _ = _im2col(x, kernel, stride, padding, dilation, groups)
    dw = _rows(g, groups).transpose(0, 2, 1) @ cols          # (G, O/G, kh*kw*C/G)
    cg = x.shape[1] // groups
    return dw.reshape(g.shape[1], kernel[0], kernel[1], cg).transpose(0, 3, 1, 2)


def _conv(x, w, b=None, **p):
    if b is None:
        b = constant(np.zeros(w.shape[0], dtype=w.dtype))
    return bind_tensors(conv2d_p, (x, w, b), p)


def _bias_grad(g):
    return _sum(g, (0, 2, 3))


def _conv_input_grad(g, w, x_shape, **p):
    return bind_tensors(conv2d_input_grad_p, (g, w), {"x_shape": tuple(x_shape), **p})


def _conv_weight_grad(x, g, kernel, **p):
    return bind_tensors(conv2d_weight_grad_p, (x, g), {"kernel": tuple(kernel), **p})


conv2d_p = defop(
    "conv2d", _conv2d_impl, nin=3,
    vjp=(lambda g, ans, x, w, b, **p: _conv_input_grad(g, w, x.shape, **p),
         lambda g, ans, x, w, b, **p: _conv_weight_grad(x, g, w.shape[2:], **p),
         lambda g, ans, x, w, b, **p: _bias_grad(g)),
    jvp=(lambda t, ans, x, w, b, **p: _conv(t, w, **p),
         lambda t, ans, x, w, b, **p: _conv(x, t, **p),
         lambda t, ans, x, w, b, **p: reshape(t, (-1, 1, 1))),
    doc="Cross-correlation of NCHW x with (O, C/groups, kh, kw) w plus bias b (O,): "
        "im2col and one matrix product per group.", batch=fold_into_samples((0,)))

# <input_grad(g, w), h> = <g, conv(h, w)> and its weight derivative is weight_grad(h, g).
conv2d_input_grad_p = defop(
    "conv2d_input_grad", _conv2d_input_grad_impl, nin=2,
    vjp=(lambda h, ans, g, w, x_shape, **p: _conv(h, w, **p),
         lambda h, ans, g, w, x_shape, **p: _conv_weight_grad(h, g, w.shape[2:], **p)),
    jvp=(lambda t, ans, g, w, x_shape, **p: _conv_input_grad(t, w, x_shape, **p),
         lambda t, ans, g, w, x_shape, **p: _conv_input_grad(g, t, x_shape, **p)),
    doc="conv2d's VJP with respect to the input (col2im: a scatter-add per kernel offset); "
        "also the transposed convolution.",
    batch=fold_into_samples((0,), shape_param="x_shape"))

# <weight_grad(x, g), h> = <g, conv(x, h)>.
conv2d_weight_grad_p = defop(
    "conv2d_weight_grad", _conv2d_weight_grad_impl, nin=2,
    vjp=(lambda h, ans, x, g, kernel, **p: _conv_input_grad(g, h, x.shape, **p),
         lambda h, ans, x, g, kernel, **p: _conv(x, h, **p)),
    jvp=(lambda t, ans, x, g, kernel, **p: _conv_weight_grad(t, g, kernel, **p),
         lambda t, ans, x, g, kernel, **p: _conv_weight_grad(x, t, kernel, **p)),
    doc="conv2d's VJP with respect to the weight.", batch="loop")


def conv_params(name, stride, padding, dilation, groups):
    """Checked conv parameters as the primitives' params dict."""
    stride, padding = pair(stride, f"{name}: stride"), pair(padding, f"{name}: padding")
    dilation, groups = pair(dilation, f"{name}: dilation"), int(groups)
    if min(stride) < 1 or min(padding) < 0 or min(dilation) < 1 or groups < 1:
        raise ValueError(f"{name}: stride, dilation and groups must be >= 1 and padding >= 0, "
                         f"got stride={stride}, padding={padding}, dilation={dilation}, "
                         f"groups={groups}")
    return {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


def check_groups(name, channels, out_channels, groups):
    """Raise unless both channel counts divide into `groups` blocks."""
    if channels % groups or out_channels % groups:
        raise ValueError(f"{name}: groups={groups} must divide both the input channels "
                         f"({channels}) and the output channels ({out_channels})")


def with_batch(name, x, weight, spatial, layouts):
    """x and weight as tensors, x with a batch axis (one is added to an unbatched input),
    and whether it was added; raises naming `name` unless the ranks fit `layouts`."""
    x, weight = coerce((x, weight))
    if x.ndim not in (spatial + 1, spatial + 2) or weight.ndim != spatial + 2:
        raise ValueError(f"{name}: expected an input {layouts[0]} and a weight {layouts[1]}, "
                         f"got shapes {x.shape} and {weight.shape}")
    unbatched = x.ndim == spatial + 1
    return (expand_dims(x, 0) if unbatched else x), weight, unbatched


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation (PyTorch's conv2d): x (N, C, H, W), weight (O, C/groups, kh, kw).

    A 3-D input (C, H, W) is treated as a batch of one. `padding` is zeros on each side.
    """
    p = conv_params("conv2d", stride, padding, dilation, groups)
    x, weight, unbatched = with_batch("conv2d", x, weight, 2,
                                      ("(N, C, H, W)", "(O, C/groups, kh, kw)"))
    check_groups("conv2d", x.shape[1], weight.shape[0], p["groups"])
    if x.shape[1] != weight.shape[1] * p["groups"]:
        raise ValueError(f"conv2d: input has {x.shape[1]} channels (shape {x.shape}) but the "
                         f"weight of shape {weight.shape} with groups={p['groups']} expects "
                         f"{weight.shape[1] * p['groups']}")
    (ph, pw), (dh, dw) = p["padding"], p["dilation"]
    oh = out_size(x.shape[2], weight.shape[2], p["stride"][0], ph, dh)
    ow = out_size(x.shape[3], weight.shape[3], p["stride"][1], pw, dw)
    if oh < 1 or ow < 1:
        raise ValueError(f"conv2d: kernel {weight.shape[2:]} (dilation {p['dilation']}) is "
                         f"larger than the padded input "
                         f"{(x.shape[2] + 2 * ph, x.shape[3] + 2 * pw)}")
    if bias is not None:
        bias = as_tensor(bias)
        if bias.shape != weight.shape[:1]:
            raise ValueError(f"conv2d: bias of shape {bias.shape} does not fit a weight of "
                             f"shape {weight.shape}; expected ({weight.shape[0]},)")
    out = _conv(x, weight, bias, **p)
    return out[0] if unbatched else out


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 2-D convolution (PyTorch's conv_transpose2d): x (N, C, H, W), weight
    (C, O/groups, kh, kw); conv2d's input gradient, so the two are exact adjoints."""
    p = conv_params("conv_transpose2d", stride, padding, dilation, groups)
    op = pair(output_padding, "conv_transpose2d: output_padding")
    x, weight, unbatched = with_batch("conv_transpose2d", x, weight, 2,
                                      ("(N, C, H, W)", "(C, O/groups, kh, kw)"))
    if x.shape[1] != weight.shape[0]:
        raise ValueError(f"conv_transpose2d: input has {x.shape[1]} channels (shape "
                         f"{x.shape}) but the weight of shape {weight.shape} expects "
                         f"{weight.shape[0]}")
    check_groups("conv_transpose2d", x.shape[1], weight.shape[1] * p["groups"], p["groups"])
    if not all(0 <= o < max(s, d) for o, s, d in zip(op, p["stride"], p["dilation"])):
        raise ValueError(f"conv_transpose2d: output_padding {op} must be smaller than the "
                         f"stride {p['stride']} or the dilation {p['dilation']}")
    size = [(n - 1) * s - 2 * pd + d * (k - 1) + o + 1 for n, s, pd, d, k, o in zip(
        x.shape[2:], p["stride"], p["padding"], p["dilation"], weight.shape[2:], op)]
    if min(size) < 1:
        raise ValueError(f"conv_transpose2d: padding {p['padding']} leaves no output for an "
                         f"input of shape {x.shape} and a kernel {weight.shape[2:]}")
    out = _conv_input_grad(x, weight, (x.shape[0], weight.shape[1] * p["groups"], *size), **p)
    if bias is not None:
        out = out + reshape(as_tensor(bias), (-1, 1, 1))
    return out[0] if unbatched else out
