"""Batching (`vmap`): run a function once on a whole batch, each op told how to carry the axis.

A batch box holds the batched value in `_inner` with the batch axis in front, the batch
size in `_aux`, and presents one example's view as `.data` (op wrappers read `x.shape`).
A box with `_aux` None was lifted into the trace without a batch axis (a constant that
a nested transform made a variable of). Each primitive's batch rule is keyed by name in
`BATCH_RULES`; a primitive without one is looped over the batch and stacked (correct, slow).
Rules are written with chainrule ops, so batched values may themselves be boxes of
lower-level transforms (Jacobians of Jacobians, Hessians).
"""

from __future__ import annotations

import numbers
import string

import numpy as np

from ..core import PRIMITIVES, TensorBase, Trace, active, bind, new_box, new_level
from ..ops._define import as_tensor
from ..ops.shape import broadcast_to, concatenate, moveaxis, reshape, swapaxes

__all__ = ["BatchTrace", "BATCH_RULES", "vmap"]


class BatchTrace(Trace):
    """Interprets each primitive on values carrying a leading batch axis."""

    __slots__ = ("size",)

    def __init__(self, level: int, size: int):
        super().__init__(level)
        self.size = size

    def box(self, batched: TensorBase) -> TensorBase:
        """A box around `batched` (batch axis first) that shows one example as its data."""
        t = new_box(self, batched, self.size)
        data = batched.data
        t.data = data[0] if data.shape[0] else np.zeros(data.shape[1:], data.dtype)
        return t

    def process(self, op, args, params):
        vals, batched = [], []
        for a in args:
            if a._trace is self:
                vals.append(a._inner)
                batched.append(a._aux is not None)
            else:
                vals.append(a)
                batched.append(False)
        if not any(batched):
            return new_box(self, bind(op, tuple(vals), params), None)
        rule = _rule_of(op)
        return self.box(rule(self.size, op, vals, batched, params))


# ----- helpers ---------------------------------------------------------------------------

def _ex_ndim(v, b) -> int:
    """Rank of one example of v (a batched value has the batch axis in front)."""
    return v.ndim - 1 if b else v.ndim


def _lead_ones(v, b, rank):
    """Batched v reshaped to (B, 1, ..., 1, *example shape) of example rank `rank`."""
    if not b or v.ndim - 1 >= rank:
        return v
    return reshape(v, (v.shape[0],) + (1,) * (rank - v.ndim + 1) + v.shape[1:])


def _materialize(v, b, size):
    """v with a batch axis in front, broadcast if it had none."""
    if b:
        return v
    return broadcast_to(reshape(v, (1,) + v.shape), (size,) + v.shape)


def _loop_rule(size, op, vals, batched, params):
    """Fallback for any primitive: apply it to each example and stack the results."""
    from ..ops.shape import getitem_p
    outs = []
    for i in range(size):
        row = tuple(bind(getitem_p, (v,), {"index": (i,)}) if b else v
                    for v, b in zip(vals, batched))
        out = bind(op, row, params)
        outs.append(reshape(out, (1,) + out.shape))
    return concatenate(outs, axis=0)


# ----- rules -----------------------------------------------------------------------------

def _elementwise(size, op, vals, batched, params):
    rank = max(_ex_ndim(v, b) for v, b in zip(vals, batched))
    vals = tuple(_lead_ones(v, b, rank) for v, b in zip(vals, batched))
    return bind(op, vals, params)


def _shift_axes(size, op, vals, batched, params):
    p = dict(params)
    if "axes" in p:
        p["axes"] = tuple(a + 1 for a in p["axes"])
    if "axis" in p:
        p["axis"] = p["axis"] + 1
    return bind(op, tuple(vals), p)


def _reshape(size, op, vals, batched, params):
    return bind(op, (vals[0],), {**params, "shape": (size,) + tuple(params["shape"])})


def _transpose(size, op, vals, batched, params):
    return bind(op, (vals[0],), {"axes": (0,) + tuple(a + 1 for a in params["axes"])})


def _broadcast_to(size, op, vals, batched, params):
    shape = tuple(params["shape"])
    v = _lead_ones(vals[0], True, len(shape))
    return bind(op, (v,), {"shape": (size,) + shape})


def _sum_to(size, op, vals, batched, params):
    v, shape = vals[0], tuple(params["shape"])
    padded = (1,) * (v.ndim - 1 - len(shape)) + shape
    out = bind(op, (v,), {"shape": (size,) + padded})
    return reshape(out, (size,) + shape)


def _advanced_split(index) -> bool:
    """True when NumPy moves advanced-index axes to the front (they are not adjacent)."""
    if not any(isinstance(i, np.ndarray) for i in index):
        return False
    where = [k for k, i in enumerate(index)
             if isinstance(i, (np.ndarray, numbers.Integral)) and not isinstance(i, bool)]
    return where[-1] - where[0] + 1 != len(where)


