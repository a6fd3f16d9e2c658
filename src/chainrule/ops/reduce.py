"""Reductions (sum, prod, max, min, cumsum) and their composites (mean, var, std, logsumexp)."""

from __future__ import annotations

import math

import numpy as np

from ..core import ground, is_concrete
from ._define import as_tensor, axis_index, bind_tensors, constant, defop, normalize_axis
from .elementwise import conj, equal, exp, log, real, sqrt, where
from .shape import astype, broadcast_to, flip, materialize, reshape, transpose


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _kept(v, x, axes, keepdims):
    """A reduced value with its reduced axes kept (length 1), to broadcast against x."""
    return v if keepdims else reshape(v, _kept_shape(x.shape, axes))


def _unreduce(g, x, axes, keepdims):
    """Broadcast a reduced cotangent back over the reduced axes of x."""
    return broadcast_to(_kept(g, x, axes, keepdims), x.shape)


sum_p = defop(
    # np.add.reduce is what np.sum calls, without np.sum's Python wrapper (~0.9 us a call)
    "sum", lambda x, axes, keepdims: np.add.reduce(x, axis=axes, keepdims=keepdims),
    vjp=lambda g, ans, x, axes, keepdims: _unreduce(g, x, axes, keepdims), linear=True,
    batch="axes")


def sum(x, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """`np.sum`."""
    x = as_tensor(x)
    return bind_tensors(sum_p, (x,), {"axes": normalize_axis(axis, x.ndim, "sum"),
                                      "keepdims": bool(keepdims)})


def _count(x, axes):
    return math.prod(x.shape[a] for a in axes)


def mean(x, axis=None, keepdims=False):
    """`np.mean`."""
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim, "mean")
    return sum(x, axes, keepdims) / _count(x, axes)


def var(x, axis=None, ddof=0, keepdims=False):
    """`np.var` with `ddof`."""
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim, "var")
    n = _count(x, axes)
    if n - ddof <= 0:
        raise ValueError(f"var: ddof={ddof} leaves no degrees of freedom over {n} entries")
    centered = x - mean(x, axes, keepdims=True)
    if x.dtype.kind == "c":   # NumPy: the mean of |x - mean|^2, a real number
        return sum(real(centered * conj(centered)), axes, keepdims) / (n - ddof)
    return sum(centered * centered, axes, keepdims) / (n - ddof)


def std(x, axis=None, ddof=0, keepdims=False):
    """`np.std` with `ddof`; where the spread is zero its derivative is taken as 0."""
    return spread_root(var(x, axis, ddof, keepdims))


def spread_root(v):
    """sqrt of a variance, with derivative 0 where the variance is 0.

    sqrt'(0) is infinite and the variance's derivative is 0 there: their product would be
    0 * inf = nan. Where v is 0 (always so over one entry) the double `where` gives 0 at
    every order (for several equal entries: the subgradient of least norm, as `norm`'s).
    """
    if v._trace is None and v.data.all():
        return sqrt(v)   # concrete and nowhere 0: the guard is not needed
    flat = equal(v, 0)
    return where(flat, 0.0, sqrt(where(flat, 1.0, v)))


# ----- max / min: ties share the gradient evenly ----------------------------------------

def _hits_and_counts(x, ans, axes, keepdims, dtype):
    """Where x attains its extremum (a bool mask) and how many times, in `dtype` (the
    dtype of what is shared: no float64 for float32 values)."""
    hit = equal(x, _kept(ans, x, axes, keepdims))
    if hit._trace is None and len(axes) == x.ndim:   # a count is 10x faster than a sum
        return hit, constant(np.full((1,) * x.ndim, np.count_nonzero(hit.data), dtype))
    return hit, astype(sum(hit, axes, keepdims=True), dtype)


