"""The engine's heart: tensors' storage, graph nodes, primitives, grad mode and dispatch.

This module names no operation and no differentiation rule (DESIGN property 1). It knows
three things: how a primitive is applied (`bind`), how an application is recorded as a
graph `Node`, and how boxes of nested forward-style transforms (`Trace`) are dispatched.

The nesting model has two tiers.

- Forward-style transforms (jvp, vmap, symbolic tracing) each get a `Trace` at a fresh
  level; a value they interpret is a *box* (a Tensor subclass with named fields, e.g. a
  JVP box's primal and tangent) whose `_trace` is that trace. `bind` hands an op to the
  trace of the highest level among its arguments (`top_trace`), which unboxes, binds again
  one level down, and boxes the result: the recursion ends at plain tensors.
- Reverse mode has no trace: every tensor may carry a graph `Node`, recorded by `bind` at
  the level where the op was applied. Gradient flows through an input only when it
  requires grad *at that same level* (`flowing`); an input of a lower level is a
  constant there and is recorded inside the recursion instead. So each level has its own
  tape, and a reverse transform nested in a forward one records on the outer boxes.

Reverse transforms push a `REVERSE` frame on the same stack as the running traces
(`active`). Inside one, a derivative must itself be differentiable, so sweeps record
(create_graph). The same holds when an argument already requires grad: someone outside is
recording a graph through it, so `x.requires_grad` means this call is nested in a
derivative too (`cr.grad` of a function calling `cr.grad`, or `backward` through it).
"""

from __future__ import annotations

import contextlib
import contextvars
import gc
import itertools
import weakref

import numpy as np

__all__ = [
    "Node", "Primitive", "PRIMITIVES", "REVERSE", "TensorBase", "Trace", "bind", "no_grad",
    "enable_grad", "flowing", "is_grad_enabled", "new_level", "new_node", "top_trace",
    "topological_order",
]

class _ThreadState:
    """The engine's state, one per thread (DESIGN property 9), as PyTorch's grad mode is:
    a `no_grad` block, a running transform or anomaly detection in one thread never
    changes what another thread records."""

    __slots__ = ("grad_enabled", "anomaly", "stack")

    def __init__(self):
        self.grad_enabled = True
        self.anomaly = None  # the running `detect_anomaly` (transforms/anomaly.py), or None
        # The transforms evaluating their function right now, innermost last: a trace for
        # each forward-style transform, REVERSE for each reverse transform.
        self.stack = []


# Held in a context variable rather than a threading.local: `bind` reads it for every op,
# and ContextVar.get costs a third of a threading.local attribute read. Every new thread
# starts with an empty context, so it makes its own state on first use.
_state_var = contextvars.ContextVar("chainrule_state")
_state_get = _state_var.get


def thread_state() -> _ThreadState:
    """This thread's engine state (grad mode, running transforms, anomaly detection)."""
    try:
        return _state_get()
    except LookupError:
        state = _ThreadState()
        _state_var.set(state)
        return state


def is_grad_enabled() -> bool:
    """True when ops on tensors that require grad are recorded (in this thread)."""
    return thread_state().grad_enabled


