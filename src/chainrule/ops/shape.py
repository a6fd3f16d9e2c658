"""Shape primitives (reshape, transpose, broadcast, index, concatenate, pad) and composites."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..core import TensorBase, bind, check_concrete, is_mapped
from ._define import (
    EMPTY,
    as_tensor,
    axis_index,
    bind_tensors,
    coerce,
    constant,
    defop,
    normalize_axis,
)


class Variadic:
    """Per-input rules for an op with any number of inputs: rule(i, g, ans, *inputs)."""

    def __init__(self, rule):
        self.rule = rule

    def __getitem__(self, i):
        rule = self.rule
        return lambda g, ans, *xs, **params: rule(i, g, ans, *xs, **params)


def _sum_to_impl(x, shape):
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1)
    y = np.add.reduce(x, axis=axes, keepdims=True) if axes else x  # no x.sum wrapper
    return y.reshape(shape) if lead or y.shape != shape else y


# ----- batching helpers (vmap rules are written with them) ------------------------------

def example_ndim(v, batched) -> int:
    """Rank of one example of v (a batched value has the batch axis in front)."""
    return v.ndim - 1 if batched else v.ndim


def lead_ones(v, batched, rank):
    """Batched v reshaped to (B, 1, ..., 1, *example shape) of example rank `rank`."""
    if not batched or v.ndim - 1 >= rank:
        return v
    return reshape(v, (v.shape[0],) + (1,) * (rank - v.ndim + 1) + v.shape[1:])


def materialize(v, batched, size):
    """v with a batch axis in front, broadcast if it had none."""
    if batched:
        return v
    return broadcast_to(reshape(v, (1,) + v.shape), (size,) + v.shape)


def _sum_to_batch(size, op, vals, batched, params):
    v, shape = vals[0], tuple(params["shape"])
    padded = (1,) * (v.ndim - 1 - len(shape)) + shape
    out = bind(op, (v,), {"shape": (size,) + padded})
    return reshape(out, (size,) + shape)


def _broadcast_to_batch(size, op, vals, batched, params):
    shape = tuple(params["shape"])
    return bind(op, (lead_ones(vals[0], True, len(shape)),), {"shape": (size,) + shape})


sum_to_p = defop(
    "sum_to", _sum_to_impl,
    vjp=lambda g, ans, x, shape: broadcast_to(g, x.shape),
    linear=True, doc="Sum a broadcast result back down to `shape` (the inverse of broadcasting).",
    batch=_sum_to_batch)

broadcast_to_p = defop(
    "broadcast_to", lambda x, shape: np.broadcast_to(x, shape),
    vjp=lambda g, ans, x, shape: sum_to(g, x.shape), linear=True, batch=_broadcast_to_batch)


def sum_to(x: TensorBase, shape: tuple) -> TensorBase:
    """Reduce `x` to `shape` by summing the axes broadcasting added; every binary rule uses it."""
    if x.shape == shape:
        return x
    return bind_tensors(sum_to_p, (x,), {"shape": tuple(shape)})


def broadcast_to(x, shape) -> TensorBase:
    """`np.broadcast_to`, differentiable."""
    x = as_tensor(x)
    shape = (shape,) if type(shape) is int or isinstance(shape, numbers.Integral) else tuple(shape)
    if x.shape == shape:
        return x
    return bind_tensors(broadcast_to_p, (x,), {"shape": shape})


def _reshape_batch(size, op, vals, batched, params):
    return bind(op, (vals[0],), {**params, "shape": (size,) + tuple(params["shape"])})


reshape_p = defop(
    "reshape", lambda x, shape: x.reshape(shape),
    # x.shape is a checked shape of g's size: bound directly, not through reshape's checks
    vjp=lambda g, ans, x, shape: bind_tensors(reshape_p, (g,), {"shape": x.shape}),
    linear=True, batch=_reshape_batch)


def reshape(x, *shape) -> TensorBase:
    """`np.reshape`; the shape may be given as a tuple or as separate ints, one may be -1."""
    x = as_tensor(x)
    if len(shape) == 1 and type(shape[0]) is not int and \
            not isinstance(shape[0], numbers.Integral):
        shape = shape[0]
    if type(shape) is not tuple or not all(type(n) is int for n in shape):
        shape = tuple(map(int, shape))   # NumPy integers, lists: plain ints
    if shape == x.shape:
        return x
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or x.size % known:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} entries) into {shape}")
        shape = tuple(x.size // known if s == -1 else s for s in shape)
    if math.prod(shape) != x.size:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                         f"({x.size} entries) into {shape}")
    return bind_tensors(reshape_p, (x,), {"shape": shape})


def _transpose_batch(size, op, vals, batched, params):
    return bind(op, (vals[0],), {"axes": (0,) + tuple(a + 1 for a in params["axes"])})


def _inverse(axes: tuple) -> tuple:
    """The permutation that undoes `axes` (np.argsort of a tuple costs ~3 us)."""
    inv = [0] * len(axes)
    for i, a in enumerate(axes):
        inv[a] = i
    return tuple(inv)


transpose_p = defop(
    # the method, not np.transpose: no fromnumeric wrapper (~0.7 us a call)
    "transpose", lambda x, axes: x.transpose(axes),
    vjp=lambda g, ans, x, axes: bind_tensors(transpose_p, (g,), {"axes": _inverse(axes)}),
    linear=True, batch=_transpose_batch)


def permute(x: TensorBase, axes: tuple) -> TensorBase:
    """`x` transposed by `axes`, a checked permutation of non-negative ints (rules' path)."""
    if axes == tuple(range(x.ndim)):
        return x
    return bind_tensors(transpose_p, (x,), {"axes": axes})


def transpose(x, *axes, **kwargs) -> TensorBase:
    """`np.transpose` (axes as a tuple, separate ints or `axes=`); no axes reverses them."""
    x = as_tensor(x)
    if not axes and not kwargs:  # x.T, cr.transpose(x): the common call, nothing to check
        return permute(x, tuple(range(x.ndim - 1, -1, -1)))
    if kwargs:
        if set(kwargs) != {"axes"} or axes:
            raise TypeError(f"transpose: unexpected arguments {sorted(kwargs)}; give the axes "
                            "once, as axes=(...) or positionally")
        axes = (kwargs["axes"],)
    if len(axes) == 1 and (axes[0] is None or type(axes[0]) is not int and
                           not isinstance(axes[0], numbers.Integral)):
        axes = axes[0]
    axes = tuple(reversed(range(x.ndim))) if axes in (None, ()) else tuple(
        axis_index(a, x.ndim, "transpose") for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of a tensor of "
                         f"{x.ndim} dims (shape {x.shape})")
    return permute(x, axes)


def swapaxes(x, axis1: int, axis2: int) -> TensorBase:
    """`np.swapaxes`."""
    x = as_tensor(x)
    axes = list(range(x.ndim))
    axis1, axis2 = axis_index(axis1, x.ndim, "swapaxes"), axis_index(axis2, x.ndim, "swapaxes")
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return permute(x, tuple(axes))


def moveaxis(x, source, destination) -> TensorBase:
    """`np.moveaxis`."""
    x = as_tensor(x)
    src = [axis_index(int(s), x.ndim, "moveaxis") for s in np.atleast_1d(source)]
    dst = [axis_index(int(d), x.ndim, "moveaxis") for d in np.atleast_1d(destination)]
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination need the same number of axes")
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(x, tuple(order))


def expand_dims(x, axis) -> TensorBase:
    """`np.expand_dims`; `axis` may be a tuple."""
    x = as_tensor(x)
    axes = (axis,) if type(axis) is int or isinstance(axis, numbers.Integral) else tuple(axis)
    out_ndim = x.ndim + len(axes)
    axes = normalize_axis(axes, out_ndim, "expand_dims")
    shape, it = [], iter(x.shape)
    for i in range(out_ndim):
        shape.append(1 if i in axes else next(it))
    return _same_size(x, tuple(shape))


def _same_size(x: TensorBase, shape: tuple) -> TensorBase:
    """x reshaped to `shape`, known to hold as many entries (no checks needed)."""
    return x if shape == x.shape else bind_tensors(reshape_p, (x,), {"shape": shape})


def squeeze(x, axis=None) -> TensorBase:
    """`np.squeeze`; squeezing an axis whose length is not 1 is an error."""
    x = as_tensor(x)
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = normalize_axis(axis, x.ndim, "squeeze")
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {x.shape} has length "
                                 f"{x.shape[a]}, not 1")
    return _same_size(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


# ----- indexing -------------------------------------------------------------------------

# Basic indices (x[3], x[1:5], x[:, None], x[..., 0]) are passed to NumPy as they are.
_BASIC = frozenset((int, slice, type(None), type(Ellipsis)))


def _normalize_index(index, shape):
    """Index with tensors/lists made ndarrays and bool masks made integer arrays."""
    if not isinstance(index, tuple):
        index = (index,)
    if all(type(item) in _BASIC for item in index):
        return index   # the common case, nothing to convert (the loop below costs ~2 us)
    out = []
    dim = 0
    for item in index:
        if isinstance(item, TensorBase):
            if is_mapped(item):  # one index per example: not one shape
                raise IndexError("index: an index or mask computed from values mapped "
                                 "by vmap differs per example (a data-dependent shape); "
                                 "use cr.where instead")
            if item.dtype == bool:  # a mask's nonzero entries set the result's shape
                check_concrete(item, "a boolean mask index")
            item = item.data
        elif isinstance(item, list):
            item = np.asarray(item)
        if isinstance(item, np.ndarray) and item.dtype == bool:
            if Ellipsis not in out and item.shape != shape[dim:dim + item.ndim]:
                raise IndexError(f"index: a boolean mask of shape {item.shape} does not match "
                                 f"the indexed axes {shape[dim:dim + item.ndim]} of a tensor of "
                                 f"shape {shape}")
            out.extend(np.nonzero(item))
            dim += item.ndim
            continue
        if isinstance(item, np.ndarray) and not np.issubdtype(item.dtype, np.integer):
            raise IndexError(f"index: arrays used as indices must be integer or bool, "
                             f"got {item.dtype}")
        out.append(item)
        if item is not None and item is not Ellipsis:
            dim += 1
    return tuple(out)


def _is_advanced(index) -> bool:
    return any(isinstance(i, np.ndarray) for i in index)


def _scatter_add_impl(g, index, shape):
    if _rows_of(index, shape) and g.dtype in (np.float32, np.float64):
        return _add_rows(g, index[0], shape)
    out = np.zeros(shape, dtype=g.dtype)
    if _is_advanced(index):
        np.add.at(out, index, g)  # repeated indices accumulate
    else:
        out[index] = g
    return out


def _rows_of(index, shape) -> bool:
    """True for x[rows] (an embedding lookup): one integer array, in range, picking rows of
    at least 8 entries (below that np.add.at is as fast)."""
    rows = index[0]
    return (isinstance(rows, np.ndarray) and rows.size > 0 and len(shape) > 1
            and all(isinstance(i, slice) and i == slice(None) for i in index[1:])
            and math.prod(shape[1:]) >= 8 and rows.size >= shape[0] and -shape[0] <= rows.min()
            and rows.max() < shape[0])


def _add_rows(g, rows, shape):
    """np.add.at(zeros(shape), rows, g) by np.bincount over flat positions (sums in double
    precision): 1.5-3.5x faster for rows of many entries."""
    width = math.prod(shape[1:])
    flat = (rows % shape[0]).reshape(-1, 1) * width + np.arange(width)
    sums = np.bincount(flat.reshape(-1), g.reshape(-1), shape[0] * width)
    return sums.reshape(shape).astype(g.dtype, copy=False)


def _advanced_split(index) -> bool:
    """True when NumPy moves advanced-index axes to the front (they are not adjacent)."""
    if not _is_advanced(index):
        return False
    where = [k for k, i in enumerate(index)
             if isinstance(i, (np.ndarray, numbers.Integral)) and not isinstance(i, bool)]
    return where[-1] - where[0] + 1 != len(where)


def _advanced_ndim(index) -> int:
    return len(np.broadcast_shapes(*[np.shape(i) for i in index
                                     if isinstance(i, (np.ndarray, numbers.Integral))]))


def _getitem_batch(size, op, vals, batched, params):
    index = params["index"]
    out = bind(op, (vals[0],), {"index": (slice(None),) + tuple(index)})
    if _advanced_split(index):  # NumPy put the indexed axes before the batch axis
        out = moveaxis(out, _advanced_ndim(index), 0)
    return out


def _scatter_add_batch(size, op, vals, batched, params):
    index, g = params["index"], vals[0]
    if _advanced_split(index):
        g = moveaxis(g, 0, _advanced_ndim(index))
    return bind(op, (g,), {"index": (slice(None),) + tuple(index),
                           "shape": (size,) + tuple(params["shape"])})


getitem_p = defop(
    "getitem", lambda x, index: x[index],
    vjp=lambda g, ans, x, index: bind_tensors(
        scatter_add_p, (g,), {"index": index, "shape": x.shape}),
    linear=True, doc="Indexing x[index]: ints, slices, None, Ellipsis, masks, int arrays.",
    batch=_getitem_batch)

scatter_add_p = defop(
    "scatter_add", _scatter_add_impl,
    vjp=lambda g, ans, x, index, shape: bind_tensors(getitem_p, (g,), {"index": index}),
    linear=True, doc="zeros(shape) with x added at index (repeats accumulate): getitem's VJP.",
    batch=_scatter_add_batch)


def getitem(x, index) -> TensorBase:
    """`x[index]`, differentiable; repeated integer indices accumulate in the gradient."""
    x = as_tensor(x)
    return bind_tensors(getitem_p, (x,), {"index": _normalize_index(index, x.shape)})


def take(a, indices, axis=None) -> TensorBase:
    """`np.take`."""
    a = as_tensor(a)
    indices = np.asarray(indices)
    if axis is None:
        return getitem(reshape(a, -1), indices)
    axis = normalize_axis(axis, a.ndim, "take")[0]
    return getitem(a, (slice(None),) * axis + (indices,))


def flip(x, axis=None) -> TensorBase:
    """`np.flip`."""
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim, "flip")
    return _sliced(x, tuple(slice(None, None, -1) if i in axes else slice(None)
                            for i in range(x.ndim)))


