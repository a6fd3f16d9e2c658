"""The batch rules many primitives share (kinds) and the helpers rules are written with.

A batch rule `rule(size, op, values, batched, params)` returns op's result for a whole
batch with the batch axis first; `values` are tensors, the batched ones carrying the batch
axis at 0. A primitive names its rule where it is defined (`defop(..., batch=...)`): a
kind below, or a function written beside the op.
"""

from __future__ import annotations

import numpy as np

from ..core import bind
from .shape import concatenate, example_ndim, getitem_p, lead_ones, materialize, reshape

__all__ = ["KINDS", "elementwise_rule", "axes_rule", "loop_rule", "fold_into_samples"]


def elementwise_rule(size, op, vals, batched, params):
    """Kind "elementwise": align the examples' trailing axes and let broadcasting work."""
    rank = max(example_ndim(v, b) for v, b in zip(vals, batched))
    return bind(op, tuple(lead_ones(v, b, rank) for v, b in zip(vals, batched)), params)


def axes_rule(size, op, vals, batched, params):
    """Kind "axes": an op on one input whose `axis`/`axes` param moves past the batch axis."""
    p = dict(params)
    if "axes" in p:
        p["axes"] = tuple(a + 1 for a in p["axes"])
    if "axis" in p:
        p["axis"] = p["axis"] + 1
    return bind(op, tuple(vals), p)


def loop_rule(size, op, vals, batched, params):
    """Apply op to each example and stack the results (correct for any op, but slow)."""
    outs = []
    for i in range(size):
        row = tuple(bind(getitem_p, (v,), {"index": (i,)}) if b else v
                    for v, b in zip(vals, batched))
        out = bind(op, row, params)
        outs.append(reshape(out, (1,) + out.shape))
    return concatenate(outs, axis=0)


KINDS = {"elementwise": elementwise_rule, "axes": axes_rule, "loop": loop_rule}


def fold_into_samples(images, shape_param=None, tiled_param=None):
    """Rule for an op whose `images` inputs lead with a sample axis N (NCHW ops, losses):
    the batch is folded into N, one call on B * N samples. Other inputs must be unbatched
    (a batched weight falls back to the loop)."""
    def rule(size, op, vals, batched, params):
        if any(b for i, b in enumerate(batched) if i not in images):
            return loop_rule(size, op, vals, batched, params)
        vals = list(vals)
        for i in images:
            v = materialize(vals[i], batched[i], size)
            vals[i] = reshape(v, (v.shape[0] * v.shape[1],) + v.shape[2:])
        params = dict(params)
        if shape_param:
            shape = params[shape_param]
            params[shape_param] = (size * shape[0],) + tuple(shape[1:])
        if tiled_param:
            t = np.asarray(params[tiled_param])
            params[tiled_param] = np.broadcast_to(t, (size,) + t.shape).reshape(
                (size * t.shape[0],) + t.shape[1:])
        out = bind(op, tuple(vals), params)
        return reshape(out, (size, out.shape[0] // size) + out.shape[1:])
    return rule
