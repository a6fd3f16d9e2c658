"""Sorting and order statistics: sort, partition, median, quantile, argmax and friends.

Gradients flow through the permutation: each output entry takes the cotangent of the
input entry it was taken from (ties: NumPy's stable order decides). The permutation is a
primitive's result (`argsort`), never read from `.data`, so these functions batch under vmap.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..core import TensorBase
from ._define import as_tensor, bind_tensors, constant, defop, normalize_axis
from ._public import public
from .elementwise import equal, floor, logical_not, maximum, minimum, where
from .elementwise_extra import isnan
from .reduce import sum as _sum
from .shape import astype, concatenate, expand_dims, moveaxis, reshape


def _arg(name, fn):
    return defop(name, fn, differentiable=False, batch="axes",
                 doc="Integer positions: not differentiable.")


argsort_p = _arg("argsort", lambda x, axis: np.argsort(x, axis=axis, kind="stable"))
argpartition_p = _arg("argpartition", lambda x, kth, axis: np.argpartition(x, kth, axis=axis))
argmax_p = _arg("argmax", lambda x, axis, keepdims: np.argmax(x, axis=axis, keepdims=keepdims))
argmin_p = _arg("argmin", lambda x, axis, keepdims: np.argmin(x, axis=axis, keepdims=keepdims))


# ----- gathering along an axis, and its transpose ---------------------------------------

def _scatter_along_axis_impl(g, idx, axis, shape):
    shape = tuple(shape)
    if idx.shape == shape:   # a permutation of every line unless a position repeats
        out = np.full(shape, np.nan, dtype=g.dtype)
        np.put_along_axis(out, idx, g, axis=axis)
        if not np.isnan(out).any():   # every position written (once): nothing to add up
            return out
    grid = list(np.ogrid[tuple(slice(n) for n in idx.shape)])
    grid[axis] = idx
    n = shape[axis] if shape else 1
    if g.dtype in (np.float32, np.float64) and idx.size and -n <= idx.min() and idx.max() < n:
        grid[axis] = idx % n   # bincount wants the flat positions nonnegative
        return _bincount_at(g, grid, shape)
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, tuple(grid), g)  # repeated positions accumulate (out of range: raises)
    return out


def _bincount_at(g, grid, shape):
    """np.add.at(zeros(shape), grid, g) for real g and positions in range, by np.bincount
    over flat positions (sums in double precision): twice as fast."""
    flat, step = 0, 1
    for k in reversed(range(len(shape))):
        flat = flat + grid[k] * step
        step *= shape[k]
    sums = np.bincount(np.broadcast_to(flat, g.shape).reshape(-1), g.reshape(-1), step)
    return sums.reshape(shape).astype(g.dtype, copy=False)


def _along_axis_batch(size, op, vals, batched, params):
    """Both the values and the positions get the batch axis in front; the axis shifts."""
    from .shape import broadcast_to
    vals = [v if b else broadcast_to(reshape(v, (1,) + v.shape), (size,) + v.shape)
            for v, b in zip(vals, batched)]
    p = {**params, "axis": params["axis"] + 1}
    if "shape" in p:
        p["shape"] = (size,) + tuple(p["shape"])
    return bind_tensors(op, tuple(vals), p)


def _take_along_axis_impl(x, idx, axis):
    # a vector (cr.sort(x), x[argsort]): plain fancy indexing, without np.take_along_axis's
    # Python (~3 us a call)
    return x[idx] if x.ndim == 1 else np.take_along_axis(x, idx, axis=axis)


take_along_axis_p = defop(
    "take_along_axis", _take_along_axis_impl, nin=2,
    vjp=(lambda g, ans, x, idx, axis: bind_tensors(
        scatter_along_axis_p, (g, idx), {"axis": axis, "shape": x.shape}),
         lambda g, ans, x, idx, axis: None),
    jvp=(lambda t, ans, x, idx, axis: bind_tensors(take_along_axis_p, (t, idx), {"axis": axis}),
         lambda t, ans, x, idx, axis: None),
    batch=_along_axis_batch, doc="x's entries at positions idx along axis (same shape else).")

scatter_along_axis_p = defop(
    "scatter_along_axis", _scatter_along_axis_impl, nin=2,
    vjp=(lambda g, ans, x, idx, axis, shape: bind_tensors(
        take_along_axis_p, (g, idx), {"axis": axis}),
         lambda g, ans, x, idx, axis, shape: None),
    jvp=(lambda t, ans, x, idx, axis, shape: bind_tensors(
        scatter_along_axis_p, (t, idx), {"axis": axis, "shape": shape}),
         lambda t, ans, x, idx, axis, shape: None),
    batch=_along_axis_batch, doc="zeros(shape) with x added at idx along axis: the VJP of "
    "take_along_axis.")


def _positions(indices) -> TensorBase:
    indices = as_tensor(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"take_along_axis: indices must be integers, got {indices.dtype}")
    return indices


@public
def take_along_axis(arr, indices, axis=-1):
    """`np.take_along_axis`, differentiable in `arr` (repeated positions accumulate)."""
    arr, indices = as_tensor(arr), _positions(indices)
    if axis is None:
        arr, axis = reshape(arr, -1), 0
    if arr.ndim != indices.ndim:
        raise ValueError(f"take_along_axis: indices of shape {indices.shape} need as many "
                         f"dims as the array of shape {arr.shape}")
    axis = normalize_axis(axis, arr.ndim, "take_along_axis")[0]
    a_shape, i_shape = arr.shape, indices.shape
    if a_shape[:axis] == i_shape[:axis] and a_shape[axis + 1:] == i_shape[axis + 1:]:
        # nothing to broadcast (the common case; np.broadcast_shapes costs ~3 us)
        return bind_tensors(take_along_axis_p, (arr, indices), {"axis": axis})
    from .shape import broadcast_to
    try:
        shape = np.broadcast_shapes(arr.shape[:axis] + (1,) + arr.shape[axis + 1:],
                                    indices.shape[:axis] + (1,) + indices.shape[axis + 1:])
    except ValueError:
        raise ValueError(f"take_along_axis: array of shape {arr.shape} and indices of shape "
                         f"{indices.shape} do not broadcast outside axis {axis}") from None
    arr = broadcast_to(arr, shape[:axis] + (arr.shape[axis],) + shape[axis + 1:])
    indices = broadcast_to(indices, shape[:axis] + (indices.shape[axis],) + shape[axis + 1:])
    return bind_tensors(take_along_axis_p, (arr, indices), {"axis": axis})


def _flat_or(x, axis, name):
    """(x, axis): the flattened tensor and 0 for axis=None, else the checked axis."""
    x = as_tensor(x)
    if axis is None:
        return reshape(x, -1), 0
    return x, normalize_axis(axis, x.ndim, name)[0]


@public
def argsort(a, axis=-1):
    """`np.argsort` (stable): integer positions, not differentiable."""
    a, axis = _flat_or(a, axis, "argsort")
    return bind_tensors(argsort_p, (a,), {"axis": axis})


@public
def sort(a, axis=-1):
    """`np.sort`; the gradient flows back through the sorting permutation."""
    a, axis = _flat_or(a, axis, "sort")
    return bind_tensors(take_along_axis_p, (a, argsort(a, axis)), {"axis": axis})


@public
def argpartition(a, kth, axis=-1):
    """`np.argpartition`: integer positions, not differentiable."""
    a, axis = _flat_or(a, axis, "argpartition")
    kth = tuple(int(k) for k in np.atleast_1d(kth)) if not isinstance(
        kth, numbers.Integral) else int(kth)
    return bind_tensors(argpartition_p, (a,), {"kth": kth, "axis": axis})


@public
def partition(a, kth, axis=-1):
    """`np.partition`; the gradient flows back through the permutation."""
    a, axis = _flat_or(a, axis, "partition")
    return bind_tensors(take_along_axis_p, (a, argpartition(a, kth, axis)), {"axis": axis})


def _arg_extreme(prim, name):
    def arg(a, axis=None, keepdims=False):
        a = as_tensor(a)
        if a.size == 0:
            raise ValueError(f"{name}: an empty tensor of shape {a.shape} has no {name[3:]}")
        if axis is None and a._trace is None:   # NumPy flattens: nothing to record
            return bind_tensors(prim, (a,), {"axis": None, "keepdims": bool(keepdims)})
        if axis is None:   # a box: flatten it by hand, so that vmap sees an axis
            out = bind_tensors(prim, (reshape(a, -1),), {"axis": 0, "keepdims": False})
            return reshape(out, (1,) * a.ndim) if keepdims else out
        axis = normalize_axis(axis, a.ndim, name)[0]
        return bind_tensors(prim, (a,), {"axis": axis, "keepdims": bool(keepdims)})
    arg.__name__ = name
    arg.__doc__ = f"`np.{name}`: integer positions, not differentiable."
    return public(arg)


argmax = _arg_extreme(argmax_p, "argmax")
argmin = _arg_extreme(argmin_p, "argmin")


# ----- order statistics --------------------------------------------------------------------

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _order_axis(a, axis, name):
    """(a, axis, kept shape): the reduced axes moved to the end and merged into one."""
    a = as_tensor(a)
    axes = normalize_axis(axis, a.ndim, name)
    kept = tuple(1 if i in axes else n for i, n in enumerate(a.shape))
    rest = tuple(i for i in range(a.ndim) if i not in axes)
    a = moveaxis(a, axes, tuple(range(len(rest), a.ndim))) if axes else a
    a = reshape(a, tuple(a.shape[i] for i in range(len(rest))) + (-1,))
    if a.shape[-1] == 0:
        raise ValueError(f"{name}: cannot take an order statistic over an empty axis "
                         f"(shape {kept})")
    return a, kept


def _pick(s, pos):
    """s[..., pos] along the last axis, pos a (non-differentiable) float tensor of ints."""
    idx = astype(expand_dims(pos, -1), np.intp)
    return reshape(bind_tensors(take_along_axis_p, (s, idx), {"axis": s.ndim - 1}), pos.shape)


def _lerp(a, b, t):
    """NumPy's linear interpolation a + (b - a) t, taken from b's side where t >= 0.5."""
    d = b - a
    return where(t >= 0.5, b - d * (1 - t), a + d * t)


def _quantile_last(s, count, q, method):
    """The q-quantile of the sorted last axis of s, whose first `count` entries are valid."""
    last = maximum(count - 1, 0)
    pos = q * (count - 1)
    lo = minimum(maximum(floor(pos), 0), last)
    hi = minimum(lo + 1, last)
    if method == "lower":
        return _pick(s, lo)
    if method == "higher":
        return _pick(s, where(equal(pos, lo), lo, hi))
    if method == "nearest":
        frac = pos - lo
        # NumPy rounds half to even positions.
        up = where(equal(frac, 0.5), equal(lo - 2 * floor(lo / 2), 1), frac > 0.5)
        return _pick(s, where(up, hi, lo))
    a, b = _pick(s, lo), _pick(s, hi)
    if method == "midpoint":
        return where(equal(pos, lo), a, _lerp(a, b, 0.5))
    return _lerp(a, b, pos - lo)


def _order_statistic(a, q, axis, keepdims, method, name, skip_nan, stat):
    if method not in _METHODS:
        raise ValueError(f"{name}: method={method!r} is not supported; use one of {_METHODS}")
    a = as_tensor(a)
    ndim = a.ndim
    flat, kept = _order_axis(a, axis, name)
    nan = isnan(flat)
    if skip_nan:
        count = _sum(logical_not(nan), -1).astype(flat.dtype)
    else:
        count = constant(np.full(flat.shape[:-1], flat.shape[-1], flat.dtype))
    s = sort(flat, -1)
    q = np.asarray(q, dtype=flat.dtype)
    if np.any((q < 0) | (q > 1)):
        raise ValueError(f"{name}: quantiles must lie in [0, 1] (percentiles in [0, 100]), "
                         f"got {q.tolist()}")
    outs = [stat(s, count, float(qi), method) for qi in q.ravel()]
    # A slice with NaN (or, skipping NaN, with nothing else) has a NaN statistic, as NumPy.
    bad = equal(count, 0) if skip_nan else _sum(nan, -1) > 0
    outs = [where(bad, np.nan, o) for o in outs]
    shape = kept if keepdims else tuple(n for i, n in enumerate(kept)
                                        if i not in normalize_axis(axis, ndim, name))
    outs = [reshape(o, shape) for o in outs]
    if q.ndim == 0:
        return outs[0]
    stacked = concatenate([expand_dims(o, 0) for o in outs], axis=0)
    return reshape(stacked, q.shape + shape)


def _quantile_fn(name, scale, skip_nan, doc):
    def fn(a, q, axis=None, keepdims=False, method="linear"):
        out = _order_statistic(a, np.asarray(q, float) / scale, axis, keepdims, method, name,
                               skip_nan, _quantile_last)
        if type(q) in (int, float) or method in ("lower", "higher", "nearest"):
            return out   # NumPy: a picked entry, or a weak Python q, keeps a's dtype
        return astype(out, np.result_type(out.dtype, np.asarray(q).dtype))
    fn.__name__, fn.__doc__ = name, doc
    return public(fn)


def _median_last(s, count, q, method):
    lo = maximum(floor((count - 1) / 2), 0)
    hi = maximum(floor(count / 2), 0)
    return (_pick(s, lo) + _pick(s, hi)) / 2


def _median_fn(name, skip_nan, doc):
    def fn(a, axis=None, keepdims=False):
        return _order_statistic(a, 0.5, axis, keepdims, "linear", name, skip_nan,
                                _median_last)
    fn.__name__, fn.__doc__ = name, doc
    return public(fn)


quantile = _quantile_fn("quantile", 1, False, "`np.quantile`; the gradient flows to the "
                        "(one or two) entries interpolated.")
percentile = _quantile_fn("percentile", 100, False, "`np.percentile` (q in [0, 100]).")
nanquantile = _quantile_fn("nanquantile", 1, True, "`np.nanquantile`: NaN entries ignored.")
nanpercentile = _quantile_fn("nanpercentile", 100, True,
                             "`np.nanpercentile`: NaN entries ignored.")
median = _median_fn("median", False, "`np.median`: the middle entry, or the mean of the two "
                    "middle ones.")
nanmedian = _median_fn("nanmedian", True, "`np.nanmedian`: NaN entries ignored.")


__all__ = ["argmax", "argmin", "argpartition", "argsort",
           "median", "nanmedian", "nanpercentile", "nanquantile", "partition",
           "percentile", "quantile", "sort", "take_along_axis"]
