"""Tracing: run a function on example inputs and record every primitive as an equation.

Symbol-to-symbol differentiation needs nothing more: tracing `cr.grad(f)` records the
backward pass the engine runs, so the derivative of a graph is more graph.
"""

from __future__ import annotations

import numpy as np

from ..core import Trace, active, bind, new_level
from ..tensor import Box
from ..transforms.api import as_input
from ..transforms.tree import flatten
from .graph import Eqn, Graph, Var


class SymbolicBox(Box):
    """A value being traced: `value` (one level down) and the `var` naming it."""

    __slots__ = ("value", "var")

    def __init__(self, trace, value, var):
        super().__init__(trace)
        self.value = value
        self.var = var

    @property
    def inner(self):
        return self.value


class SymbolicTrace(Trace):
    """Boxes a value with the Var naming it; each op applied appends an equation."""

    __slots__ = ("eqns", "count", "consts")

    def __init__(self, level):
        super().__init__(level)
        self.eqns = []
        self.count = 0
        self.consts = {}

    def new_var(self, value, const=None) -> Var:
        self.count += 1
        return Var(f"v{self.count}", tuple(value.shape), value.dtype, const)

    def const(self, tensor) -> Var:
        """A value from outside the traced function, captured as a constant."""
        key = id(tensor)
        if key not in self.consts:
            self.consts[key] = (tensor, Var(f"c{len(self.consts)}", tuple(tensor.shape),
                                            tensor.dtype, np.asarray(tensor.data)))
        return self.consts[key][1]

    def process(self, op, args, params):
        inner, in_vars = [], []
        for a in args:
            if a._trace is self:
                inner.append(a.value)
                in_vars.append(a.var)
            else:
                inner.append(a)
                in_vars.append(self.const(a))
        out = bind(op, tuple(inner), params)
        var = self.new_var(out)
        self.eqns.append(Eqn(op, tuple(in_vars), params, var))
        return SymbolicBox(self, out, var)

    def lift(self, x):
        return SymbolicBox(self, x, self.const(x))


def trace(f):
    """A function of example inputs returning f's Graph (specialized to their shapes)."""

    def traced(*args) -> Graph:
        tr = SymbolicTrace(new_level())
        inputs, boxes = [], []
        for i, a in enumerate(args):
            a = as_input(a, "trace", i)
            var = Var(f"x{i}", tuple(a.shape), a.dtype)
            inputs.append(var)
            boxes.append(SymbolicBox(tr, a, var))
        with active(tr):
            out = f(*boxes)
        leaves, _ = flatten(out, "trace")
        outputs = [o.var if o._trace is tr else tr.const(o) for o in leaves]
        graph = Graph(inputs, tr.eqns, outputs)
        graph.examples = tuple(np.asarray(b.value.data) for b in boxes)
        return graph

    return traced