def _advanced_ndim(index) -> int:
    return len(np.broadcast_shapes(*[np.shape(i) for i in index
                                     if isinstance(i, (np.ndarray, numbers.Integral))]))


def _getitem(size, op, vals, batched, params):
    index = params["index"]
    out = bind(op, (vals[0],), {"index": (slice(None),) + tuple(index)})
    if _advanced_split(index):  # NumPy put the indexed axes before the batch axis
        out = moveaxis(out, _advanced_ndim(index), 0)
    return out


def _scatter_add(size, op, vals, batched, params):
    index, g = params["index"], vals[0]
    if _advanced_split(index):
        g = moveaxis(g, 0, _advanced_ndim(index))
    return bind(op, (g,), {"index": (slice(None),) + tuple(index),
                           "shape": (size,) + tuple(params["shape"])})


def _concatenate(size, op, vals, batched, params):
    vals = tuple(_materialize(v, b, size) for v, b in zip(vals, batched))
    return bind(op, vals, {"axis": params["axis"] + 1})


def _pad(size, op, vals, batched, params):
    return bind(op, (vals[0],), {**params, "pad_width": ((0, 0),) + tuple(params["pad_width"])})


def _matmul(size, op, vals, batched, params):
    (a, b), (ba, bb) = vals, batched
    # Vectors become a (1, k) row and a (k, 1) column; their unit axis is dropped after.
    a_vec, b_vec = _ex_ndim(a, ba) == 1, _ex_ndim(b, bb) == 1
    if a_vec:
        a = reshape(a, a.shape[:-1] + (1, a.shape[-1]))
    if b_vec:
        b = reshape(b, b.shape + (1,))
    if ba != bb and (b if ba else a).ndim == 2:
        out = _matmul_by_matrix(op, a, b, ba)
    else:
        rank = max(_ex_ndim(a, ba), _ex_ndim(b, bb))
        out = bind(op, (_lead_ones(a, ba, rank), _lead_ones(b, bb, rank)), {})
    drop = {out.ndim - 2} if a_vec else set()
    if b_vec:
        drop.add(out.ndim - 1)
    if drop:
        out = reshape(out, tuple(n for i, n in enumerate(out.shape) if i not in drop))
    return out


def _matmul_by_matrix(op, a, b, a_batched):
    """A batch of matrices times one matrix as a single GEMM (NumPy would loop the batch)."""
    if a_batched:                                    # (B, ..., m, k) @ (k, n)
        out = bind(op, (reshape(a, (-1, a.shape[-1])), b), {})
        return reshape(out, a.shape[:-1] + (b.shape[-1],))
    m, k = a.shape
    if b.shape[-1] == 1:                             # (m, k) @ (B, ..., k, 1): rows @ a.T
        out = bind(op, (reshape(b, (-1, k)), swapaxes(a, 0, 1)), {})
        return reshape(out, b.shape[:-2] + (m, 1))
    cols = reshape(moveaxis(b, -2, 0), (k, -1))      # (m, k) @ (k, B * ... * n)
    out = reshape(bind(op, (a, cols), {}), (m,) + b.shape[:-2] + (b.shape[-1],))
    return moveaxis(out, 0, -2)


def _einsum(size, op, vals, batched, params):
    terms, out = params["terms"], params["out"]
    letter = next(c for c in string.ascii_letters if c not in "".join(terms) + out)
    terms = tuple(letter + t if b else t for t, b in zip(terms, batched))
    return bind(op, tuple(vals), {"terms": terms, "out": letter + out})


def _square_matrices(size, op, vals, batched, params):
    return bind(op, (vals[0],), params)   # inv, det: already batched over leading axes


def _solve(size, op, vals, batched, params):
    (a, b), (ba, bb) = vals, batched
    b_vec = _ex_ndim(b, bb) == 1
    if b_vec:
        b = reshape(b, b.shape + (1,))   # solve against one column, then drop it
    rank = max(_ex_ndim(a, ba), _ex_ndim(b, bb))
    out = bind(op, (_lead_ones(a, ba, rank), _lead_ones(b, bb, rank)), {})
    return reshape(out, out.shape[:-1]) if b_vec else out


def _linear(size, op, vals, batched, params):
    (x, w, b), (bx, bw, bb) = vals, batched
    if not (bw or bb):  # x of shape (..., in): any leading axes already work
        return bind(op, tuple(vals), params)
    wt = bind(PRIMITIVES["transpose"], (w,), {"axes": (0, 2, 1) if bw else (1, 0)})
    out = _matmul(size, PRIMITIVES["matmul"], (x, wt), (bx, bw), {})
    return _elementwise(size, PRIMITIVES["add"], (out, b), (bx or bw, bb), {})


def _fold_into_samples(images, shape_param=None, tiled_param=None):
    """Rule for an op whose `images` inputs lead with a sample axis N (NCHW ops, losses):
    the batch is folded into N, one call on B * N samples. Other inputs must be unbatched
    (a batched weight falls back to the loop)."""
    def rule(size, op, vals, batched, params):
        if any(b for i, b in enumerate(batched) if i not in images):
            return _loop_rule(size, op, vals, batched, params)
        vals = list(vals)
        for i in images:
            v = _materialize(vals[i], batched[i], size)
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


