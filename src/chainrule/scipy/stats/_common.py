"""What the distributions share: standardizing by loc/scale, support masks, exp and log."""

from __future__ import annotations

import numpy as np

from ...ops._define import coerce
from ...ops.elementwise import exp, log, where


def standardize(x, loc, scale):
    """((x - loc) / scale, log(scale)) as tensors of one dtype."""
    x, loc, scale = coerce((x, loc, scale))
    return (x - loc) / scale, log(scale)


def on_support(inside, z, safe, fn, outside):
    """fn(z) where `inside`, `outside` elsewhere; z is replaced by `safe` outside first so
    that no inf or nan from the unused branch reaches the gradient (the double where)."""
    z_safe = where(inside, z, safe)
    return where(inside, fn(z_safe), outside)


def exp_of(logfn, name):
    """The density from the log-density."""
    def fn(*args, **kwargs):
        return exp(logfn(*args, **kwargs))
    fn.__name__ = name
    fn.__doc__ = f"exp({logfn.__name__}): SciPy's {name}."
    return fn


def log_of(fn, name):
    """log of a distribution function."""
    def logfn(*args, **kwargs):
        value = fn(*args, **kwargs)
        return on_support(value > 0, value, 1.0, log, NEG_INF)   # log 0 = -inf, no warning
    logfn.__name__ = name
    logfn.__doc__ = f"log({fn.__name__}): SciPy's {name}."
    return logfn


LOG_2PI = float(np.log(2 * np.pi))
NEG_INF = -np.inf