def _hit_share_impl(g, x, ans, axes, keepdims):
    # The cotangent shared out on the small reduced shape, then one masked multiply: three
    # passes over x (compare, count, multiply), as a hand-written rule does.
    # (methods and ufuncs, not np.reshape / np.sum: their Python wrappers cost ~1 us each)
    kept = _kept_shape(x.shape, axes)
    hit = np.equal(x, ans if keepdims else np.asarray(ans).reshape(kept))
    if len(axes) == x.ndim:   # a count is 10x faster than a sum of the mask
        count = np.asarray(np.count_nonzero(hit), g.dtype)
    else:
        count = np.add.reduce(hit, axis=axes, keepdims=True, dtype=g.dtype)
    share = (g if keepdims else np.asarray(g).reshape(kept)) / count
    return np.multiply(hit, share)


def _hit_share_batch(size, op, vals, batched, params):
    vals = tuple(materialize(v, b, size) for v, b in zip(vals, batched))
    return bind_tensors(op, vals, {**params, "axes": tuple(a + 1 for a in params["axes"])})


def _no_slope(*args, **params):
    return None   # piecewise constant in where the extremum is


# g shared evenly among the entries of x that equal the extremum ans along axes: max's and
# min's derivative product in one op (it was six: compare, count, reshape, divide,
# broadcast, multiply). Linear in g; its transpose is the mean over the hits.
hit_share_p = defop(
    "hit_share", _hit_share_impl, nin=3, batch=_hit_share_batch,
    vjp=(lambda c, out, g, x, ans, axes, keepdims: _extremum_jvp(c, ans, x, axes, keepdims),
         _no_slope, _no_slope),
    jvp=(lambda t, out, g, x, ans, axes, keepdims: _extremum_vjp(t, ans, x, axes, keepdims),
         _no_slope, _no_slope),
    doc="g / (number of hits) where x equals the extremum ans along axes, else 0.")


def _extremum_vjp(g, ans, x, axes, keepdims):
    return bind_tensors(hit_share_p, (g, x, ans), {"axes": axes, "keepdims": keepdims})


def _extremum_jvp(t, ans, x, axes, keepdims):
    hit, count = _hits_and_counts(x, ans, axes, keepdims, t.dtype)
    out = sum(t * hit, axes, keepdims=True) / count
    return out if keepdims else reshape(out, ans.shape)


def _extremum(name, fn):
    prim = defop(
        name, lambda x, axes, keepdims: fn(x, axis=axes, keepdims=keepdims),
        vjp=_extremum_vjp, jvp=_extremum_jvp, batch="axes")

    def reduce(x, axis=None, keepdims=False):
        x = as_tensor(x)
        if x.size == 0:
            raise ValueError(f"{name}: cannot reduce an empty tensor of shape {x.shape}")
        return bind_tensors(prim, (x,), {"axes": normalize_axis(axis, x.ndim, name),
                                         "keepdims": bool(keepdims)})

    reduce.__name__ = name
    reduce.__doc__ = f"`np.{name}`; tied extremes split the gradient evenly."
    return prim, reduce


# np.maximum.reduce is what np.max calls, without its Python wrapper (as sum's impl)
max_p, max = _extremum("max", np.maximum.reduce)  # noqa: A001
min_p, min = _extremum("min", np.minimum.reduce)  # noqa: A001


# ----- prod: exact with zeros ------------------------------------------------------------

def _nowhere_zero(x, ans):
    """True when x is concrete and has no 0, read off its products (a 0 entry makes its
    product 0 or NaN; a product that underflows or overflows takes the exact path too):
    the product of the others is then ans / x."""
    if not is_concrete(x):   # jit: the path exact for all
        return False
    products = ground(ans).data
    return bool(products.all() and np.isfinite(products).all())