class _grad_mode(contextlib.ContextDecorator):
    """`with` block (or decorator) setting this thread's grad mode, restored on the way out.

    A class rather than a generator-based context manager: every backward enters one, and
    a generator costs four times as much to enter and leave."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.saved = []   # (state, previous mode) per entry: the same object may nest

    def __enter__(self):
        state = thread_state()
        self.saved.append((state, state.grad_enabled))
        state.grad_enabled = self.enabled
        return self

    def __exit__(self, *exc):
        state, previous = self.saved.pop()
        state.grad_enabled = previous


def no_grad():
    """Context manager: ops inside record no graph (forward-mode tangents still flow)."""
    return _grad_mode(False)


def enable_grad():
    """Context manager: turn recording back on inside a `no_grad` block."""
    return _grad_mode(True)


# Levels only need to be distinct and increasing; one counter serves every thread (its
# `next` is atomic), while each thread's stack of running transforms is its own.
_level_counter = itertools.count(1)
REVERSE = "reverse"


def new_level() -> int:
    """A fresh level for a transform call; later (inner) calls get larger levels."""
    return next(_level_counter)


@contextlib.contextmanager
def active(frame):
    """Mark `frame` (a trace, or REVERSE) as running while its transform evaluates f."""
    stack = thread_state().stack
    stack.append(frame)
    try:
        yield frame
    finally:
        stack.pop()


def innermost_trace():
    """The trace of the innermost running forward-style transform, or None."""
    for frame in reversed(thread_state().stack):
        if frame is not REVERSE:
            return frame
    return None


def in_reverse() -> bool:
    """True while some reverse transform evaluates its function (derivatives must record)."""
    return REVERSE in thread_state().stack


class Trace:
    """A nested transform's interpretation of primitives (e.g. forward mode's dual numbers).

    A tensor boxed by a trace has `_trace` set and named fields of its trace's box type.
    `bind` hands an op to the trace of the highest level among its arguments; everything
    below is handled by recursion.
    """

    __slots__ = ("level",)

    def __init__(self, level: int):
        self.level = level

    def process(self, op: Primitive, args: tuple, params: dict):  # pragma: no cover
        raise NotImplementedError

    def concrete(self, what: str) -> None:
        """Called before Python reads a boxed value (`what`: bool, item, ...); a trace
        that replays its recording without Python (jit) raises here."""

    def lift(self, x: TensorBase) -> TensorBase:  # pragma: no cover
        """x (of a lower level) as a box of this trace carrying nothing extra."""
        raise NotImplementedError


def top_trace(values):
    """The trace of the highest level among `values`' boxes, or None if none is boxed."""
    top = None
    for a in values:
        t = a._trace
        if t is not None and (top is None or t.level > top.level):
            top = t
    return top


def flowing(args, trace) -> tuple:
    """Positions of the inputs gradient flows through when an op is applied at `trace`'s
    level: those that require grad and are boxed at that very level (a lower-level input
    is a constant here; it is recorded inside the recursion). `bind` stores them on the
    node, and every walk of the graph follows `node.flows`."""
    flows = ()
    for i, a in enumerate(args):  # a loop, not a comprehension: this runs for every op
        if a.requires_grad and a._trace is trace:
            flows += (i,)
    return flows


def check_concrete(t: TensorBase, what: str) -> None:
    """Let every transform boxing `t` refuse to hand its value to Python control flow."""
    while t._trace is not None:
        t._trace.concrete(what)
        t = t.inner


def is_concrete(t: TensorBase) -> bool:
    """True when t's value is the same on every call (not recorded by a jit trace)."""
    try:
        check_concrete(t, "value")
    except TypeError:
        return False
    return True


class TensorBase:
    """Storage of a tensor: the ndarray, its graph node and its transform's trace (if boxed)."""

    # As few slots as will do: every recorded op makes a tensor (lean graphs, issue 13).
    # The rare `retain_grad` and in-place version live in `retained` and `versions` below,
    # as hooks do in `grad_hooks`.
    __slots__ = ("data", "_node", "requires_grad", "grad", "_trace", "__weakref__")

    mapped = False  # True for a box holding one value per example of vmap

    # Let ndarray (and NumPy scalars) defer binary operators to us instead of looping.
    __array_ufunc__ = None


# NumPy's float scalars: what a ufunc returns for 0-d inputs. A 0-d result keeps one as
# its `data` (it has the ndarray's shape, dtype, ndim, astype, ...): wrapping it back into a
# 0-d array costs more than the op, and NumPy's scalar arithmetic is 10x faster than a
# ufunc on 0-d arrays (the scalar fast path, docs/engine.md).
SCALAR_TYPES = frozenset((np.float64, np.float32))
_ndarray = np.ndarray  # a module global: one lookup, not two, on the hot paths below


def _new_tensor(data) -> TensorBase:
    """Wraps an ndarray (or NumPy float scalar) result of an impl into a fresh tensor."""
    t = _tensor_new(_tensor_class)
    # init_slots written out: this runs for every op
    t.data = data if type(data) is _ndarray or type(data) in SCALAR_TYPES else \
        np.asarray(data)
    t._node = None
    t.requires_grad = False
    t.grad = None
    t._trace = None
    return t