def _sliced(x: TensorBase, index: tuple) -> TensorBase:
    """x[index] for a basic index of slices (nothing to convert or check)."""
    return bind_tensors(getitem_p, (x,), {"index": index})


# ----- joining and padding ----------------------------------------------------------------

def _concat_vjp(i, g, ans, *xs, axis):
    start = sum(x.shape[axis] for x in xs[:i])
    return _sliced(g, (slice(None),) * axis + (slice(start, start + xs[i].shape[axis]),))


def _concat_jvp(tangents, ans, *xs, axis):
    parts = [t if t is not None else constant(np.zeros(x.shape, x.dtype))
             for t, x in zip(tangents, xs)]
    return bind_tensors(concatenate_p, tuple(parts), {"axis": axis})


def _concatenate_batch(size, op, vals, batched, params):
    vals = tuple(materialize(v, b, size) for v, b in zip(vals, batched))
    return bind(op, vals, {"axis": params["axis"] + 1})


concatenate_p = defop(
    "concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis),
    vjp=Variadic(_concat_vjp), jvp_joint=_concat_jvp, nin=2, batch=_concatenate_batch)


def concatenate(xs, axis=0) -> TensorBase:
    """`np.concatenate` of a sequence of tensors."""
    xs = coerce(tuple(xs))
    if not xs:
        raise ValueError("concatenate: need at least one tensor")
    if axis is None:  # NumPy's meaning: the inputs flattened, then joined
        xs, axis = tuple(reshape(x, -1) for x in xs), 0
    ndim = xs[0].ndim
    if any(x.ndim != ndim for x in xs):
        raise ValueError("concatenate: all inputs need the same number of dims, got shapes "
                         + ", ".join(str(x.shape) for x in xs))
    if ndim == 0:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated; "
                         "use cr.stack")
    return bind_tensors(concatenate_p, xs, {"axis": axis_index(axis, ndim, "concatenate")})


