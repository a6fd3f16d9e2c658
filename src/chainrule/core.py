"""The engine's heart: tensors' storage, graph nodes, primitives, grad mode and dispatch.

This module names no operation and no differentiation rule (DESIGN property 1). It knows
three things: how a primitive is applied (`bind`), how an application is recorded as a
graph `Node`, and how boxes of nested forward-style transforms (`Trace`) are dispatched.
"""

from __future__ import annotations

import contextlib
import itertools

import numpy as np

__all__ = [
    "Node", "Primitive", "PRIMITIVES", "TensorBase", "Trace", "bind", "no_grad",
    "enable_grad", "is_grad_enabled", "new_level", "topological_order",
]

# Global grad mode. A module global (not thread-local) keeps the hot path to one lookup.
_grad_enabled = True


def is_grad_enabled() -> bool:
    """True when ops on tensors that require grad are recorded."""
    return _grad_enabled


@contextlib.contextmanager
def _grad_mode(enabled: bool):
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, enabled
    try:
        yield
    finally:
        _grad_enabled = previous


def no_grad():
    """Context manager: ops inside record no graph (forward-mode tangents still flow)."""
    return _grad_mode(False)


def enable_grad():
    """Context manager: turn recording back on inside a `no_grad` block."""
    return _grad_mode(True)


_level_counter = itertools.count(1)

# Traces whose transform is evaluating its function right now, innermost last.
_active_traces: list = []


def new_level() -> int:
    """A fresh level for a transform call; later (inner) calls get larger levels."""
    return next(_level_counter)


@contextlib.contextmanager
def active(trace):
    """Mark `trace` as running while its transform evaluates the user's function."""
    _active_traces.append(trace)
    try:
        yield trace
    finally:
        _active_traces.pop()


def innermost_trace():
    """The trace of the innermost running transform, or None."""
    return _active_traces[-1] if _active_traces else None


class Trace:
    """A nested transform's interpretation of primitives (e.g. forward mode's dual numbers).

    A tensor boxed by a trace has `_trace` set, its lower-level value in `_inner` and the
    trace's extra data (a tangent, ...) in `_aux`. `bind` hands an op to the trace of the
    highest level among its arguments; everything below is handled by recursion.
    """

    __slots__ = ("level",)

    def __init__(self, level: int):
        self.level = level

    def process(self, op: Primitive, args: tuple, params: dict):  # pragma: no cover
        raise NotImplementedError

    def concrete(self, what: str) -> None:
        """Called before Python reads a boxed value (`what`: bool, item, ...); a trace
        that replays its recording without Python (jit) raises here."""


def check_concrete(t: TensorBase, what: str) -> None:
    """Let every transform boxing `t` refuse to hand its value to Python control flow."""
    while t._trace is not None:
        t._trace.concrete(what)
        t = t._inner


def is_concrete(t: TensorBase) -> bool:
    """True when t's value is the same on every call (not recorded by a jit trace)."""
    try:
        check_concrete(t, "value")
    except TypeError:
        return False
    return True


class TensorBase:
    """Storage of a tensor: the ndarray, its graph node and its transform boxes."""

    __slots__ = ("data", "_node", "requires_grad", "grad", "_trace", "_inner", "_aux",
                 "_retains_grad", "__weakref__")

    # Let ndarray (and NumPy scalars) defer binary operators to us instead of looping.
    __array_ufunc__ = None


def _new_tensor(data) -> TensorBase:
    """Wraps an ndarray result of an impl into a fresh tensor (no node, no box)."""
    t = _tensor_class.__new__(_tensor_class)
    init_slots(t, data if type(data) is np.ndarray else np.asarray(data))
    return t


def init_slots(t: TensorBase, data: np.ndarray) -> None:
    """Every slot of a plain tensor: the one place that lists them."""
    t.data = data
    t._node = None
    t.requires_grad = False
    t.grad = None
    t._trace = None
    t._inner = None
    t._aux = None
    t._retains_grad = False


def new_box(trace: Trace, inner: TensorBase, aux) -> TensorBase:
    """A tensor boxed by `trace` around the lower-level value `inner`."""
    t = _new_tensor(inner.data)
    t._trace = trace
    t._inner = inner
    t._aux = aux
    return t


def is_mapped(t: TensorBase) -> bool:
    """True when some transform box of t holds several values per value shown (vmap):
    then `.data` is only the first example's and must not steer Python control flow."""
    while t._inner is not None:
        if t._inner.shape != t.shape:
            return True
        t = t._inner
    return False


_tensor_class = TensorBase


def set_tensor_class(cls) -> None:
    """Called once by tensor.py so that ops return the full Tensor class."""
    global _tensor_class
    _tensor_class = cls


class Node:
    """One recorded application: the operation, its inputs (ordered) and its parameters.

    A node never refers to its own output (no reference cycles, DESIGN property 5): the
    reverse sweep walks tensors, and hands each node's output to its rule as `ans`.
    `inputs` becomes None once a backward has freed the saved values.
    """

    __slots__ = ("op", "inputs", "params")

    def __init__(self, op: Primitive, inputs: tuple, params: dict):
        self.op = op
        self.inputs = inputs
        self.params = params


