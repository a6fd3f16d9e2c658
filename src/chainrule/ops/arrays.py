"""NumPy's array functions built from the shape primitives: joining, splitting, flipping,
rolling, repeating, diagonals, triangles, products (kron, inner, cross), differences,
`select`, `cumprod` and `linspace` with differentiable endpoints.

Every function here is a composition of primitives, so it is differentiable in both modes to
any order and batches under vmap with no rule of its own.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._define import as_tensor, bind_tensors, coerce, constant, defop, normalize_axis
from ._public import public
from .elementwise import not_equal, where
from .linalg import tensordot
from .reduce import cumsum, mean
from .reduce import max as _max
from .reduce import min as _min
from .reduce import sum as _sum
from .scan import cumprod_p
from .shape import (
    astype,
    broadcast_to,
    concatenate,
    expand_dims,
    flip,
    getitem,
    moveaxis,
    pad,
    reshape,
    scatter_add_p,
    split,
    stack,
    swapaxes,
    take,
    transpose,
)


@public
def ravel(a):
    """`np.ravel`."""
    return reshape(as_tensor(a), -1)


def _at_least(ndim, place, doc):
    def fn(*arys):
        outs = []
        for a in arys:
            a = as_tensor(a)
            outs.append(a if a.ndim >= ndim else reshape(a, place(a.shape)))
        return outs[0] if len(outs) == 1 else outs
    fn.__name__, fn.__doc__ = f"atleast_{ndim}d", doc
    return public(fn)


atleast_1d = _at_least(1, lambda s: (1,) * (1 - len(s)) + s, "`np.atleast_1d`.")
atleast_2d = _at_least(2, lambda s: (1,) * (2 - len(s)) + s, "`np.atleast_2d`: (n,) -> (1, n).")
atleast_3d = _at_least(3, lambda s: {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[len(s)],
                       "`np.atleast_3d`: (n,) -> (1, n, 1).")


def _each(tup, fn, name):
    if isinstance(tup, (list, tuple)):
        return [fn(a) for a in tup]
    tup = as_tensor(tup)
    if tup.ndim == 0:
        raise ValueError(f"{name}: needs a sequence of tensors, got a 0-d tensor")
    return [fn(a) for a in tup]  # an array: its rows, as NumPy


@public
def vstack(tup):
    """`np.vstack`: rows of at least 2-d tensors."""
    return concatenate(_each(tup, atleast_2d, "vstack"), axis=0)


@public
def hstack(tup):
    """`np.hstack`: along axis 1 (axis 0 for 1-d tensors)."""
    xs = _each(tup, atleast_1d, "hstack")
    return concatenate(xs, axis=0 if xs and xs[0].ndim == 1 else 1)


@public
def dstack(tup):
    """`np.dstack`: along axis 2 of at least 3-d tensors."""
    return concatenate(_each(tup, atleast_3d, "dstack"), axis=2)


@public
def column_stack(tup):
    """`np.column_stack`: 1-d tensors become columns."""
    xs = _each(tup, as_tensor, "column_stack")
    return concatenate([reshape(x, (-1, 1)) if x.ndim < 2 else x for x in xs], axis=1)


@public
def append(arr, values, axis=None):
    """`np.append`: flattened when axis is None."""
    arr, values = coerce((arr, values))
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], axis=0)
    return concatenate([arr, values], axis=axis)


@public
def array_split(ary, indices_or_sections, axis=0):
    """`np.array_split`: like split, but sections may differ in length by one."""
    ary = as_tensor(ary)
    if not isinstance(indices_or_sections, numbers.Integral):
        return split(ary, indices_or_sections, axis)
    sections = int(indices_or_sections)
    if sections <= 0:
        raise ValueError(f"array_split: the number of sections must be > 0, got {sections}")
    if ary.ndim == 0:
        raise ValueError("array_split: cannot split a 0-d tensor")
    n = ary.shape[normalize_axis(axis, ary.ndim, "array_split")[0]]
    size, extra = divmod(n, sections)
    bounds = np.cumsum([0] + extra * [size + 1] + (sections - extra) * [size])
    return split(ary, [int(b) for b in bounds[1:-1]], axis)


def _split_along(name, axis_of):
    def fn(ary, indices_or_sections):
        ary = as_tensor(ary)
        axis = axis_of(ary.ndim)
        if ary.ndim <= axis or (name == "hsplit" and ary.ndim == 0):
            raise ValueError(f"{name}: needs a tensor of at least {axis + 1} dims, got shape "
                             f"{ary.shape}")
        return split(ary, indices_or_sections, axis)
    fn.__name__, fn.__doc__ = name, f"`np.{name}`."
    return public(fn)


vsplit = _split_along("vsplit", lambda ndim: 0 if ndim >= 2 else 2)
hsplit = _split_along("hsplit", lambda ndim: 1 if ndim > 1 else 0)
dsplit = _split_along("dsplit", lambda ndim: 2 if ndim >= 3 else 3)


@public
def flipud(m):
    """`np.flipud`: reverse axis 0."""
    return flip(m, 0)


@public
def fliplr(m):
    """`np.fliplr`: reverse axis 1."""
    m = as_tensor(m)
    if m.ndim < 2:
        raise ValueError(f"fliplr: needs a tensor of at least 2 dims, got shape {m.shape}")
    return flip(m, 1)


@public
def rot90(m, k=1, axes=(0, 1)):
    """`np.rot90`: rotate by 90 degrees k times in the plane of `axes`."""
    m = as_tensor(m)
    a, b = normalize_axis(axes[0], m.ndim, "rot90")[0], normalize_axis(axes[1], m.ndim,
                                                                         "rot90")[0]
    if a == b:
        raise ValueError(f"rot90: axes must differ, got {axes}")
    k %= 4
    if k == 2:
        return flip(flip(m, a), b)
    if k == 1:
        return swapaxes(flip(m, b), a, b)
    if k == 3:
        return flip(swapaxes(m, a, b), b)
    return m


@public
def roll(a, shift, axis=None):
    """`np.roll`: entries pushed off one end come back at the other."""
    a = as_tensor(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), a.shape)
    shifts, axes = np.broadcast_arrays(np.atleast_1d(shift), np.atleast_1d(axis))
    total = {}
    for s, ax in zip(shifts.tolist(), axes.tolist()):
        ax = normalize_axis(ax, a.ndim, "roll")[0]
        total[ax] = total.get(ax, 0) + s
    for ax, s in total.items():
        n = a.shape[ax]
        s = s % n if n else 0
        if s:
            lead = (slice(None),) * ax
            a = concatenate([getitem(a, lead + (slice(n - s, n),)),
                             getitem(a, lead + (slice(0, n - s),))], axis=ax)
    return a


@public
def repeat(a, repeats, axis=None):
    """`np.repeat`: each entry repeated (the gradient sums over the copies)."""
    a = as_tensor(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = normalize_axis(axis, a.ndim, "repeat")[0]
    positions = np.repeat(np.arange(a.shape[axis]), repeats)
    return take(a, positions, axis=axis)


@public
def tile(A, reps):
    """`np.tile`: A repeated along each axis."""
    A = as_tensor(A)
    reps = (int(reps),) if isinstance(reps, numbers.Integral) else tuple(int(r) for r in reps)
    d = max(len(reps), A.ndim)
    shape = (1,) * (d - A.ndim) + A.shape
    reps = (1,) * (d - len(reps)) + reps
    # (1, s0, 1, s1, ...) broadcast to (r0, s0, r1, s1, ...): entry (i, j) is A[j].
    inter = tuple(x for s in shape for x in (1, s))
    wide = tuple(x for r, s in zip(reps, shape) for x in (r, s))
    out = broadcast_to(reshape(A, inter), wide)
    return reshape(out, tuple(r * s for r, s in zip(reps, shape)))


def _diagonal_positions(n1, n2, k):
    length = max(0, min(n1, n2 - k) if k >= 0 else min(n1 + k, n2))
    i = np.arange(length)
    return (i, i + k) if k >= 0 else (i - k, i)


@public
def diagonal(a, offset=0, axis1=0, axis2=1):
    """`np.diagonal`: the diagonal becomes the last axis."""
    a = as_tensor(a)
    if a.ndim < 2:
        raise ValueError(f"diagonal: needs a tensor of at least 2 dims, got shape {a.shape}")
    axes = normalize_axis((axis1, axis2), a.ndim, "diagonal")
    a = moveaxis(a, (axis1, axis2), (-2, -1)) if len(axes) == 2 else a
    rows, cols = _diagonal_positions(a.shape[-2], a.shape[-1], int(offset))
    return getitem(a, (Ellipsis, rows, cols))


@public
def diag(v, k=0):
    """`np.diag`: the k-th diagonal of a matrix, or a matrix with v on its k-th diagonal."""
    v = as_tensor(v)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"diag: needs a 1-d or 2-d tensor, got shape {v.shape}")
    n = v.shape[0] + abs(int(k))
    rows, cols = _diagonal_positions(n, n, int(k))
    return bind_tensors(scatter_add_p, (v,), {"index": (rows, cols), "shape": (n, n)})


@public
def diagflat(v, k=0):
    """`np.diagflat`: the flattened input on the k-th diagonal."""
    return diag(ravel(v), k)


@public
def trace(a, offset=0, axis1=0, axis2=1):
    """`np.trace`: the sum along a diagonal."""
    return _sum(diagonal(a, offset, axis1, axis2), axis=-1)


def _triangle(m, keep):
    m = as_tensor(m)
    if m.ndim < 1:
        raise ValueError("tril/triu: needs a tensor of at least 1 dim, got a 0-d one")
    n, k = (m.shape[-2], m.shape[-1]) if m.ndim >= 2 else (m.shape[-1], m.shape[-1])
    return where(constant(keep(n, k)), m, 0.0)


@public
def tril(m, k=0):
    """`np.tril`: zeros above the k-th diagonal."""
    return _triangle(m, lambda n, c: np.tri(n, c, k, dtype=bool))


@public
def triu(m, k=0):
    """`np.triu`: zeros below the k-th diagonal."""
    return _triangle(m, lambda n, c: ~np.tri(n, c, k - 1, dtype=bool))


@public
def kron(a, b):
    """`np.kron`: the Kronecker product."""
    a, b = coerce((a, b))
    d = max(a.ndim, b.ndim)
    sa, sb = (1,) * (d - a.ndim) + a.shape, (1,) * (d - b.ndim) + b.shape
    a = reshape(a, tuple(x for s in sa for x in (s, 1)))
    b = reshape(b, tuple(x for s in sb for x in (1, s)))
    return reshape(a * b, tuple(p * q for p, q in zip(sa, sb)))


@public
def inner(a, b):
    """`np.inner`: sums over the last axes of both."""
    a, b = coerce((a, b))
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"inner: the last axes of {a.shape} and {b.shape} differ in length")
    return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 1]))


@public
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """`np.cross` of 3-vectors (or 2-vectors, whose result is the z component)."""
    a, b = coerce((a, b))
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        raise ValueError(f"cross: vectors must have 2 or 3 components, got shapes {a.shape} "
                         f"and {b.shape} (axisa={axisa}, axisb={axisb})")
    a0, a1, b0, b1 = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    z = a0 * b1 - a1 * b0
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        return z
    a2 = a[..., 2] if a.shape[-1] == 3 else None
    b2 = b[..., 2] if b.shape[-1] == 3 else None
    x = (a1 * b2 if b2 is not None else 0.0) - (a2 * b1 if a2 is not None else 0.0)
    y = (a2 * b0 if a2 is not None else 0.0) - (a0 * b2 if b2 is not None else 0.0)
    parts = [x, y, z]
    shape = np.broadcast_shapes(*[np.shape(p) for p in parts])
    c = stack([broadcast_to(as_tensor(p, like=z), shape) for p in parts], axis=-1)
    return moveaxis(c, -1, axisc)


def _edge(x, a, axis):
    """prepend/append of np.diff: a scalar is broadcast to one slice along axis."""
    x = as_tensor(x)   # NumPy's dtype: a Python float is float64 here
    if x.ndim == 0:
        shape = list(a.shape)
        shape[axis] = 1
        return broadcast_to(x, tuple(shape))
    return x


@public
def diff(a, n=1, axis=-1, prepend=None, append=None):
    """`np.diff`: the n-th forward difference along axis."""
    a = as_tensor(a)
    if a.ndim == 0:
        raise ValueError("diff: needs a tensor of at least 1 dim, got a 0-d one")
    axis = normalize_axis(axis, a.ndim, "diff")[0]
    if n < 0:
        raise ValueError(f"diff: order n must be non-negative, got {n}")
    parts = [a]
    if prepend is not None:
        parts.insert(0, _edge(prepend, a, axis))
    if append is not None:
        parts.append(_edge(append, a, axis))
    if len(parts) > 1:
        a = concatenate(parts, axis=axis)
    lead = (slice(None),) * axis
    for _ in range(n):
        a = getitem(a, lead + (slice(1, None),)) - getitem(a, lead + (slice(None, -1),))
    return a


@public
def ediff1d(ary, to_end=None, to_begin=None):
    """`np.ediff1d`: differences of the flattened tensor, with optional ends."""
    parts = [diff(ravel(ary))]
    if to_begin is not None:
        parts.insert(0, ravel(as_tensor(to_begin, like=parts[0])))
    if to_end is not None:
        parts.append(ravel(as_tensor(to_end, like=parts[0])))
    return concatenate(parts, axis=0) if len(parts) > 1 else parts[0]


@public
def select(condlist, choicelist, default=0):
    """`np.select`: the first true condition picks its choice; the gradient goes to it."""
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: {len(condlist)} conditions but {len(choicelist)} choices")
    if not condlist:
        raise ValueError("select: needs at least one condition")
    choices = coerce(tuple(choicelist) + (default,))
    out = choices[-1]
    for cond, choice in zip(reversed(condlist), reversed(choices[:-1])):
        out = where(cond, choice, out)
    return out


@public
def cumprod(a, axis=None):
    """`np.cumprod`; its derivatives are exact where entries are 0."""
    a = as_tensor(a)
    if axis is None:
        a, axis = ravel(a), 0
    return bind_tensors(cumprod_p, (a,), {"axis": normalize_axis(axis, a.ndim, "cumprod")[0]})


@public
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`np.linspace` whose result is differentiable in `start` and `stop`."""
    start, stop = coerce((start, stop))
    if num < 0:
        raise ValueError(f"linspace: number of samples must be non-negative, got {num}")
    div = num - 1 if endpoint else num
    delta = stop - start
    shape = np.broadcast_shapes(start.shape, stop.shape)
    dtype_of_steps = np.result_type(start.dtype, stop.dtype, float(num))  # NumPy's choice
    steps = constant(np.arange(num, dtype=dtype_of_steps).reshape((-1,) + (1,) * len(shape)))
    if div > 0:
        step = delta / div
        y = steps * step + start
    else:
        step = constant(np.full(delta.shape, np.nan, delta.dtype))
        y = steps * delta + start
    if endpoint and num > 1:   # NumPy sets the last sample to stop exactly
        last = constant((np.arange(num) == num - 1).reshape((-1,) + (1,) * len(shape)))
        y = where(last, stop, y)
    if dtype is not None:
        y = astype(y, dtype)
    if axis != 0:
        y = moveaxis(y, 0, axis)
    return (y, step) if retstep else y


