"""Reductions and their composites."""

import numpy as np

import chainrule as cr
from chainrule.ops.reduce import hit_share_p

from . import OpCase, normal, positive

_TIES = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]])

CASES = [
    OpCase("hit_share", lambda g: hit_share_p(g, _TIES, _TIES.max(axis=1), axes=(1,),
                                              keepdims=False), normal((2,)), "ties"),
    OpCase("hit_share", lambda g: hit_share_p(g, _TIES, _TIES.max(keepdims=True), axes=(0, 1),
                                              keepdims=True), normal((1, 1)), "all, keepdims"),
    OpCase("sum", lambda x: cr.sum(x, axis=1) ** 2, normal((3, 4))),
    OpCase("sum", lambda x: cr.sum(x * x, axis=(0, 2), keepdims=True), normal((2, 3, 2)),
           "keepdims"),
    OpCase("sum", lambda x: cr.mean(x, axis=0) ** 2, normal((3, 2)), "mean"),
    OpCase("sum", lambda x: cr.var(x, axis=1, ddof=1), normal((2, 4)), "var"),
    OpCase("sum", lambda x: cr.std(x), normal((5,)), "std"),
    OpCase("max", lambda x: cr.max(x, axis=1), normal((3, 4))),
    OpCase("max", lambda x: cr.max(x * x), normal((5,)), "all"),
    OpCase("min", lambda x: cr.min(x, axis=0, keepdims=True), normal((3, 4))),
    OpCase("prod", lambda x: cr.prod(x, axis=1), positive((2, 3))),
    OpCase("prod", lambda x: cr.prod(x), lambda rng: (np.array([2.0, 0.0, 3.0, 1.5]),),
           "one-zero"),
    OpCase("prod", lambda x: cr.prod(x, axis=0), lambda rng: (
        np.array([[0.0, 1.2], [0.0, 0.7], [2.0, 0.0]]),), "two-zeros"),
    OpCase("cumsum", lambda x: cr.cumsum(x, axis=1) ** 2, normal((2, 3))),
    OpCase("cumsum", lambda x: cr.cumsum(x) ** 2, normal((2, 2)), "flat"),
    OpCase("exp", lambda x: cr.logsumexp(x, axis=1), normal((2, 3)), "logsumexp"),
    OpCase("exp", lambda x: cr.softmax(x, axis=0), normal((3, 2)), "softmax"),
    OpCase("softmax", lambda x: cr.softmax(x), normal((4,))),
    OpCase("softmax", lambda x: cr.softmax(x, axis=0) * x, normal((3, 2)), "axis0"),
    OpCase("softmax", lambda x: cr.softmax(x, axis=(0, 2)), normal((2, 2, 3)), "axes"),
    OpCase("log_softmax", lambda x: cr.log_softmax(x), normal((4,))),
    OpCase("log_softmax", lambda x: cr.log_softmax(x, axis=0) * x, normal((3, 2)), "axis0"),
    OpCase("log_softmax", lambda x: cr.log_softmax(x, axis=(0, 2)), normal((2, 2, 3)), "axes"),
]
CASES += [
    OpCase("exp_shift", lambda x: cr.logsumexp(x, axis=1).sum() * cr.softmax(x, axis=0),
           normal((3, 4)), "via logsumexp and softmax"),
]
