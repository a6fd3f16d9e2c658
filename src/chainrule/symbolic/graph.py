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


@dataclass(frozen=True)
class Slot:
    """A parameter computed by the traced function: filled from `eqn.inputs[index]`."""

    index: int


def fill_params(value, inputs):
    """`value` (params or a part of them) with every Slot replaced by its input's value."""
    if isinstance(value, Slot):
        return inputs[value.index]
    if isinstance(value, dict):
        return {k: fill_params(v, inputs) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(fill_params(v, inputs) for v in value)
    return value


@dataclass(eq=False)
class Eqn:
    """out = op(*inputs[:nargs], **params); inputs past `nargs` fill the params' Slots."""

    op: Primitive
    inputs: tuple
    params: dict
    out: Var
    nargs: int | None = None   # None: every input is an argument

    @property
    def args(self) -> tuple:
        return self.inputs if self.nargs is None else self.inputs[:self.nargs]

    def evaluate(self, values: list):
        """op.impl on `values` (one per input), Slots filled."""
        n = len(values) if self.nargs is None else self.nargs
        params = self.params if self.nargs is None else fill_params(self.params, values)
        return self.op.impl(*values[:n], **params)

    def __str__(self):
        args = ", ".join(_show(v) for v in self.args)
        extra = "".join(f", {k}={_show_param(v, self.inputs)}" for k, v in self.params.items())
        return f"{self.out.name} = {self.op.name}({args}{extra})"


def _show(v: Var) -> str:
    if v.const is not None and v.const.size == 1:
        return repr(v.const.item())
    return v.name


def _show_param(value, inputs=()) -> str:
    if isinstance(value, Slot):
        return inputs[value.index].name
    if isinstance(value, tuple) and any(isinstance(i, (np.ndarray, Slot)) for i in value):
        return "(" + ", ".join(_show_param(i, inputs) for i in value) + ",)"
    if isinstance(value, np.ndarray):
        return f"<array {value.shape} {value.dtype}>" if value.size > 8 else repr(value.tolist())
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
            params = e.params
            if e.nargs is not None:
                params = fill_params(params, [read(v).data for v in e.inputs])
            env[id(e.out)] = bind(e.op, tuple(read(v) for v in e.args), params)
        outs = [read(v) for v in self.outputs]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def count(self) -> int:
        """Number of equations."""
        return len(self.eqns)


def is_tensor(x) -> bool:
    return isinstance(x, TensorBase)