def _prod_of_others(x, axes):
    """For each entry, the product of the other entries along `axes` (exact with zeros)."""
    moved = reshape(_move_to_end(x, axes), (-1, _count(x, axes)))
    n = moved.shape[-1]
    eye = constant(np.eye(n, dtype=bool))
    # Row i of the (n, n) block holds the entries with entry i replaced by 1.
    tiled = where(eye, 1.0, reshape(moved, (moved.shape[0], 1, n)))
    others = prod(tiled, axis=-1)
    kept = tuple(x.shape[a] for a in range(x.ndim) if a not in axes) + tuple(
        x.shape[a] for a in axes)
    return _move_back(reshape(others, kept), axes, x.ndim)


def _prod_vjp(g, ans, x, axes, keepdims):
    if _nowhere_zero(x, ans):   # g * ans on the reduced shape, then one pass over x
        return _kept(g * ans, x, axes, keepdims) / x   # the divide broadcasts it
    return _unreduce(g, x, axes, keepdims) * _prod_of_others(x, axes)


def _prod_jvp(t, ans, x, axes, keepdims):
    if _nowhere_zero(x, ans):
        return sum(t / x, axes, keepdims) * ans
    return sum(t * _prod_of_others(x, axes), axes, keepdims)


def _move_to_end(x, axes):
    rest = tuple(a for a in range(x.ndim) if a not in axes)
    return transpose(x, rest + tuple(axes))


def _move_back(x, axes, ndim):
    rest = tuple(a for a in range(ndim) if a not in axes)
    order = rest + tuple(axes)
    return transpose(x, tuple(np.argsort(order)))


prod_p = defop(
    "prod", lambda x, axes, keepdims: np.multiply.reduce(x, axis=axes, keepdims=keepdims),
    vjp=_prod_vjp, jvp=_prod_jvp, batch="axes")


def prod(x, axis=None, keepdims=False):
    """`np.prod`; its gradient is exact where entries are zero."""
    x = as_tensor(x)
    return bind_tensors(prod_p, (x,), {"axes": normalize_axis(axis, x.ndim, "prod"),
                                       "keepdims": bool(keepdims)})


# ----- cumulative sum ---------------------------------------------------------------------

cumsum_p = defop(
    "cumsum", lambda x, axis: np.cumsum(x, axis=axis),
    vjp=lambda g, ans, x, axis: flip(cumsum(flip(g, axis), axis), axis), linear=True, batch="axes")


def cumsum(x, axis=None):
    """`np.cumsum`; axis=None works on the flattened tensor."""
    x = as_tensor(x)
    if axis is None:
        x, axis = reshape(x, -1), 0
    return bind_tensors(cumsum_p, (x,), {"axis": axis_index(axis, x.ndim, "cumsum")})


# ----- stable composites ------------------------------------------------------------------

def _finite_max(x, axes):
    if not x.size:
        return np.zeros(_kept_shape(x.shape, axes), x.dtype)
    m = np.maximum.reduce(x, axis=axes, keepdims=True)   # np.max without its wrapper
    finite = np.isfinite(m)
    return m if finite.all() else np.where(finite, m, np.zeros((), x.dtype))


# The shift that keeps exp() in range: a constant, so its derivative contributions
# cancel exactly (hence not differentiable); one NumPy pass instead of max + where.
exp_shift = defop("exp_shift", _finite_max, differentiable=False, batch="axes",
                  doc="max over `axes` (kept as size-1 axes), 0 where it is not finite.")


def softmax_cotangent(c, p, axes):
    """p * (c - sum(c * p)) over `axes`: the cotangent of softmax's input from that of its
    output p (and, the Jacobian being symmetric, the tangent of p from the input's)."""
    return p * (c - sum(c * p, axes, keepdims=True))


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) shifted by the max, so it is finite for inputs like +-1000."""
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim, "logsumexp")
    shift = bind_tensors(exp_shift, (x,), {"axes": axes})
    out = log(sum(exp(x - shift), axes, keepdims=True)) + shift
    return out if keepdims else reshape(out, tuple(
        n for i, n in enumerate(x.shape) if i not in axes))
