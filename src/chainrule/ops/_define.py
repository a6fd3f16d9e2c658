"""`defop`: one call declares a primitive's implementation and both derivative rules."""

from __future__ import annotations

import numbers
import operator
import threading

import numpy as np

from ..core import PRIMITIVES, Primitive, TensorBase, _new_tensor, bind, is_grad_enabled, version_of

EMPTY: dict = {}

# Binary ufuncs whose Python operator computes the same thing; on NumPy scalars the
# operator runs NumPy's scalar math, 10x faster than the ufunc (`Primitive.scalar`).
_SCALAR_FORMS = {np.add: operator.add, np.subtract: operator.sub,
                 np.multiply: operator.mul, np.divide: operator.truediv,
                 np.power: operator.pow}


def constant(value, dtype=None) -> TensorBase:
    """A tensor that needs no gradient, made from anything np.asarray accepts."""
    return _new_tensor(np.asarray(value, dtype=dtype))


def as_tensor(x, like: TensorBase | None = None) -> TensorBase:
    """`x` as a tensor; a Python number takes `like`'s dtype by NumPy 2's promotion rules."""
    if isinstance(x, TensorBase):
        return x
    if like is not None and type(x) in (float, int) and like.dtype.kind in "fc":
        # NumPy 2: a Python number is weak, so it takes a float tensor's dtype (the common
        # case, `cr.maximum(z, 0.0)`, without np.result_type's ~1 us)
        return _new_tensor(np.array(x, dtype=like.dtype))
    if like is not None and isinstance(x, numbers.Number) and not isinstance(x, bool):
        return _new_tensor(np.asarray(x, dtype=np.result_type(like.dtype, x)))
    if isinstance(x, (list, tuple)) and _holds_tensor(x):
        return _join(x, like)
    array = np.asarray(x)
    if array.dtype.kind not in "biufc":
        raise TypeError(f"expected a number, an array or a tensor, got {type(x).__name__} "
                        f"(dtype {array.dtype})")
    return _new_tensor(array)


def _like(args):
    """The tensor or array whose dtype Python numbers adopt (NumPy 2: numbers are weak)."""
    for a in args:
        if isinstance(a, TensorBase):
            return a
        if isinstance(a, (np.ndarray, np.generic)):
            return _new_tensor(np.asarray(a))
    return None


def _holds_tensor(items) -> bool:
    stack = [items]
    while stack:
        for e in stack.pop():
            if isinstance(e, TensorBase):
                return True
            if isinstance(e, (list, tuple)):
                stack.append(e)
    return False


def _join(items, like) -> TensorBase:
    """A (nested) list holding tensors as one tensor, as np.asarray would, differentiably."""
    parts = [as_tensor(e, like) for e in items]
    shapes = {p.shape for p in parts}
    if len(shapes) > 1:
        raise ValueError("cannot make one array of a list of tensors of shapes "
                         + ", ".join(str(p.shape) for p in parts)
                         + " (NumPy would need them equal); join them with cr.concatenate or "
                         "cr.stack along the axis you mean")
    # Looked up by name: shape.py, which defines them, is built on this module.
    reshape_p, concatenate_p = PRIMITIVES["reshape"], PRIMITIVES["concatenate"]
    rows = [bind(reshape_p, (p,), {"shape": (1,) + p.shape}) for p in parts]
    return bind(concatenate_p, tuple(rows), {"axis": 0})


def coerce(args) -> tuple:
    """All arguments as tensors; Python numbers adopt the dtype of the first tensor or array."""
    like = _like(args)
    return tuple(as_tensor(a, like) for a in args)


def _per_input(rule, n):
    if rule is None or isinstance(rule, tuple) or hasattr(rule, "__getitem__"):
        return rule
    if n != 1:
        raise TypeError("a rule for a primitive of several inputs must be a tuple, one per input")
    return (rule,)