# ----- NumPy 2 names and other small composites ---------------------------------------------

@public
def concat(arrays, axis=0):
    """`np.concat`: `concatenate` with the array-API name."""
    return concatenate(arrays, axis)


@public
def amax(a, axis=None, keepdims=False):
    """`np.amax`: `max`."""
    return _max(a, axis, keepdims)


@public
def amin(a, axis=None, keepdims=False):
    """`np.amin`: `min`."""
    return _min(a, axis, keepdims)


@public
def permute_dims(a, axes=None):
    """`np.permute_dims`: `transpose` with the array-API name."""
    return transpose(a, axes)


@public
def matrix_transpose(x):
    """`np.matrix_transpose`: swap the last two axes."""
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose: needs at least 2 dims, got shape {x.shape}")
    return swapaxes(x, -1, -2)


@public
def unstack(x, axis=0):
    """`np.unstack`: the slices along axis, as a tuple."""
    x = as_tensor(x)
    axis = normalize_axis(axis, x.ndim, "unstack")[0]
    lead = (slice(None),) * axis
    return tuple(getitem(x, lead + (i,)) for i in range(x.shape[axis]))


@public
def vecdot(x1, x2, axis=-1):
    """`np.vecdot` of real vectors: the sum of products along axis."""
    x1, x2 = coerce((x1, x2))
    return _sum(x1 * x2, axis=axis)