class paused_collection:
    """`with paused_collection():` Python's cyclic garbage collector is off inside, for
    passes that make many objects and no reference cycles (restored on the way out)."""

    __slots__ = ("resume",)

    def __init__(self):
        self.resume = gc.isenabled()

    def __enter__(self):
        if self.resume:
            gc.disable()

    def __exit__(self, *exc):
        if self.resume:
            gc.enable()


def init_slots(t: TensorBase, data) -> None:
    """Every slot of a plain tensor (a box leaves `data` to its own fields)."""
    if data is not None:
        t.data = data
    t._node = None
    t.requires_grad = False
    t.grad = None
    t._trace = None


# ----- version counters ---------------------------------------------------------------------
# One clock for all tensors and nodes: every recorded node and every in-place write takes
# the next tick. A node's stamp is thus both its place in recording order (the reverse
# sweep runs nodes from the newest down) and the time its inputs were saved: a saved input
# whose last write is newer than its node was written after being saved. While nothing is
# written in place `last_write` stays 0, so the sweep's check is one comparison per node.
_ticks = itertools.count(1)
last_write = 0
# Memory written in place: id of the array written (see `_written`) -> the tick of its last
# write (0 for all others).
versions: dict = {}


def _written(t: TensorBase):
    """What an in-place write into t marks: the array t's data lives in. A view shares it
    with its base (a write through `cr.reshape(c, ...)` changes c's values, so a node that
    saved c must see it), as PyTorch's views share their base's version counter. A value
    that is not an array (a box, a NumPy scalar) is marked itself."""
    if t._trace is not None or type(t.data) is not np.ndarray:
        return t
    data = t.data
    while isinstance(data.base, np.ndarray):
        data = data.base
    return data


def version_of(t: TensorBase) -> int:
    """The clock at the last in-place write into t's memory, 0 if never written."""
    return versions.get(id(_written(t)), 0) if versions else 0


def side_entry(table: dict, t, make):
    """id(t), after giving t (a tensor or an array) an entry `make()` in `table` if it has
    none; the entry goes when t is garbage collected. For what few tensors have (versions,
    retain_grad, hooks): a side table costs nothing per tensor, a slot every tensor."""
    key = id(t)
    if key not in table:
        table[key] = make()
        weakref.finalize(t, table.pop, key, None)
    return key


def bump_version(t: TensorBase) -> None:
    """Record that t's values were changed in place (setitem, zero_, an optimizer step)."""
    global last_write
    last_write = versions[side_entry(versions, _written(t), int)] = next(_ticks)


def check_versions(node: Node, op_name: str) -> None:
    """Raise if an input saved by `node` was written in place after it was recorded."""
    if node.stamp > last_write:
        return
    for i, a in enumerate(node):
        version = version_of(a)
        if version > node.stamp:
            raise RuntimeError(
                f"backward: input {i} of '{op_name}' (shape {tuple(a.shape)}, {a.dtype}) was "
                f"modified in place after '{op_name}' saved it for the backward pass (its "
                f"version is {version}, the graph was recorded at version {node.stamp}); "
                "write into a copy instead, or after backward()")


def ground(t: TensorBase) -> TensorBase:
    """The plain tensor under all of t's boxes (a vmap box's holds every example)."""
    while t._trace is not None:
        t = t.inner
    return t


def is_mapped(t: TensorBase) -> bool:
    """True when some box of t holds one value per example of vmap: Python control flow
    on it would need one branch per example."""
    while t._trace is not None:
        if t.mapped:
            return True
        t = t.inner
    return False


_tensor_class = TensorBase
_tensor_new = object.__new__   # a tensor's slots are set by hand: no __init__ to run


def set_tensor_class(cls) -> None:
    """Called once by tensor.py so that ops return the full Tensor class."""
    global _tensor_class
    _tensor_class = cls


