"""Stable composites used by neural networks: softmax and log_softmax."""

from __future__ import annotations

from ._define import as_tensor
from .elementwise import exp
from .reduce import logsumexp


def log_softmax(x, axis=-1):
    """x - logsumexp(x): finite for inputs like +-1000."""
    x = as_tensor(x)
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x, axis=-1):
    """exp(log_softmax(x)): sums to 1 along `axis`, finite for inputs like +-1000."""
    return exp(log_softmax(x, axis))
