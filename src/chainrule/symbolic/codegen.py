"""Code generation: a Graph becomes a plain Python function of ndarrays (no tape, no boxes).

Each equation is one line calling its primitive's NumPy implementation. Scalars of float64
take a faster road: NumPy ufuncs on 0-d arrays cost about a microsecond a call, Python
floats tens of nanoseconds, so a chain of scalar ufuncs is written as Python arithmetic and
`math` calls. Where those differ from NumPy (Python raises on x / 0, math.exp overflow,
math.log(0)), the call falls back to the all-NumPy function, so results never change.
"""

from __future__ import annotations

import math

import numpy as np

from .graph import Graph, Slot, Var

# A NumPy ufunc and the same operation on Python floats ({0}, {1}: the operands).
SCALAR_FORMS = {
    np.add: "{0} + {1}", np.subtract: "{0} - {1}", np.multiply: "{0} * {1}",
    np.divide: "{0} / {1}", np.negative: "-{0}", np.square: "{0} * {0}",
    np.power: "_pow({0}, {1})", np.sqrt: "_sqrt({0})", np.exp: "_exp({0})",
    np.log: "_log({0})", np.sin: "_sin({0})", np.cos: "_cos({0})", np.tan: "_tan({0})",
    np.tanh: "_tanh({0})", np.sinh: "_sinh({0})", np.cosh: "_cosh({0})",
    np.arctan: "_atan({0})", np.expm1: "_expm1({0})", np.log1p: "_log1p({0})",
}
_MATH = {"_pow": math.pow, "_sqrt": math.sqrt, "_exp": math.exp, "_log": math.log,
         "_sin": math.sin, "_cos": math.cos, "_tan": math.tan, "_tanh": math.tanh,
         "_sinh": math.sinh, "_cosh": math.cosh, "_atan": math.atan, "_expm1": math.expm1,
         "_log1p": math.log1p}
_LITERALS = (bool, int, str, type(None))


_F64 = np.dtype(np.float64)


def _is_scalar64(v: Var) -> bool:
    # `is` first: NumPy's native dtypes are singletons, and == costs far more per call
    return v.shape == () and (v.dtype is _F64 or v.dtype == _F64)


def scalar_form(eqn):
    """The Python-float form of an equation, or None when it must stay a NumPy call."""
    if eqn.nargs is not None or eqn.params or not _is_scalar64(eqn.out):
        return None
    try:
        form = SCALAR_FORMS.get(eqn.op.impl)
    except TypeError:   # an unhashable impl
        return None
    if form is None or not all(_is_scalar64(v) for v in eqn.inputs):
        return None
    return form


