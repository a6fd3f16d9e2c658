"""NumPy's NaN-ignoring reductions: nansum, nanmean, nanmax, nanmin, nanprod, nanvar,
nanstd, nancumsum, nancumprod, nanargmax, nanargmin (nanmedian and nanquantile live with
the order statistics in sorting.py).

Each replaces the NaN entries by the reduction's neutral value with `where`, so NaN
entries get gradient 0 and the others the gradient of the plain reduction.
"""

from __future__ import annotations

import numpy as np

from ..core import is_mapped
from ._define import as_tensor, normalize_axis
from ._public import public
from .arrays import cumprod
from .elementwise import equal, logical_not, where
from .elementwise_extra import isnan
from .reduce import cumsum, max, min, prod, spread_root
from .reduce import sum as _sum
from .sorting import argmax, argmin


def _filled(a, value):
    a = as_tensor(a)
    return where(isnan(a), value, a) if a.dtype.kind == "f" else a


def _count(a, axis, keepdims):
    return _sum(logical_not(isnan(a)), axis, keepdims).astype(
        a.dtype if a.dtype.kind == "f" else np.float64)


@public
def nansum(a, axis=None, keepdims=False):
    """`np.nansum`: NaN counts as 0."""
    return _sum(_filled(a, 0.0), axis, keepdims)


@public
def nanprod(a, axis=None, keepdims=False):
    """`np.nanprod`: NaN counts as 1."""
    return prod(_filled(a, 1.0), axis, keepdims)


@public
def nanmean(a, axis=None, keepdims=False):
    """`np.nanmean`: the mean of the entries that are not NaN (NaN if there are none)."""
    a = as_tensor(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        return nansum(a, axis, keepdims) / _count(a, axis, keepdims)


@public
def nanvar(a, axis=None, ddof=0, keepdims=False):
    """`np.nanvar` with `ddof`."""
    a = as_tensor(a)
    centered = _filled(a - nanmean(a, axis, keepdims=True), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _sum(centered * centered, axis, keepdims) / (_count(a, axis, keepdims) - ddof)


@public
def nanstd(a, axis=None, ddof=0, keepdims=False):
    """`np.nanstd` with `ddof`; derivative 0 where the spread is zero (as `std`)."""
    return spread_root(nanvar(a, axis, ddof, keepdims))


def _nan_extreme(reduce, fill, name):
    def fn(a, axis=None, keepdims=False):
        a = as_tensor(a)
        out = reduce(_filled(a, fill), axis, keepdims)
        if a.dtype.kind != "f":
            return out
        # A slice of NaN only gives NaN (NumPy also warns).
        return where(equal(_count(a, axis, keepdims), 0), np.nan, out)
    fn.__name__, fn.__doc__ = name, f"`np.{name}`: NaN entries are ignored; ties split."
    return public(fn)


nanmax = _nan_extreme(max, -np.inf, "nanmax")
nanmin = _nan_extreme(min, np.inf, "nanmin")


@public
def nancumsum(a, axis=None):
    """`np.nancumsum`: NaN counts as 0."""
    return cumsum(_filled(a, 0.0), axis)


@public
def nancumprod(a, axis=None):
    """`np.nancumprod`: NaN counts as 1."""
    return cumprod(_filled(a, 1.0), axis)


def _nan_arg(arg, fill, name):
    def fn(a, axis=None, keepdims=False):
        a = as_tensor(a)
        if a.dtype.kind == "f" and not is_mapped(a):
            nan = np.isnan(a.data)
            axes = normalize_axis(axis, a.ndim, name)
            if a.size and np.any(np.all(nan, axis=axes)):
                raise ValueError(f"{name}: a slice of shape {a.shape} (axis={axis}) holds "
                                 "only NaN, so it has no position to return")
        return arg(_filled(a, fill), axis, keepdims)
    fn.__name__, fn.__doc__ = name, f"`np.{name}`: positions ignoring NaN (not differentiable)."
    return public(fn)


nanargmax = _nan_arg(argmax, -np.inf, "nanargmax")
nanargmin = _nan_arg(argmin, np.inf, "nanargmin")