class Node(list):
    """One recorded application: the list of its inputs (ordered), its operation and its
    parameters.

    A node never refers to its own output (no reference cycles, DESIGN property 5): the
    reverse sweep walks tensors, and hands each node's output to its rule as `ans`.
    The node *is* the list of its inputs rather than holding a tuple of them: one object
    per recorded op instead of two, and Python's cyclic collector rescans every object a
    deep graph keeps alive (a third of a 100,000-op scalar chain's forward pass; lean
    graphs, issue 13). The list empties once a backward has freed the saved values.
    """

    __slots__ = ("op", "params", "flows", "stamp")
    __hash__ = object.__hash__  # a node is itself, not the value of a list
    __eq__ = object.__eq__
    __ne__ = object.__ne__

    # No __init__: `Node(inputs)` is list's own constructor, in C (see `new_node`).

    def __bool__(self):
        return True   # a node, freed or not (not "a list with items")

    def __repr__(self):
        return f"<node {self.op.name} of {len(self)} inputs>"

    @property
    def inputs(self):
        """The inputs as a tuple, or None once a backward has freed the saved values."""
        return tuple(self) if len(self) else None

    @inputs.setter
    def inputs(self, value):
        if value is not None:
            raise AttributeError("a node's inputs are fixed when it is recorded")
        self.clear()   # free the saved values


def new_node(op: Primitive, inputs: tuple, params: dict, flows: tuple) -> Node:
    """The node recording op applied to `inputs` (`bind` writes this out)."""
    node = Node(inputs)
    node.op = op
    node.params = params
    node.flows = flows  # positions of the inputs gradient flows through (`flowing`)
    node.stamp = next(_ticks)  # recording order, and the version clock (see above)
    return node


PRIMITIVES: dict[str, Primitive] = {}
_builtin_names: frozenset = frozenset()


