"""The graph IR: variables, equations (one primitive application each) and a Graph."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core import Primitive, TensorBase, bind


@dataclass(eq=False)
class Var:
    """A value in the graph: an input, a constant, or the output of one equation."""

    name: str
    shape: tuple
    dtype: np.dtype
    const: np.ndarray | None = None   # set for constants

    def __repr__(self):
        return self.name


@dataclass(eq=False)
class Eqn:
    """out = op(*inputs, **params)."""

    op: Primitive
    inputs: tuple
    params: dict
    out: Var

    def __str__(self):
        args = ", ".join(_show(v) for v in self.inputs)
        extra = "".join(f", {k}={_show_param(v)}" for k, v in self.params.items())
        return f"{self.out.name} = {self.op.name}({args}{extra})"


def _show(v: Var) -> str:
    if v.const is not None and v.const.size == 1:
        return repr(v.const.item())
    return v.name


def _show_param(value) -> str:
    if isinstance(value, tuple) and any(isinstance(i, np.ndarray) for i in value):
        return "<index>"
    return repr(value)


@dataclass(eq=False)
class Graph:
    """A straight-line program of primitives: the symbolic form of a traced function."""

    inputs: list
    eqns: list
    outputs: list
    log: list = field(default_factory=list)   # the rewrites applied, in order

    def __str__(self):
        lines = [f"graph({', '.join(v.name for v in self.inputs)}):"]
        lines += [f"  {e}" for e in self.eqns]
        lines.append(f"  return {', '.join(_show(v) for v in self.outputs)}")
        return "\n".join(lines)

    def __call__(self, *args):
        """Evaluate with chainrule ops, so the result is itself differentiable."""
        from ..ops._define import as_tensor, constant

        if len(args) != len(self.inputs):
            raise TypeError(f"graph: takes {len(self.inputs)} inputs, got {len(args)}")
        env = {}
        for v, a in zip(self.inputs, args):
            a = as_tensor(a)
            if a.shape != v.shape:
                raise ValueError(f"graph: input {v.name} has shape {v.shape}, got {a.shape}")
            env[id(v)] = a

        def read(v):
            if v.const is not None:
                return constant(v.const)
            return env[id(v)]

        for e in self.eqns:
            env[id(e.out)] = bind(e.op, tuple(read(v) for v in e.inputs), e.params)
        outs = [read(v) for v in self.outputs]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def count(self) -> int:
        """Number of equations."""
        return len(self.eqns)


def is_tensor(x) -> bool:
    return isinstance(x, TensorBase)
