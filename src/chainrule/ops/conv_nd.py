"""1-D and 3-D convolutions and the 1-D transposed one, as compositions of the 2-D family.

A 1-D signal (N, C, L) is an image (N, C, 1, L). A 3-D convolution is a sum over the
kernel's depth taps of 2-D convolutions: depth tap i sees the depth slices i*dilation,
i*dilation + stride, ... of the padded volume, folded into the sample axis, so each tap is
one conv2d call (one im2col and product) and no new primitive is needed.
"""

from __future__ import annotations

from ._define import as_tensor
from .conv import conv2d, conv_transpose2d, with_batch
from .shape import expand_dims, getitem, pad, reshape, squeeze, transpose

__all__ = ["conv1d", "conv3d", "conv_transpose1d", "single", "triple"]


def single(v, name="value") -> int:
    """An int or a 1-tuple of an int as an int."""
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ValueError(f"{name}: expected an int or a 1-tuple, got {v!r}")
        return int(v[0])
    return int(v)


def triple(v, name="value") -> tuple:
    """An int or a triple of ints as a triple of ints."""
    if isinstance(v, (tuple, list)):
        if len(v) != 3:
            raise ValueError(f"{name}: expected an int or a triple of ints, got {v!r}")
        return tuple(int(a) for a in v)
    return (int(v),) * 3


def _check_channels(name, x, weight, groups, transposed=False):
    """Raise naming `name` unless x's channels fit the weight's layout."""
    want = weight.shape[0] if transposed else weight.shape[1] * int(groups)
    if x.shape[1] != want:
        raise ValueError(f"{name}: input has {x.shape[1]} channels (shape {x.shape}) but the "
                         f"weight of shape {weight.shape} with groups={groups} expects {want}")


def _as_image(name, x, weight, groups, transposed=False):
    """x and weight with a unit height axis; whether x came without a batch axis."""
    layout = "(C, O/groups, k)" if transposed else "(O, C/groups, k)"
    x, weight, unbatched = with_batch(name, x, weight, 1, ("(N, C, L)", layout))
    _check_channels(name, x, weight, groups, transposed)
    return expand_dims(x, 2), expand_dims(weight, 2), unbatched


def _signal(out, unbatched):
    out = squeeze(out, 2)
    return out[0] if unbatched else out


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation (PyTorch's conv1d): x (N, C, L), weight (O, C/groups, k)."""
    x, weight, unbatched = _as_image("conv1d", x, weight, groups)
    out = conv2d(x, weight, bias, (1, single(stride, "conv1d: stride")),
                 (0, single(padding, "conv1d: padding")),
                 (1, single(dilation, "conv1d: dilation")), groups)
    return _signal(out, unbatched)


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 1-D convolution (PyTorch's conv_transpose1d): weight (C, O/groups, k)."""
    x, weight, unbatched = _as_image("conv_transpose1d", x, weight, groups, True)
    out = conv_transpose2d(
        x, weight, bias, (1, single(stride, "conv_transpose1d: stride")),
        (0, single(padding, "conv_transpose1d: padding")),
        (0, single(output_padding, "conv_transpose1d: output_padding")), groups,
        (1, single(dilation, "conv_transpose1d: dilation")))
    return _signal(out, unbatched)


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D cross-correlation (PyTorch's conv3d): x (N, C, D, H, W), weight
    (O, C/groups, kd, kh, kw); one conv2d per depth tap of the kernel."""
    (sd, *s2), (pd, *p2) = triple(stride, "conv3d: stride"), triple(padding, "conv3d: padding")
    (dd, *d2) = triple(dilation, "conv3d: dilation")
    x, weight, unbatched = with_batch("conv3d", x, weight, 3,
                                      ("(N, C, D, H, W)", "(O, C/groups, kd, kh, kw)"))
    _check_channels("conv3d", x, weight, groups)
    if min(sd, dd) < 1 or pd < 0:
        raise ValueError(f"conv3d: stride and dilation must be >= 1 and padding >= 0, got "
                         f"{stride}, {dilation}, {padding}")
    n, c, depth = x.shape[:3]
    kd = weight.shape[2]
    od = (depth + 2 * pd - dd * (kd - 1) - 1) // sd + 1
    if od < 1:
        raise ValueError(f"conv3d: kernel depth {kd} (dilation {dd}) is larger than the "
                         f"padded input depth {depth + 2 * pd}")
    if pd:
        x = pad(x, ((0, 0), (0, 0), (pd, pd), (0, 0), (0, 0)))
    out = None
    for i in range(kd):
        taps = getitem(x, (slice(None), slice(None), slice(i * dd, i * dd + sd * (od - 1) + 1,
                                                            sd)))
        taps = reshape(transpose(taps, (0, 2, 1, 3, 4)), (n * od, c) + tuple(x.shape[3:]))
        term = conv2d(taps, getitem(weight, (slice(None), slice(None), i)), None,
                      tuple(s2), tuple(p2), tuple(d2), groups)
        out = term if out is None else out + term
    out = transpose(reshape(out, (n, od) + tuple(out.shape[1:])), (0, 2, 1, 3, 4))
    if bias is not None:
        out = out + reshape(as_tensor(bias), (-1, 1, 1, 1))
    return out[0] if unbatched else out
