"""`cr.jit`: trace a function once per argument signature, simplify, run generated NumPy.

The first call for a combination of argument shapes, dtypes and static values records `f`
with a `JitTrace` (the symbolic trace, on the real arguments), simplifies the graph and
generates a Python function of ndarrays; later calls with that signature run it directly.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

import numpy as np

from ..core import (
    TensorBase,
    _new_tensor,
    active,
    in_reverse,
    innermost_trace,
    new_level,
    paused_collection,
)
from ..transforms.anomaly import user_line
from .codegen import compile_tuple
from .graph import Graph, Slot, Var
from .rewrite import simplify
from .trace import SymbolicBox, SymbolicTrace

_BACKENDS = ("numpy", "numba")


class ConcretizationError(TypeError):
    """Python asked a value recorded by `cr.jit` for a concrete number (bool, item, ...)."""


class JitTrace(SymbolicTrace):
    """The symbolic trace under `cr.jit`: values are recorded, never shown to Python.

    Parameters computed from traced values (integer targets, index arrays) become Slots
    filled at run time; tensors that require grad captured from the closure (a model's
    parameters) become extra inputs read at each call, so training them never goes stale.
    """

    __slots__ = ("by_data", "live")

    def __init__(self, level):
        super().__init__(level)
        self.by_data = {}   # id(array) -> (array, Var) for every traced value
        self.live = []      # (tensor, Var): captured parameters, read at each call

    def concrete(self, what):
        raise ConcretizationError(
            f"jit: {what} of a traced value at {user_line()}. Under cr.jit the function is "
            "recorded once and replayed without Python seeing values: use cr.where for a "
            "choice by value, cr.cond / cr.fori_loop for control flow, or mark the argument "
            "static (static_argnums=/static_argnames=)")

    def register(self, box, var) -> None:
        self.by_data[id(box.data)] = (box.data, var)

    def const(self, tensor):
        if tensor.requires_grad and tensor._node is None and tensor._trace is None:
            key = id(tensor)
            if key not in self.consts:
                var = Var(f"p{len(self.live)}", tuple(tensor.shape), tensor.dtype)
                self.consts[key] = (tensor, var)
                self.live.append((tensor, var))
            return self.consts[key][1]
        return super().const(tensor)

    def process(self, op, args, params):
        box = super().process(op, args, params)
        eqn = self.eqns[-1]
        if params:
            extra = []
            filled = self._slots(params, eqn.inputs, extra)
            if extra:
                eqn.nargs = len(eqn.inputs)
                eqn.inputs = eqn.inputs + tuple(extra)
                eqn.params = filled
        self.register(box, eqn.out)
        return box

    def _slots(self, value, inputs, extra):
        """`value` with every array that is a traced value's data replaced by a Slot."""
        if isinstance(value, np.ndarray):
            hit = self.by_data.get(id(value))
            if hit is not None and hit[0] is value:
                extra.append(hit[1])
                return Slot(len(inputs) + len(extra) - 1)
            return value
        if isinstance(value, dict):
            return {k: self._slots(v, inputs, extra) for k, v in value.items()}
        if isinstance(value, tuple):
            return tuple(self._slots(v, inputs, extra) for v in value)
        return value


# ----- pytrees of arguments and results ---------------------------------------------------

def _flatten(tree, leaves: list):
    """Append tree's leaves to `leaves`; return its structure (hashable)."""
    if isinstance(tree, (tuple, list)):
        return (type(tree), tuple(_flatten(t, leaves) for t in tree))
    if isinstance(tree, dict):
        return (dict, tuple((k, _flatten(v, leaves)) for k, v in tree.items()))
    leaves.append(tree)
    return None


def _unflatten(structure, leaves):
    """The tree of `structure` with leaves taken in order from the iterator `leaves`."""
    if structure is None:
        return next(leaves)
    kind, parts = structure
    if kind is dict:
        return {k: _unflatten(s, leaves) for k, s in parts}
    return kind(_unflatten(s, leaves) for s in parts)


def _is_array(leaf) -> bool:
    return isinstance(leaf, (TensorBase, np.ndarray, np.generic))