@public
def matvec(x1, x2):
    """`np.matvec`: matrix (..., m, n) times vector (..., n)."""
    x1, x2 = coerce((x1, x2))
    return reshape_last(x1 @ expand_dims(x2, -1))


@public
def vecmat(x1, x2):
    """`np.vecmat` of real operands: vector (..., m) times matrix (..., m, n)."""
    x1, x2 = coerce((x1, x2))
    return reshape_last(swapaxes(x2, -1, -2) @ expand_dims(x1, -1))


def reshape_last(x):
    """x without its trailing axis of length 1."""
    return reshape(x, x.shape[:-1])


@public
def ptp(a, axis=None, keepdims=False):
    """`np.ptp`: max - min (tied extremes split the gradient)."""
    a = as_tensor(a)
    return _max(a, axis, keepdims) - _min(a, axis, keepdims)


@public
def average(a, axis=None, weights=None, returned=False, keepdims=False):
    """`np.average`: differentiable in `a` and in `weights`."""
    a = as_tensor(a)
    if weights is None:
        total = mean(a, axis, keepdims)
        count = as_tensor(np.asarray(a.size / total.size if total.size else 0, a.dtype))
        return (total, broadcast_to(count, total.shape)) if returned else total
    a, w = coerce((a, weights))
    if w.shape != a.shape:
        if axis is None or w.ndim != 1:
            raise ValueError(f"average: weights of shape {w.shape} differ from the data's "
                             f"{a.shape}; 1-d weights need an axis")
        ax = normalize_axis(axis, a.ndim, "average")[0]
        if w.shape[0] != a.shape[ax]:
            raise ValueError(f"average: {w.shape[0]} weights for axis {ax} of length "
                             f"{a.shape[ax]}")
        w = reshape(w, tuple(-1 if i == ax else 1 for i in range(a.ndim)))
        w = broadcast_to(w, a.shape)
    scale = _sum(w, axis, keepdims)
    out = _sum(a * w, axis, keepdims) / scale
    return (out, broadcast_to(scale, out.shape)) if returned else out