PRIMITIVES: dict[str, Primitive] = {}
_builtin_names: frozenset = frozenset()


def seal_builtins() -> None:
    """Called at the end of `import chainrule`: the primitives defined so far are built in."""
    global _builtin_names
    _builtin_names = frozenset(PRIMITIVES)


def builtin_primitives() -> dict:
    """The primitives chainrule itself defines (the op table must cover each one)."""
    return {name: p for name, p in PRIMITIVES.items() if name in _builtin_names}


class Primitive:
    """An operation with its NumPy implementation and its derivative rules, in one place.

    - `impl(*arrays, **params)` computes the value on ndarrays.
    - `vjp`: one function per input, `(g, ans, *inputs, **params) -> cotangent or None`.
    - `jvp`: one function per input, `(t, ans, *inputs, **params) -> contribution or None`
      (contributions of all inputs are summed), or `jvp_joint(tangents, ans, *inputs)`.
    - `batch`: how `vmap` carries a batch axis through it: a kind (`"elementwise"`, ...)
      or `rule(size, op, values, batched, params) -> value with the batch axis first`.
    Rules are written with chainrule ops so that one engine serves every order.
    """

    __slots__ = ("name", "impl", "vjp", "jvp", "jvp_joint", "batch", "differentiable", "doc",
                 "__weakref__")

    def __init__(self, name, impl, vjp=None, jvp=None, jvp_joint=None,
                 differentiable=True, register=True, doc="", batch=None):
        self.name = name
        self.impl = impl
        self.vjp = vjp
        self.jvp = jvp
        self.jvp_joint = jvp_joint
        self.batch = batch
        self.differentiable = differentiable
        self.doc = doc
        if register:
            if name in _builtin_names:
                raise ValueError(f"primitive {name!r} is built into chainrule; choose another "
                                 "name for your own operation")
            PRIMITIVES[name] = self  # a user's primitive may be redefined (re-run cells)

    def __repr__(self):
        return f"<primitive {self.name}>"


def _describe(args) -> str:
    return ", ".join(f"{tuple(a.shape)} {a.dtype}" for a in args)


def _op_error(op: Primitive, args: tuple, params: dict, err: Exception) -> Exception:
    extra = f" with {params}" if params else ""
    # NumPy's own subclasses (e.g. its no-loop ufunc error) take other constructor
    # arguments: re-raise as the nearest built-in class, which takes a message.
    cls = next(c for c in type(err).__mro__ if c.__module__ == "builtins")
    return cls(f"{op.name}: cannot apply to inputs of shape/dtype ({_describe(args)})"
               f"{extra}: {err}")


def bind(op: Primitive, args: tuple, params: dict):
    """Apply `op` to tensors `args`: compute, then record a node if any input needs grad."""
    trace = None
    for a in args:
        t = a._trace
        if t is not None and (trace is None or t.level > trace.level):
            trace = t
    if trace is None:
        # The hot path: one or two inputs are passed without building a list.
        try:
            if len(args) == 1:
                data = op.impl(args[0].data, **params) if params else op.impl(args[0].data)
            elif len(args) == 2 and not params:
                data = op.impl(args[0].data, args[1].data)
            else:
                data = op.impl(*[a.data for a in args], **params)
        except (ValueError, IndexError, TypeError, np.linalg.LinAlgError) as err:
            raise _op_error(op, args, params, err) from None
        out = _new_tensor(data)
    else:
        out = trace.process(op, args, params)
    if _grad_enabled and op.differentiable:
        for a in args:
            # Only inputs boxed at this same level are differentiated here; lower-level
            # inputs are constants at this level and are recorded inside the recursion.
            if a.requires_grad and a._trace is trace:
                out._node = Node(op, args, params)
                out.requires_grad = True
                break
    return out


def differentiable_inputs(t: TensorBase):
    """The inputs of `t`'s node through which gradient flows at `t`'s level."""
    node = t._node
    if node is None:
        return ()
    if node.inputs is None:
        raise RuntimeError(
            f"backward: the graph through '{node.op.name}' was freed by an earlier backward; "
            "pass retain_graph=True to the first backward() to go through it twice")
    trace = t._trace
    return tuple(a for a in node.inputs if a.requires_grad and a._trace is trace)


def topological_order(roots, stop=None) -> list:
    """Tensors that require grad reachable from `roots`, each after all of its inputs.

    Iterative depth-first post-order (no recursion, so 100,000-node chains work).
    `stop`: ids of tensors whose inputs are not explored (the targets of a gradient).
    """
    order = []
    visited = set()
    stack = [(r, False) for r in reversed(roots) if r.requires_grad]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        key = id(t)
        if key in visited:
            continue
        visited.add(key)
        stack.append((t, True))
        node = t._node
        if node is None or (stop is not None and key in stop):
            continue
        inputs = node.inputs
        if inputs is None:
            differentiable_inputs(t)  # raises the freed-graph error
        trace = t._trace
        for a in reversed(inputs):
            if a.requires_grad and a._trace is trace and id(a) not in visited:
                stack.append((a, False))
    return order
