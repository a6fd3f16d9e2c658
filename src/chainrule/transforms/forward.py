"""Forward mode: dual numbers as a trace; each op's JVP rule carries the tangent along."""

from __future__ import annotations

from ..core import Trace, bind
from ..ops.shape import broadcast_to
from ..tensor import Box


class JVPBox(Box):
    """A dual number: `primal` (one level down) and `tangent` (None means zero)."""

    __slots__ = ("primal", "tangent")

    def __init__(self, trace, primal, tangent):
        super().__init__(trace)
        self.primal = primal
        self.tangent = tangent

    @property
    def inner(self):
        return self.primal


class JVPTrace(Trace):
    """Interprets each primitive on dual numbers at one level."""

    __slots__ = ()

    def lift(self, x):
        return JVPBox(self, x, None)

    def process(self, op, args, params):
        primals, tangents, any_tangent = [], [], False
        for a in args:
            if a._trace is self:
                primals.append(a.primal)
                tangents.append(a.tangent)
                any_tangent = any_tangent or a.tangent is not None
            else:
                primals.append(a)
                tangents.append(None)
        out_primal = bind(op, tuple(primals), params)
        out_tangent = None
        if any_tangent and op.differentiable:
            if op.jvp_joint is not None:
                out_tangent = op.jvp_joint(tuple(tangents), out_primal, *primals, **params)
            else:
                for rule, t in zip(op.jvp, tangents):
                    if t is None:
                        continue
                    part = rule(t, out_primal, *primals, **params)
                    if part is not None:
                        out_tangent = part if out_tangent is None else out_tangent + part
            if out_tangent is not None and out_tangent.shape != out_primal.shape:
                out_tangent = broadcast_to(out_tangent, out_primal.shape)
        return JVPBox(self, out_primal, out_tangent)