def _leaf_key(leaf, position: int):
    """How a leaf enters the cache key: arrays by shape and dtype, the rest by value."""
    if _is_array(leaf):
        return (leaf.shape, leaf.dtype.str)
    value = leaf.value if isinstance(leaf, _Static) else leaf
    try:
        hash(value)
    except TypeError:
        what = "static argument" if isinstance(leaf, _Static) else "argument"
        raise TypeError(f"jit: {what} leaf {position} is a {type(value).__name__}, which is "
                        "neither an array nor hashable; pass arrays/tensors, or a hashable "
                        "value (a tuple, not a list) to be treated as a constant") from None
    return ("static", type(value), value)


# ----- the compiled program -----------------------------------------------------------------

@dataclass
class Lowered:
    """A traced, simplified and generated program: print() it to read it."""

    graph: Graph
    source: str
    log: list
    nodes_traced: int
    nodes: int
    seconds: dict = field(default_factory=dict)   # trace / simplify / codegen times
    run: object = None
    live: list = field(default_factory=list)
    out_structure: object = None
    out_static: dict = field(default_factory=dict)   # leaf position -> non-array result

    def __str__(self):
        def typed(v):
            return f"{v.name}:{v.dtype}{list(v.shape)}"
        lines = [f"# {self.nodes_traced} equations traced, {self.nodes} after simplification",
                 f"{{ lambda {', '.join(typed(v) for v in self.graph.inputs)} . let"]
        lines += [f"    {typed(e.out)} = {str(e).split(' = ', 1)[1]}" for e in self.graph.eqns]
        outs = ", ".join(v.name if v.const is None else repr(v.const.tolist())
                         if v.const.size <= 4 else v.name for v in self.graph.outputs)
        lines.append(f"  in ({outs}) }}")
        return "\n".join(lines)

    def stale(self) -> bool:
        """True when a captured parameter changed shape or dtype since the trace."""
        live_vars = self.graph.inputs[len(self.graph.inputs) - len(self.live):]
        return any(t.data.shape != v.shape or t.data.dtype != v.dtype
                   for t, v in zip(self.live, live_vars))

    def __call__(self, arrays):
        """Run on the argument arrays; results rebuilt into f's output structure."""
        outs = iter(self.run(*arrays, *[t.data for t in self.live]))
        total = len(self.graph.outputs) + len(self.out_static)
        leaves = [self.out_static[i] if i in self.out_static else _new_tensor(next(outs))
                  for i in range(total)]
        return _unflatten(self.out_structure, iter(leaves))

    def __repr__(self):
        return (f"<Lowered: {self.nodes} equations ({self.nodes_traced} traced), "
                f"{len(self.graph.inputs)} inputs, {len(self.graph.outputs)} outputs>")


def _trace(f, leaves, structure) -> tuple:
    """(graph, live parameters, output structure, static outputs) of f on these leaves."""
    tr = JitTrace(new_level())
    boxed, inputs = [], []
    for leaf in leaves:
        if not _is_array(leaf):
            boxed.append(leaf.value if isinstance(leaf, _Static) else leaf)
            continue
        value = leaf if isinstance(leaf, TensorBase) else _new_tensor(np.asarray(leaf))
        if value._trace is not None or value._node is not None:
            value = _new_tensor(value.data)
        var = Var(f"x{len(inputs)}", tuple(value.shape), value.dtype)
        box = SymbolicBox(tr, value, var)
        tr.register(box, var)
        inputs.append(var)
        boxed.append(box)
    call_args, call_kwargs = _unflatten(structure, iter(boxed))
    with active(tr):
        out = f(*call_args, **call_kwargs)
    out_leaves = []
    out_structure = _flatten(out, out_leaves)
    outputs, out_static = [], {}
    for i, leaf in enumerate(out_leaves):
        if isinstance(leaf, TensorBase):
            outputs.append(leaf.var if leaf._trace is tr else tr.const(leaf))
        elif isinstance(leaf, (np.ndarray, np.generic, int, float)) and not isinstance(
                leaf, bool):
            outputs.append(tr.const(_new_tensor(np.asarray(leaf))))
        else:
            out_static[i] = leaf
    graph = Graph(inputs + [v for _, v in tr.live], tr.eqns, outputs)
    return graph, [t for t, _ in tr.live], out_structure, out_static