def stack(xs, axis=0) -> TensorBase:
    """`np.stack`."""
    xs = coerce(tuple(xs))
    if not xs:
        raise ValueError("stack: need at least one tensor")
    shape = xs[0].shape
    if any(x.shape != shape for x in xs):
        raise ValueError("stack: all inputs need the same shape, got "
                         + ", ".join(str(x.shape) for x in xs))
    axis = axis_index(axis, len(shape) + 1, "stack")
    # one new shape for all, bound directly (expand_dims and concatenate check each again)
    params = {"shape": shape[:axis] + (1,) + shape[axis:]}
    rows = tuple(bind_tensors(reshape_p, (x,), params) for x in xs)
    return bind_tensors(concatenate_p, rows, {"axis": axis})


def split(x, indices_or_sections, axis=0) -> list:
    """`np.split`: a list of tensors."""
    x = as_tensor(x)
    axis = normalize_axis(axis, x.ndim, "split")[0]
    n = x.shape[axis]
    if isinstance(indices_or_sections, numbers.Integral):
        sections = int(indices_or_sections)
        if sections <= 0 or n % sections:
            raise ValueError(f"split: axis {axis} of length {n} does not divide into "
                             f"{indices_or_sections} equal sections")
        bounds = [i * (n // sections) for i in range(sections + 1)]  # also for n == 0
    else:
        bounds = [0, *indices_or_sections, n]
    lead = (slice(None),) * axis
    return [_sliced(x, lead + (slice(a, b),)) for a, b in zip(bounds[:-1], bounds[1:])]


def _pad_vjp(g, ans, x, pad_width, constant_values):
    return _sliced(g, tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape)))


