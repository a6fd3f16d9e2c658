"""Batching (`vmap`): run a function once on a whole batch, each op told how to carry the axis.

A batch box holds the batched value with the batch axis in front; it reports one
example's shape and dtype (op wrappers check shapes per example), and has no `.data`:
one example's values would be a silent wrong answer. Each primitive names its batch rule
where it is defined (`defop(..., batch=...)`, kinds in `ops/vmap_rules.py`); a user's
primitive without one is looped over the batch and stacked (correct, slow). Rules are
written with chainrule ops, so batched values may themselves be boxes of lower-level
transforms (Jacobians of Jacobians, Hessians).
"""

from __future__ import annotations

import numbers

from ..core import PRIMITIVES, TensorBase, Trace, active, bind, new_level
from ..ops._define import as_tensor
from ..ops.shape import materialize, moveaxis
from ..ops.vmap_rules import KINDS, loop_rule
from ..tensor import Box
from .tree import flatten, has_containers, over_leaves, tree_leaves

__all__ = ["BatchBox", "BatchTrace", "batch_rule", "vmap"]


class BatchBox(Box):
    """A value inside vmap: `value` carries the batch axis first when `batched`; an
    unbatched box is a value shared by every example that a nested transform lifted."""

    __slots__ = ("value", "batched")

    def __init__(self, trace, value, batched):
        super().__init__(trace)
        self.value = value
        self.batched = batched

    @property
    def inner(self):
        return self.value

    @property
    def mapped(self) -> bool:
        return self.batched

    @property
    def batch_size(self) -> int:
        return self._trace.size

    @property
    def shape(self) -> tuple:
        shape = self.value.shape
        return shape[1:] if self.batched else shape

    @property
    def data(self):
        if not self.batched:
            return self.value.data
        raise self._refused(".data")

    def item(self):
        raise self._refused("item")

    def __bool__(self):
        raise self._refused("bool")

    def _refused(self, what: str) -> TypeError:
        return TypeError(
            f"{what}: this tensor holds one value per example of cr.vmap ({self.batch_size} "
            f"examples of shape {self.shape}, dtype {self.dtype}); one Python value would "
            "see one example only: use cr.where for a per-example choice, or move this "
            "computation out of vmap")


class BatchTrace(Trace):
    """Interprets each primitive on values carrying a leading batch axis."""

    __slots__ = ("size",)

    def __init__(self, level: int, size: int):
        super().__init__(level)
        self.size = size

    def lift(self, x):
        return BatchBox(self, x, False)

    def process(self, op, args, params):
        vals, batched = [], []
        for a in args:
            if a._trace is self:
                vals.append(a.value)
                batched.append(a.batched)
            else:
                vals.append(a)
                batched.append(False)
        if not any(batched):
            return BatchBox(self, bind(op, tuple(vals), params), False)
        return BatchBox(self, rule_of(op)(self.size, op, vals, batched, params), True)


def rule_of(op):
    """The op's batch rule: its kind or function, else the per-example loop."""
    rule = op.batch
    if rule is None:
        return loop_rule
    return KINDS[rule] if isinstance(rule, str) else rule


def batch_rule(name: str):
    """Decorator giving the primitive `name` its batch rule (as `defop(batch=...)` does)."""
    def register(rule):
        PRIMITIVES[name].batch = rule
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


def _leaf_axes(spec, arg) -> list:
    """One axis per leaf of `arg`: an int or None applies to every leaf below it, a
    container of the argument's own shape gives each part its own (JAX's prefix rule)."""
    out, stack = [], [(spec, arg)]
    while stack:
        s, a = stack.pop()
        if s is None or isinstance(s, numbers.Integral):
            out.extend([s] * len(tree_leaves(a)))
        elif isinstance(s, dict) and isinstance(a, dict) and sorted(s) == sorted(a):
            stack.extend((s[k], a[k]) for k in reversed(sorted(a)))
        elif isinstance(s, (tuple, list)) and isinstance(a, (tuple, list)) and len(s) == len(a):
            stack.extend(reversed(list(zip(s, a))))
        else:
            raise ValueError(f"vmap: in_axes entry {s!r} does not match an argument of type "
                             f"{type(a).__name__}: give an int, None, or a container of the "
                             "argument's structure")
    return out


def vmap(f, in_axes=0, out_axes=0):
    """f mapped over an axis of its arguments, in one call of f (no Python loop over it).

    `in_axes`: an int, None (not mapped) or one per argument, each of which may itself be a
    pytree prefix of its argument (tuples, lists, dicts); `out_axes` likewise per output.
    """
    def wrapped(*args):
        if has_containers(args) or not (in_axes is None or isinstance(in_axes, numbers.Integral)
                                        or all(a is None or isinstance(a, numbers.Integral)
                                               for a in in_axes)):
            # Pytree arguments: map over their leaves, each with its part of in_axes.
            axes = _axes_for(in_axes, len(args), "in_axes") if not isinstance(
                in_axes, dict) else (in_axes,)
            f_leaves, leaves, _ = over_leaves(f, args, range(len(args)), "vmap")
            leaf_axes = [ax for arg, spec in zip(args, axes)
                         for ax in _leaf_axes(spec, arg)]
            return vmap(f_leaves, tuple(leaf_axes), out_axes)(*leaves)
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
        boxed = [a if ax is None else BatchBox(trace, moveaxis(a, ax, 0) if ax % a.ndim else a,
                                               True)
                 for a, ax in zip(args, axes)]
        with active(trace):
            out = f(*boxed)
        leaves, rebuild = flatten(out, "vmap")
        outs = []
        for leaf, ax in zip(leaves, _axes_for(out_axes, len(leaves), "out_axes")):
            if leaf._trace is trace:
                v = materialize(leaf.value, leaf.batched, trace.size)
            else:
                v = materialize(leaf, False, trace.size)
            outs.append(moveaxis(v, 0, ax) if ax else v)
        return rebuild(outs)

    return wrapped


def unbatched_primitives() -> list:
    """Names of registered primitives that fall back to the per-example loop."""
    return sorted(n for n, p in PRIMITIVES.items() if p.batch is None)