def seal_builtins() -> None:
    """Called at the end of `import chainrule`: the primitives defined so far are built in."""
    global _builtin_names
    _builtin_names = frozenset(PRIMITIVES)
    for prim in PRIMITIVES.values():
        # The op table proves every built-in rule returns its input's shape (its comparisons
        # check shapes), so the sweep checks only the rules of users' primitives.
        prim.trusted = True


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
    - `scalar`: optional, impl's same computation by Python operators (`operator.mul` for
      `np.multiply`), which `bind` calls when an input is a NumPy float scalar (0-d):
      NumPy's scalar arithmetic, the same numbers as the ufunc, 10x faster than it.
    Rules are written with chainrule ops so that one engine serves every order.
    """

    __slots__ = ("name", "impl", "vjp", "jvp", "jvp_joint", "batch", "differentiable", "doc",
                 "scalar", "trusted", "__weakref__")

    def __init__(self, name, impl, vjp=None, jvp=None, jvp_joint=None,
                 differentiable=True, register=True, doc="", batch=None, scalar=None):
        self.name = name
        self.impl = impl
        self.scalar = scalar
        self.vjp = vjp
        self.jvp = jvp
        self.jvp_joint = jvp_joint
        self.batch = batch
        self.differentiable = differentiable
        self.trusted = False  # a built-in, whose rules the op table proves (seal_builtins)
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


# `flowing`'s answers for one and two inputs, shared by every node that has them.
_FLOWS_1 = ((), (0,))
_FLOWS_2 = (((), (1,)), ((0,), (0, 1)))


def bind(op: Primitive, args: tuple, params: dict):
    """Apply `op` to tensors `args`: compute, then record a node if any input needs grad."""
    n = len(args)
    # One and two inputs (nearly every op) take `top_trace`, the impl call and `flowing`
    # written out: the profile of 1,000-op chains shows each helper call here.
    if n == 2:
        a, b = args
        ta, tb = a._trace, b._trace
        trace = ta if tb is None else tb if ta is None or tb.level > ta.level else ta
    elif n == 1:
        a = args[0]
        trace = a._trace
    else:
        trace = top_trace(args)
    if trace is None:
        try:
            if n == 2:
                da, db = a.data, b.data
                # two ndarrays (the array case) are told apart first, by identity tests
                if (type(da) is not _ndarray or type(db) is not _ndarray) and \
                        op.scalar is not None and \
                        (type(da) in SCALAR_TYPES or type(db) in SCALAR_TYPES):
                    # a 0-d ndarray (a leaf made by cr.tensor) joins as its NumPy scalar
                    if type(da) is _ndarray and not da.shape:
                        da = da[()]
                    elif type(db) is _ndarray and not db.shape:
                        db = db[()]
                    data = op.scalar(da, db)
                else:
                    data = op.impl(da, db, **params) if params else op.impl(da, db)
            elif n == 1:
                data = op.impl(a.data, **params) if params else op.impl(a.data)
            else:
                data = op.impl(*[a.data for a in args], **params)
        except (ValueError, IndexError, TypeError, np.linalg.LinAlgError) as err:
            raise _op_error(op, args, params, err) from None
        out = _new_tensor(data)
    else:
        out = trace.process(op, args, params)
    try:
        state = _state_get()
    except LookupError:
        state = thread_state()
    if state.grad_enabled and op.differentiable:
        if n == 2:
            flows = _FLOWS_2[a.requires_grad and a._trace is trace][
                b.requires_grad and b._trace is trace]
        elif n == 1:
            flows = _FLOWS_1[a.requires_grad and a._trace is trace]
        else:
            flows = flowing(args, trace)
        if flows:   # new_node written out: this runs for every recorded op
            out._node = node = Node(args)
            node.op = op
            node.params = params
            node.flows = flows
            node.stamp = next(_ticks)
            out.requires_grad = True
    if state.anomaly is not None:
        state.anomaly.recorded(op, args, out)
    return out


def saved_inputs(node: Node) -> Node:
    """The node (the list of its inputs), or the freed-graph error if a backward has
    released them."""
    if not len(node):
        raise RuntimeError(
            f"backward: the graph through '{node.op.name}' was freed by an earlier backward; "
            "pass retain_graph=True to the first backward() to go through it twice")
    return node


def differentiable_inputs(t: TensorBase):
    """The inputs of `t`'s node through which gradient flows at `t`'s level."""
    node = t._node
    if node is None:
        return ()
    saved_inputs(node)
    return tuple(node[i] for i in node.flows)


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
        if not len(node):
            saved_inputs(node)  # raises the freed-graph error
        for i in reversed(node.flows):
            a = node[i]
            if id(a) not in visited:
                stack.append((a, False))
    return order


# ----- gradient hooks ---------------------------------------------------------------------
# Tensor.register_hook: functions called with a tensor's gradient during the reverse sweep.
# Kept here, keyed by id, rather than in a slot on every tensor: almost no tensor has one,
# so the sweep's test is one lookup in an (almost always empty) dict.
grad_hooks: dict = {}
# Tensor.retain_grad: ids of the non-leaf tensors whose .grad a backward keeps.
retained: dict = {}


def retain_grad(t: TensorBase) -> None:
    """Let every backward set `t.grad` though t is not a leaf (until t is collected)."""
    side_entry(retained, t, bool)


class RemovableHandle:
    """Returned by every register_*hook: `handle.remove()` unregisters the hook."""

    __slots__ = ("_hooks", "_key")

    def __init__(self, hooks: dict, key):
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def add_grad_hook(t: TensorBase, fn) -> RemovableHandle:
    """Call `fn(grad)` when t's gradient is complete in a sweep; a tensor it returns
    replaces the gradient. The hooks go when t is garbage collected."""
    hooks = grad_hooks[side_entry(grad_hooks, t, dict)]
    token = object()
    hooks[token] = fn
    return RemovableHandle(hooks, token)


def run_grad_hooks(t: TensorBase, g):
    """g after every hook registered on t (in registration order)."""
    for fn in list(grad_hooks[id(t)].values()):
        new = fn(g)
        if new is not None:
            if tuple(new.shape) != tuple(g.shape):
                raise ValueError(f"register_hook: a hook returned a gradient of shape "
                                 f"{tuple(new.shape)} for a tensor of shape {tuple(g.shape)}")
            g = new
    return g
