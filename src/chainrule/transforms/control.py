"""Control flow that `jit` can record: `cond` (a choice by value) and `fori_loop`.

On a concrete predicate `cond` runs one branch, as Python's `if` would. On a value that
`jit` records (or that `vmap` maps) it runs both branches and selects with `where`, so the
choice is made again on every call; the derivative is where's (the untaken branch gets a
zero cotangent). `fori_loop` has concrete bounds and unrolls: under `jit` the graph holds
each iteration.
"""

from __future__ import annotations

import numbers

from ..core import TensorBase, is_concrete, is_mapped
from ..ops._define import as_tensor
from ..ops.elementwise import where
from .tree import flatten


def _known(pred) -> bool:
    return not isinstance(pred, TensorBase) or (is_concrete(pred) and not is_mapped(pred))


def cond(pred, true_fn, false_fn, *operands):
    """`true_fn(*operands)` where `pred` holds, else `false_fn(*operands)`; both branches
    must return the same structure of tensors (shapes broadcast against `pred`)."""
    if _known(pred):
        pred = pred.item() if isinstance(pred, TensorBase) else pred
        return true_fn(*operands) if pred else false_fn(*operands)
    pred = as_tensor(pred)
    if pred.dtype != bool:
        raise TypeError(f"cond: the predicate must be a bool tensor, got dtype {pred.dtype}; "
                        "compare first (e.g. x > 0)")
    yes, build = flatten(true_fn(*operands), "cond")
    no, _ = flatten(false_fn(*operands), "cond")
    if len(yes) != len(no) or any(a.shape != b.shape for a, b in zip(yes, no)):
        raise ValueError("cond: the two branches return different structures or shapes: "
                         f"{[a.shape for a in yes]} and {[b.shape for b in no]}")
    return build([where(pred, a, b) for a, b in zip(yes, no)])


def fori_loop(lower, upper, body_fun, init_val):
    """`val = body_fun(i, val)` for i in range(lower, upper); bounds must be concrete ints."""
    bounds = []
    for name, bound in (("lower", lower), ("upper", upper)):
        if isinstance(bound, TensorBase):
            bound = int(bound)   # a traced bound raises, naming the line
        if not isinstance(bound, numbers.Integral):
            raise TypeError(f"fori_loop: {name} must be an int, got {type(bound).__name__}")
        bounds.append(int(bound))
    val = init_val
    for i in range(*bounds):
        val = body_fun(i, val)
    return val