def _cumulative(scan, name, initial):
    def fn(x, axis=None, dtype=None, include_initial=False):
        x = as_tensor(x)
        if axis is None:
            if x.ndim > 1:
                raise ValueError(f"{name}: axis is needed for a tensor of {x.ndim} dims")
            axis = 0
        axis = normalize_axis(axis, x.ndim, name)[0]
        out = scan(x if dtype is None else astype(x, dtype), axis)
        if include_initial:
            widths = [(0, 0)] * x.ndim
            widths[axis] = (1, 0)
            out = pad(out, widths, constant_values=initial)
        return out
    fn.__name__, fn.__doc__ = name, f"`np.{name}` (NumPy 2)."
    return public(fn)


cumulative_sum = _cumulative(cumsum, "cumulative_sum", 0)
cumulative_prod = _cumulative(cumprod, "cumulative_prod", 1)


@public
def gradient(f, *varargs, axis=None, edge_order=1):
    """`np.gradient` with uniform spacing: central differences inside, one-sided at the
    edges (edge_order 1 or 2); a list of tensors for several axes."""
    f = as_tensor(f)
    axes = normalize_axis(axis, f.ndim, "gradient")
    spacing = list(varargs) if varargs else [1.0]
    if len(spacing) == 1:
        spacing = spacing * len(axes)
    if len(spacing) != len(axes) or any(np.ndim(h) for h in spacing):
        raise ValueError("gradient: give one scalar spacing, or one per axis (coordinate "
                         "arrays are not supported)")
    if edge_order not in (1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order}")
    outs = []
    for ax, h in zip(axes, spacing):
        n = f.shape[ax]
        if n < edge_order + 1:
            raise ValueError(f"gradient: axis {ax} of length {n} is too short for "
                             f"edge_order={edge_order}")
        lead = (slice(None),) * ax

        def part(start, stop, ax=ax, lead=lead):
            return getitem(f, lead + (slice(start, stop),))
        inner = (part(2, None) - part(0, -2)) / (2.0 * h)
        if edge_order == 1:
            first = (part(1, 2) - part(0, 1)) / h
            last = (part(-1, None) - part(-2, -1)) / h
        else:
            first = (-1.5 * part(0, 1) + 2.0 * part(1, 2) - 0.5 * part(2, 3)) / h
            last = (0.5 * part(-3, -2) - 2.0 * part(-2, -1) + 1.5 * part(-1, None)) / h
        outs.append(concatenate([first, inner, last], axis=ax))
    return outs[0] if len(outs) == 1 else outs