def _pad_batch(size, op, vals, batched, params):
    return bind(op, (vals[0],), {**params, "pad_width": ((0, 0),) + tuple(params["pad_width"])})


def _pad_impl(x, pad_width, constant_values):
    if type(constant_values) in (int, float) and x.dtype.kind in "fc":
        # x written into an empty array, then only the borders filled (np.pad's own
        # Python costs ~10 us a call)
        out = np.empty(tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, pad_width)), x.dtype)
        out[tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))] = x
        for axis, ((lo, _), n) in enumerate(zip(pad_width, x.shape)):
            before = (slice(None),) * axis
            out[before + (slice(0, lo),)] = constant_values
            out[before + (slice(lo + n, None),)] = constant_values
        return out
    return np.pad(x, pad_width, mode="constant", constant_values=constant_values)


pad_p = defop(
    "pad", _pad_impl,
    vjp=_pad_vjp,
    jvp=lambda t, ans, x, pad_width, constant_values: bind_tensors(
        pad_p, (t,), {"pad_width": pad_width, "constant_values": 0}), batch=_pad_batch)


def _is_pair(p) -> bool:
    return type(p) in (tuple, list) and len(p) == 2 and type(p[0]) is int and type(p[1]) is int


def _pad_widths(pad_width, ndim: int) -> tuple:
    """np.pad's widths as one (before, after) pair of ints per axis."""
    # an int, or a pair per axis: no array round trip (~5 us a call)
    if type(pad_width) is int:
        return ((pad_width, pad_width),) * ndim
    if type(pad_width) in (tuple, list) and len(pad_width) == ndim and \
            all(_is_pair(p) for p in pad_width):
        return tuple((lo, hi) for lo, hi in pad_width)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (ndim, 2))
    return tuple((int(lo), int(hi)) for lo, hi in widths)


