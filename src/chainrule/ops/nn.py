"""Stable composites used by neural networks: softmax and log_softmax."""

from __future__ import annotations

from ._define import as_tensor, normalize_axis
from .elementwise import exp, log
from .reduce import shifted, sum


def log_softmax(x, axis=-1):
    """(x - max) - log(sum(exp(x - max))): the shift is never added back, so no precision
    is lost to it (log_softmax([1e16, 1e16]) is [-log 2, -log 2])."""
    x = as_tensor(x)
    z = shifted(x, normalize_axis(axis, x.ndim, "log_softmax"))
    return z - log(sum(exp(z), axis, keepdims=True))


def softmax(x, axis=-1):
    """exp(x - max) / sum(exp(x - max)): sums to 1 along `axis`, finite for any input."""
    x = as_tensor(x)
    e = exp(shifted(x, normalize_axis(axis, x.ndim, "softmax")))
    return e / sum(e, axis, keepdims=True)