def defop(name, impl, vjp=None, jvp=None, *, jvp_joint=None, nin=1, linear=False,
          differentiable=True, doc="", batch=None):
    """Declare a primitive and return the function users call.

    `vjp`/`jvp`: a function (one input) or a tuple of functions, one per input, returning
    None for "no gradient". `linear=True` derives the JVP: the op applied to the tangent.
    `batch`: the vmap rule, a kind (`"elementwise"`) or a function
    `(size, op, values, batched, params) -> value with the batch axis first`.
    """
    if linear and jvp is None and jvp_joint is None:
        if nin != 1:
            raise TypeError("linear=True derives the JVP of one-input primitives only")
        jvp = lambda t, ans, x, **params: prim(t, **params)  # noqa: E731
    if differentiable and (vjp is None or (jvp is None and jvp_joint is None)):
        raise TypeError(f"primitive {name!r} needs both a vjp and a jvp rule")
    prim = Op(name, impl, _per_input(vjp, nin), _per_input(jvp, nin), jvp_joint,
              differentiable=differentiable, doc=doc, batch=batch,
              scalar=_SCALAR_FORMS.get(impl) if isinstance(impl, np.ufunc) else None)
    return prim


class Op(Primitive):
    """A primitive callable on tensors, arrays or numbers: `exp(x)`, `add(x, 1.0)`."""

    __slots__ = ()

    def __call__(self, *args, **params):
        for a in args:
            if not isinstance(a, TensorBase):
                args = self._coerce(args)
                break
        # no parameters: the one shared empty dict, not a fresh one kept by every node
        return bind(self, args, params or EMPTY)

    def _coerce(self, args):
        like = _like(args)
        # only an ndarray operand asks whether this op records (`operand` copies it then)
        recording = any([isinstance(a, np.ndarray) for a in args]) and is_grad_enabled() \
            and any([isinstance(a, TensorBase) and a.requires_grad for a in args])
        return tuple([a if isinstance(a, TensorBase) else operand(self, a, like, recording)
                      for a in args])


def operand(op: Primitive, x, like: TensorBase | None, recording: bool) -> TensorBase:
    """A non-tensor operand of `op` as a tensor; errors name the op.

    A recorded node keeps its operands: an ndarray the caller mutates after the forward
    pass must not change the gradient, so a recorded node keeps a copy of it.
    """
    try:
        t = as_tensor(x, like)
    except TypeError as err:
        raise TypeError(f"{op.name}: {err}") from None
    if recording and isinstance(x, np.ndarray):
        t = _new_tensor(t.data.copy())
    return t


_shared = threading.local()


def shared(ans, g, compute, done: bool):
    """Work that the per-input rules of one node share (solve's transposed solve, the
    attention weights): computed by the first rule of the node that asks, i.e. for the
    output `ans` and the cotangent `g` (the same objects, so the same values), and kept
    for the node's later rules until one passes `done` (no later rule will ask)."""
    last = getattr(_shared, "last", None)
    # the version too: a later sweep may bring the same seed object, written in place since
    version = version_of(g)
    value = last[3] if last is not None and last[0] is ans and last[1] is g and \
        last[2] == version else compute()
    _shared.last = None if done else (ans, g, version, value)
    return value


def bind_tensors(prim: Primitive, args: tuple, params: dict = EMPTY):
    """Call a primitive on arguments already known to be tensors (the hot path)."""
    return bind(prim, args, params)


def axis_index(axis, ndim: int, op: str) -> int:
    """One axis as a non-negative int; out of range, a bool or a non-integer is an error."""
    # `type(axis) is int` first: the ABC check costs ~0.5 us, more than a small op
    if type(axis) is not int and (isinstance(axis, bool) or
                                  not isinstance(axis, numbers.Integral)):
        raise TypeError(f"{op}: an axis must be an int, got {axis!r}")
    if not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor of {ndim} dims")
    return int(axis) % max(ndim, 1)


def _is_normal(axes: tuple, ndim: int) -> bool:
    """True for increasing plain ints in [0, ndim): what normalize_axis returns."""
    last = -1
    for a in axes:
        if type(a) is not int or not last < a < ndim:
            return False
        last = a
    return True


def normalize_axis(axis, ndim: int, op: str):
    """`axis` (None, int or tuple) as a sorted tuple of non-negative ints, checked."""
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:   # one axis in range: the common call
        return (axis % ndim,)
    if type(axis) is tuple and _is_normal(axis, ndim):   # a rule's own, already normal
        return axis
    axes = (axis,) if type(axis) is int or isinstance(axis, numbers.Integral) else tuple(axis)
    out = [axis_index(a, ndim, op) for a in axes]
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))