def pad(x, pad_width, mode="constant", constant_values=0) -> TensorBase:
    """`np.pad` in constant mode (the padding is a constant, so no gradient flows to it)."""
    x = as_tensor(x)
    if mode != "constant":
        raise NotImplementedError(f"pad: mode={mode!r} is not differentiable here; "
                                  "only mode='constant' is supported")
    widths = _pad_widths(pad_width, x.ndim)
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        raise ValueError(f"pad: widths must be >= 0, got {pad_width}")
    return bind_tensors(pad_p, (x,), {"pad_width": widths, "constant_values": constant_values})


identity_p = defop("identity", lambda x: x, vjp=lambda g, ans, x: g, linear=True,
                   doc="The identity: gives a transform a fresh node to differentiate by.",
                   batch="elementwise")

stop_gradient_p = defop("stop_gradient", lambda x: x, differentiable=False,
                        doc="Value of x, derivative zero in every mode.", batch="elementwise")


def stop_gradient(x) -> TensorBase:
    """The value of `x` treated as a constant by every transform."""
    return bind_tensors(stop_gradient_p, (as_tensor(x),), EMPTY)


cast_p = defop(
    "cast", lambda x, dtype: (x.real if x.dtype.kind == "c" and np.dtype(dtype).kind != "c"
                              else x).astype(dtype),
    vjp=lambda g, ans, x, dtype: bind_tensors(cast_p, (g,), {"dtype": x.dtype}), linear=True,
    batch="elementwise")


def astype(x, dtype) -> TensorBase:
    """`x.astype(dtype)`; casting to a float or complex dtype keeps the gradient (complex to
    real keeps the real part)."""
    x = as_tensor(x)
    dtype = np.dtype(dtype)
    if dtype == x.dtype:
        return x
    if dtype.kind not in "fc":
        x = stop_gradient(x)  # an integer or bool result carries no derivative
    return bind_tensors(cast_p, (x,), {"dtype": dtype})