@public
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """`np.trapezoid`: the trapezoidal rule, differentiable in y and in x."""
    y = as_tensor(y)
    axis = normalize_axis(axis, y.ndim, "trapezoid")[0]
    lead = (slice(None),) * axis
    pairs = getitem(y, lead + (slice(1, None),)) + getitem(y, lead + (slice(None, -1),))
    if x is None:
        return _sum(pairs * dx, axis=axis) / 2.0
    x = as_tensor(x)
    d = diff(x, axis=-1 if x.ndim == 1 else axis)
    if x.ndim == 1:
        d = reshape(d, tuple(-1 if i == axis else 1 for i in range(y.ndim)))
    return _sum(pairs * d, axis=axis) / 2.0


@public
def meshgrid(*xi, indexing="xy", sparse=False, copy=True):
    """`np.meshgrid`: coordinate tensors, differentiable in the 1-d inputs."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    xs = [ravel(x) for x in xi]
    n = len(xs)
    shapes = [tuple(-1 if i == k else 1 for i in range(n)) for k in range(n)]
    if indexing == "xy" and n > 1:
        shapes[0], shapes[1] = ((1, -1) + (1,) * (n - 2), (-1, 1) + (1,) * (n - 2))
    grids = [reshape(x, s) for x, s in zip(xs, shapes)]
    if sparse:
        return grids
    full = np.broadcast_shapes(*[g.shape for g in grids])
    return [broadcast_to(g, full) for g in grids]


def _truth(name, fn):
    prim = defop(name, lambda x, axes, keepdims: fn(x, axis=axes, keepdims=keepdims),
                 differentiable=False, batch="axes", doc="A truth value: not differentiable.")

    def reduce(a, axis=None, keepdims=False):
        a = as_tensor(a)
        return bind_tensors(prim, (a,), {"axes": normalize_axis(axis, a.ndim, name),
                                         "keepdims": bool(keepdims)})
    reduce.__name__, reduce.__doc__ = name, f"`np.{name}`: a bool tensor, not differentiable."
    return prim, public(reduce)


# Exported as cr.all and cr.any; the trailing _ keeps Python's builtins usable here.
all_p, all_ = _truth("all", np.all)
any_p, any_ = _truth("any", np.any)


@public
def count_nonzero(a, axis=None, keepdims=False):
    """`np.count_nonzero`: an integer tensor, not differentiable."""
    a = as_tensor(a)
    return _sum(not_equal(a, 0), axis, keepdims)