class _Writer:
    """Names values, places constants and parameters in the namespace, writes lines."""

    def __init__(self, graph: Graph, name: str, scalars: bool):
        self.graph, self.name, self.scalars = graph, name, scalars
        self.namespace = {"_asarray": np.asarray, **_MATH, name: None}  # reserve the name
        self.names = {}            # id(var) -> name of its native form
        self.floats = set()        # ids of values held as Python floats
        self.other = {}            # id(var) -> name of its converted (float/array) form
        self.fns = {}              # id(impl) -> name in the namespace
        self.lines = []
        self.owned = set()         # ids of arrays a ufunc made that no view can share

    def constant(self, value) -> str:
        key = f"c{len(self.namespace)}"
        self.namespace[key] = value
        return key

    def function(self, op) -> str:
        key = id(op.impl)
        if key not in self.fns:
            base = "".join(c if c.isalnum() else "_" for c in op.name)
            name = base if base not in self.namespace else f"{base}_{len(self.fns)}"
            self.namespace[name] = op.impl
            self.fns[key] = name
        return self.fns[key]

    def array(self, v: Var) -> str:
        """v as an ndarray (or NumPy scalar) expression."""
        if v.const is not None:
            if id(v) not in self.names:
                self.names[id(v)] = self.constant(v.const)
            return self.names[id(v)]
        name = self.names[id(v)]
        if id(v) not in self.floats:
            return name
        if id(v) not in self.other:
            self.other[id(v)] = f"{name}_a"
            self.lines.append(f"    {name}_a = _asarray({name})")
        return self.other[id(v)]

    def float(self, v: Var) -> str:
        """v as a Python float expression."""
        if v.const is not None:
            value = float(v.const)
            return repr(value) if math.isfinite(value) else self.constant(value)
        name = self.names[id(v)]
        if id(v) in self.floats:
            return name
        if id(v) not in self.other:
            self.other[id(v)] = f"{name}_f"
            self.lines.append(f"    {name}_f = float({name})")
        return self.other[id(v)]

    def param(self, value, inputs) -> str:
        if isinstance(value, Slot):
            return self.array(inputs[value.index])
        if isinstance(value, tuple) and any(isinstance(v, Slot) for v in value):
            return "(" + "".join(self.param(v, inputs) + ", " for v in value) + ")"
        if isinstance(value, _LITERALS) or (
                isinstance(value, tuple) and all(type(v) in (int, bool) for v in value)):
            return repr(value)
        return self.constant(value)

    def equation(self, k: int, eqn, dying=()) -> None:
        out = f"v{k}"
        form = scalar_form(eqn) if self.scalars else None
        if form is not None:
            expr = form.format(*[self.float(v) for v in eqn.inputs])
            self.floats.add(id(eqn.out))
        else:
            args = [self.array(v) for v in eqn.args]
            args += [f"{key}={self.param(value, eqn.inputs)}"
                     for key, value in eqn.params.items()]
            into = self.reusable(eqn, dying)
            if into is not None:
                args.append(f"out={into}")
            expr = f"{self.function(eqn.op)}({', '.join(args)})"
        self.track_ownership(eqn)
        self.names[id(eqn.out)] = out
        self.lines.append(f"    {out} = {expr}")

    def reusable(self, eqn, dying):
        """The name of an array this elementwise ufunc may write its result into: one it
        reads for the last time, of the result's shape and dtype, that a ufunc made and no
        view shares (so writing it changes nothing anyone reads). Saves an allocation."""
        if eqn.params or not _elementwise_ufunc(eqn.op.impl):
            return None
        dead = {id(v) for v in dying}
        for v in eqn.args:
            if id(v) in dead and id(v) in self.owned and v.shape == eqn.out.shape and \
                    v.dtype == eqn.out.dtype:
                return self.names[id(v)]
        return None

    def track_ownership(self, eqn) -> None:
        """A ufunc's array result is its own; any other reader may have made a view of it."""
        impl = eqn.op.impl
        if not (isinstance(impl, np.ufunc) and impl.nout == 1):
            self.owned.difference_update(id(v) for v in eqn.inputs)
        elif eqn.out.shape != () and id(eqn.out) not in self.floats:
            self.owned.add(id(eqn.out))

    def group(self, k: int, fused) -> None:
        """A fused loop (numba backend): several outputs from one call."""
        fn = self.constant(fused.kernel)
        self.owned.difference_update(id(v) for v in fused.inputs)
        outs = [f"v{k}_{i}" for i in range(len(fused.outputs))]
        args = ", ".join(self.array(v) for v in fused.inputs)
        note = fused.note or f"{len(fused.eqns)} fused"
        self.lines.append(f"    {', '.join(outs)}, = {fn}({args})  # {note}")
        for v, name in zip(fused.outputs, outs):
            self.names[id(v)] = name

    def free(self, variables) -> None:
        """`del` arrays nobody reads again: NumPy then reuses their memory (a chain of
        16,384-float ops runs 40x faster than when every intermediate stays alive)."""
        names = []
        for v in variables:
            if id(v) in self.names and v.const is None:
                names.append(self.names[id(v)])
                if id(v) in self.other:
                    names.append(self.other[id(v)])
        if names:
            self.lines.append(f"    del {', '.join(names)}")

    def write(self, program=None) -> str:
        for i, v in enumerate(self.graph.inputs):
            self.names[id(v)] = f"x{i}"
        head = f"def {self.name}({', '.join(self.names[id(v)] for v in self.graph.inputs)}):"
        self.lines.append(head)
        items = self.graph.eqns if program is None else program
        dead = _dead_after(items, self.graph.outputs)
        for k, item in enumerate(items):
            if hasattr(item, "kernel"):
                self.group(k, item)
            else:
                self.equation(k, item, dead[k])
            self.free(dead[k])
        outs = [self.array(v) for v in self.graph.outputs]
        outs = [o if o.startswith("v") or o.startswith("x") else f"_asarray({o})" for o in outs]
        self.lines.append(f"    return ({', '.join(outs)},)")
        return "\n".join(self.lines) + "\n"


def _elementwise_ufunc(impl) -> bool:
    return isinstance(impl, np.ufunc) and impl.signature is None and impl.nout == 1


def _dead_after(items, outputs) -> list:
    """For each item, the non-scalar values it reads for the last time."""
    last = {}
    for k, item in enumerate(items):
        for v in item.inputs:
            last[id(v)] = (k, v)
    kept = {id(v) for v in outputs}
    dead = [[] for _ in items]
    for key, (k, v) in last.items():
        if key not in kept and v.shape != ():
            dead[k].append(v)
    return dead


def to_source(graph: Graph, name: str = "compiled", scalars: bool = False,
              program=None) -> tuple[str, dict]:
    """Python source of the graph (returning a tuple of outputs) and its namespace;
    `program`: the equations in order, some replaced by fused groups (numba backend)."""
    writer = _Writer(graph, name, scalars)
    return writer.write(program), writer.namespace


def _exec(source: str, namespace: dict, name: str):
    exec(compile(source, f"<chainrule graph {name}>", "exec"), namespace)  # noqa: S102
    return namespace[name]


def compile_tuple(graph: Graph, name: str = "compiled", program=None):
    """(function returning the tuple of outputs, its source): the scalar road when it helps."""
    if not any(scalar_form(e) for e in graph.eqns):
        source, namespace = to_source(graph, name, program=program)
        return _exec(source, namespace, name), source
    fast_source, fast_namespace = to_source(graph, name, scalars=True, program=program)
    fast = _exec(fast_source, fast_namespace, name)
    safe = []   # the all-NumPy program, compiled the first time it is needed

    def run(*args):
        try:
            return fast(*args)
        except (ArithmeticError, ValueError):   # math's domain errors: NumPy's answer
            if not safe:
                safe.append(_exec(*to_source(graph, name, program=program), name))
            return safe[0](*args)

    return run, fast_source


def compile_graph(graph: Graph, name: str = "compiled"):
    """A Python function of ndarrays computing the graph's outputs; `.source` shows it."""
    run, source = compile_tuple(graph, name)
    if len(graph.outputs) == 1:
        def fn(*args):
            return run(*args)[0]
    else:
        fn = run
    fn.source = source
    return fn