_ELEMENTWISE = (
    "abs arccos arcsin arctan ceil cos cosh exp expm1 floor isfinite log log1p logical_not "
    "negative relu round sigmoid sign sin sinh softplus sqrt square tan tanh identity "
    "stop_gradient cast erf add subtract multiply divide power maximum minimum arctan2 "
    "equal not_equal less less_equal greater greater_equal logical_and logical_or "
    "logical_xor where tanh_grad sigmoid_grad relu_grad").split()

BATCH_RULES: dict = {name: _elementwise for name in _ELEMENTWISE}
BATCH_RULES.update({
    "sum": _shift_axes, "max": _shift_axes, "min": _shift_axes, "prod": _shift_axes,
    "norm": _shift_axes, "cumsum": _shift_axes,
    "reshape": _reshape, "transpose": _transpose, "broadcast_to": _broadcast_to,
    "sum_to": _sum_to, "getitem": _getitem, "scatter_add": _scatter_add,
    "concatenate": _concatenate, "pad": _pad, "matmul": _matmul, "einsum": _einsum,
    "inv": _square_matrices, "det": _square_matrices, "solve": _solve, "linear": _linear,
    "conv2d": _fold_into_samples((0,)),
    "conv2d_input_grad": _fold_into_samples((0,), shape_param="x_shape"),
    "max_pool2d": _fold_into_samples((0,)),
    "max_pool2d_gather": _fold_into_samples((0, 1)),
    "max_pool2d_scatter": _fold_into_samples((0, 1)),
    "avg_pool2d": _fold_into_samples((0,)),
    "avg_pool2d_transpose": _fold_into_samples((0,), shape_param="x_shape"),
    "cross_entropy": _fold_into_samples((0,), tiled_param="target"),
    "cross_entropy_grad": _fold_into_samples((0,), tiled_param="target"),
})


BATCH_KINDS = {"elementwise": _elementwise, "axes": _shift_axes}


def _rule_of(op):
    """The op's own batch rule (a kind or a function), else the table, else the loop."""
    rule = op.batch
    if rule is None:
        return BATCH_RULES.get(op.name, _loop_rule)
    return BATCH_KINDS[rule] if isinstance(rule, str) else rule


def batch_rule(name: str):
    """Decorator registering `rule(size, op, values, batched, params)` for primitive `name`."""
    def register(rule):
        BATCH_RULES[name] = rule
        return rule
    return register


# ----- vmap ------------------------------------------------------------------------------

def _axes_for(spec, n, what):
    if spec is None or isinstance(spec, numbers.Integral):
        return (spec,) * n
    spec = tuple(spec)
    if len(spec) != n:
        raise ValueError(f"vmap: {what} has {len(spec)} entries for {n} values")
    return spec


def vmap(f, in_axes=0, out_axes=0):
    """f mapped over an axis of its arguments, in one call of f (no Python loop over it).

    `in_axes`: an int, None (not mapped) or one per argument; `out_axes` likewise per output.
    """
    from .api import _flatten

    def wrapped(*args):
        axes = _axes_for(in_axes, len(args), "in_axes")
        args = [a if isinstance(a, TensorBase) or ax is None else as_tensor(a)
                for a, ax in zip(args, axes)]
        for i, (a, ax) in enumerate(zip(args, axes)):
            if ax is not None and not -a.ndim <= ax < a.ndim:
                raise ValueError(f"vmap: in_axes={ax} for argument {i} of shape {a.shape}, "
                                 "which has no such axis")
        sizes = {a.shape[ax] for a, ax in zip(args, axes) if ax is not None}
        if len(sizes) != 1:
            raise ValueError("vmap: the mapped axes must have one common length, got "
                             + (str(sorted(sizes)) if sizes else "no mapped argument"))
        trace = BatchTrace(new_level(), sizes.pop())
        boxed = [a if ax is None else trace.box(moveaxis(a, ax, 0) if ax % a.ndim else a)
                 for a, ax in zip(args, axes)]
        with active(trace):
            out = f(*boxed)
        leaves, rebuild = _flatten(out, "vmap")
        outs = []
        for leaf, ax in zip(leaves, _axes_for(out_axes, len(leaves), "out_axes")):
            if leaf._trace is trace and leaf._aux is not None:
                v = leaf._inner
            else:
                v = leaf._inner if leaf._trace is trace else leaf
                v = _materialize(v, False, trace.size)
            outs.append(moveaxis(v, 0, ax) if ax else v)
        return rebuild(outs)

    return wrapped


def unbatched_primitives() -> list:
    """Names of registered primitives that fall back to the per-example loop."""
    return sorted(n for n, p in PRIMITIVES.items() if p.batch is None and n not in BATCH_RULES)

