"""The numba backend: chains of elementwise equations become one compiled loop each.

NumPy runs an elementwise chain one op at a time, reading and writing every intermediate
array; a fused loop keeps intermediates in registers and touches memory once per input and
output. Matmuls, reductions and everything else stay NumPy/BLAS calls. numba is an
optional extra (`pip install 'chainrule[numba]'`), imported only here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import vecmath
from .codegen import compile_tuple
from .graph import Graph

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def require_numba():
    """The numba module, or an ImportError that says how to get it."""
    try:
        import numba
    except ImportError:
        raise ImportError("jit: backend='numba' needs numba: pip install 'chainrule[numba]' "
                          "(or pip install numba)") from None
    return numba


class _Scalar:
    """Which implementations numba can call on scalars (compiled once, remembered)."""

    def __init__(self, numba):
        self.numba, self.known = numba, {}

    def callable(self, impl, nin: int, dtype):
        """A function numba can call on `nin` scalars of `dtype`, or None."""
        key = (id(impl), dtype.str)
        if key not in self.known:
            self.known[key] = self._try(impl, nin, dtype)
        return self.known[key]

    def _try(self, impl, nin, dtype):
        if isinstance(impl, np.ufunc):
            return impl if impl.nin == nin and impl.nout == 1 else None
        try:
            fn = self.numba.njit(impl)
            fn(*[dtype.type(0.5)] * nin)   # compile now: a failure means "not fusable"
            return fn
        except Exception:  # noqa: BLE001 - numba says no in many ways
            return None


@dataclass(eq=False)
class Fused:
    """A group of elementwise equations run as one loop: outputs = kernel(inputs)."""

    eqns: list
    inputs: list      # Vars read from outside (arrays of the group's shape or 0-d)
    outputs: list     # Vars used after the group
    shape: tuple
    kernel: object = None
    source: str = ""
    note: str = ""    # what the listing says on its line (default: how many are fused)


def _fusable(eqn, scalar) -> bool:
    out = eqn.out
    if vecmath.unfused(eqn):   # faster alone: NumPy's SIMD loop, or libmvec
        return False
    if eqn.nargs is not None or eqn.params or out.dtype not in _FLOATS or out.shape == ():
        return False
    if not (getattr(eqn.op, "batch", None) == "elementwise" or
            isinstance(eqn.op.impl, np.ufunc)):
        return False
    if any(v.shape not in (out.shape, ()) or v.dtype not in _FLOATS for v in eqn.inputs):
        return False
    return scalar.callable(eqn.op.impl, len(eqn.inputs), out.dtype) is not None


def partition(graph: Graph, scalar) -> list:
    """The program as equations and Fused groups; a group gathers same-shape elementwise
    equations, and other equations wait after it unless a later member needs them."""
    program, group, waiting, waiting_outs = [], [], [], set()

    def flush():
        if group:
            program.append(_group(group))
        program.extend(waiting)
        group.clear()
        waiting.clear()
        waiting_outs.clear()

    for eqn in graph.eqns:
        if _fusable(eqn, scalar):
            blocked = any(id(v) in waiting_outs for v in eqn.inputs)
            if blocked or (group and group[0].out.shape != eqn.out.shape):
                flush()
            group.append(eqn)
        elif group:
            waiting.append(eqn)
            waiting_outs.add(id(eqn.out))
        else:
            program.append(eqn)
    flush()
    return [_vector(p) for p in map(_single, program)]


def _vector(item):
    """An equation libmvec computes becomes a group of one run by its array function."""
    if isinstance(item, Fused):
        return item
    apply = vecmath.vector_function(item)
    if apply is None:
        return item
    return Fused([item], [item.inputs[0]], [item.out], item.out.shape, kernel=apply,
                 note=f"{item.op.name}, 4 at a time (libmvec)")


def _single(item):
    """A group of one equation gains nothing: it stays a NumPy call."""
    return item.eqns[0] if isinstance(item, Fused) and len(item.eqns) == 1 else item


def _group(eqns) -> Fused:
    inside, inputs, seen = {id(e.out) for e in eqns}, [], set()
    for e in eqns:
        for v in e.inputs:
            if id(v) not in inside and id(v) not in seen:
                seen.add(id(v))
                inputs.append(v)
    return Fused(list(eqns), inputs, [], eqns[0].out.shape)


def _readers(graph: Graph) -> dict:
    """id(var) -> the equations reading it (the graph's result counts as a reader)."""
    readers = {id(v): [None] for v in graph.outputs}
    for eqn in graph.eqns:
        for v in eqn.inputs:
            readers.setdefault(id(v), []).append(eqn)
    return readers


def _outputs(group: Fused, readers: dict) -> list:
    """The group's values that an equation outside it, or the graph's result, reads."""
    inside = {id(e) for e in group.eqns}
    return [e.out for e in group.eqns
            if any(r is None or id(r) not in inside for r in readers.get(id(e.out), ()))]


def _kernel_source(group: Fused, scalar, name: str) -> tuple[str, dict]:
    names, namespace, lines = {}, {}, []
    args = [f"a{i}" for i in range(len(group.inputs))]
    outs = [f"o{i}" for i in range(len(group.outputs))]
    lines.append(f"def {name}({', '.join(args + outs)}):")
    lines.append(f"    for i in range({outs[0]}.size):")
    for v, a in zip(group.inputs, args):
        names[id(v)] = f"{a}[i]" if v.shape else a
        if v.const is not None and v.shape == () and np.isfinite(v.const):
            # A literal numba folds into the loop, in the group's dtype (no promotion).
            names[id(v)] = f"_{v.dtype.name}({float(v.const)!r})"
            namespace[f"_{v.dtype.name}"] = v.dtype.type
    for k, e in enumerate(group.eqns):
        fn = f"f{k}"
        namespace[fn] = scalar.callable(e.op.impl, len(e.inputs), e.out.dtype)
        lines.append(f"        t{k} = {fn}({', '.join(names[id(v)] for v in e.inputs)})")
        names[id(e.out)] = f"t{k}"
    for v, o in zip(group.outputs, outs):
        lines.append(f"        {o}[i] = {names[id(v)]}")
    return "\n".join(lines) + "\n", namespace


def _runner(group: Fused, kernel):
    """Flattens the inputs, allocates the outputs, runs the loop, returns arrays."""
    shape, dtypes = group.shape, [v.dtype for v in group.outputs]
    size = int(np.prod(shape))
    flat = [bool(v.shape) for v in group.inputs]

    def run(*values):
        args = [np.ascontiguousarray(x).reshape(size) if f else x[()]
                for x, f in zip(values, flat)]
        outs = [np.empty(size, d) for d in dtypes]
        kernel(*args, *outs)
        return tuple(o.reshape(shape) for o in outs)

    return run


def compile_fused(graph: Graph, name: str = "compiled"):
    """(function of the inputs returning the outputs' tuple, source): fused loops inside."""
    numba = require_numba()
    scalar = _Scalar(numba)
    program = partition(graph, scalar)
    readers, compiled, sources = _readers(graph), {}, []
    for k, item in enumerate(program):
        if not isinstance(item, Fused):
            continue
        if item.kernel is not None:   # a libmvec function
            item.kernel = _runner(item, item.kernel)
            continue
        item.outputs = _outputs(item, readers)
        source, namespace = _kernel_source(item, scalar, "kernel")
        # Layers repeat: a loop written the same way (same functions) compiles once.
        key = (source, tuple(sorted((n, id(f)) for n, f in namespace.items())))
        if key not in compiled:
            exec(compile(source, f"<chainrule kernel fused{k}>", "exec"), namespace)  # noqa: S102
            compiled[key] = numba.njit(namespace["kernel"])
        item.kernel = _runner(item, compiled[key])
        item.source = source
        sources.append(f"# fused{k}: {len(item.eqns)} equations in one loop\n{source}")
    run, source = compile_tuple(graph, name, program)
    return run, source + "\n" + "\n".join(sources)


__all__ = ["Fused", "compile_fused", "partition", "require_numba"]