def lower(f, leaves, structure, backend="numpy", name="jitted") -> Lowered:
    """Trace, simplify and generate code for f on these argument leaves."""
    with paused_collection():   # a trace makes many objects and no cycles
        t0 = time.perf_counter()
        graph, live, out_structure, out_static = _trace(f, leaves, structure)
        traced = graph.count()
        t1 = time.perf_counter()
        simplify(graph)
        t2 = time.perf_counter()
        if backend == "numba":
            from .fuse import compile_fused
            run, source = compile_fused(graph, name)
        else:
            run, source = compile_tuple(graph, name)
        t3 = time.perf_counter()
    return Lowered(graph, source, graph.log, traced, graph.count(),
                   {"trace": t1 - t0, "simplify": t2 - t1, "codegen": t3 - t2}, run, live,
                   out_structure, out_static)


class Jitted:
    """`f` compiled per argument signature; see `jit`."""

    def __init__(self, f, static_argnums=(), static_argnames=(), backend="numpy"):
        if backend not in _BACKENDS:
            raise ValueError(f"jit: backend must be one of {_BACKENDS}, got {backend!r}")
        if backend == "numba":
            from .fuse import require_numba
            require_numba()
        functools.update_wrapper(self, f)
        self.fun = f
        self.static_argnums = (static_argnums,) if isinstance(static_argnums, int) else tuple(
            static_argnums)
        self.static_argnames = (static_argnames,) if isinstance(static_argnames, str) else \
            tuple(static_argnames)
        self.backend = backend
        self._cache: dict = {}
        self._name = "".join(c if c.isalnum() else "_" for c in getattr(f, "__name__", "f"))

    def _leaves(self, args, kwargs) -> tuple:
        """(leaves, structure) of the arguments; static ones are single `_Static` leaves."""
        n = len(args)
        static = {i % n for i in self.static_argnums if -n <= i < n}
        args = tuple(_Static(a) if i in static else a for i, a in enumerate(args))
        kwargs = {k: _Static(v) if k in self.static_argnames else v for k, v in kwargs.items()}
        leaves = []
        structure = _flatten((args, kwargs), leaves)
        return leaves, structure

    def _inline(self, leaves) -> bool:
        """Inside another transform, or on tensors that require grad, run f as it is: the
        compiled program's results are not recorded, so the tape must see f itself."""
        return innermost_trace() is not None or in_reverse() or any(
            isinstance(x, TensorBase) and (x._trace is not None or x.requires_grad)
            for x in leaves)

    def _entry(self, leaves, structure) -> Lowered:
        key = (structure, *(_leaf_key(x, i) for i, x in enumerate(leaves)))
        entry = self._cache.get(key)
        if entry is None or entry.stale():
            entry = lower(self.fun, leaves, structure, self.backend, self._name)
            self._cache[key] = entry
        return entry

    def __call__(self, *args, **kwargs):
        leaves, structure = self._leaves(args, kwargs)
        if self._inline(leaves):
            return self.fun(*args, **kwargs)
        entry = self._entry(leaves, structure)
        arrays = [x.data if isinstance(x, TensorBase) else np.asarray(x) for x in leaves
                  if _is_array(x)]
        return entry(arrays)

    def lower(self, *args, **kwargs) -> Lowered:
        """The program for these arguments: print() it; `.source`, `.log`, node counts."""
        return self._entry(*self._leaves(args, kwargs))

    @property
    def cache_size(self) -> int:
        """How many signatures have a compiled program."""
        return len(self._cache)

    def clear_cache(self) -> None:
        """Forget every compiled program (the next call traces again)."""
        self._cache.clear()

    def __get__(self, obj, objtype=None):
        """Decorating a method binds like a function does."""
        return self if obj is None else functools.partial(self, obj)


@dataclass(frozen=True)
class _Static:
    """Marks a static argument while flattening, so its insides stay one leaf."""

    value: object


def jit(f=None, *, static_argnums=(), static_argnames=(), backend="numpy"):
    """Compile `f`: trace once per argument signature (shapes, dtypes, static values),
    simplify, and run generated NumPy code (backend="numba": fused elementwise loops)."""
    if f is None:
        return lambda g: Jitted(g, static_argnums, static_argnames, backend)
    return Jitted(f, static_argnums, static_argnames, backend)
