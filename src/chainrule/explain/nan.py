"""`cr.explain.nan(f, *args)`: where a gradient stops being finite, and why.

The reverse sweep runs with an edge observer. The first edge whose contribution is not
finite although the cotangent arriving at its output was, is where the NaN (or inf) was
born: its rule's local derivative is shown (the rule applied to a cotangent of ones), with
the path from the output down to that edge. The commonest case gets its own explanation:
a branch that `where` did not select still has its derivative evaluated, and an infinite
local derivative (sqrt'(0), log'(0), 1/x at 0) times the zero cotangent of the unselected
branch is 0 * inf = nan; the fix is the double `where` of docs/conventions.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import core
from ..tensor import Tensor
from ..transforms.reverse import sweep

__all__ = ["NanReport", "nan", "nan_report"]


@dataclass
class NanReport:
    """Where a non-finite gradient was born (`found` False when every gradient is finite)."""

    found: bool
    op: str = ""                  # the op whose rule made the first non-finite cotangent
    input_index: int = -1
    input_name: str = ""
    line: str = ""                # the user's line that created that op (if recorded)
    arriving: np.ndarray | None = None   # the (finite) cotangent arriving at its output
    local: np.ndarray | None = None      # its rule applied to ones: the local derivative
    made: np.ndarray | None = None       # the non-finite contribution
    zero_times_inf: bool = False
    path: list = field(default_factory=list)   # op names from the output down to the edge
    gradients: dict = field(default_factory=dict)

    def __str__(self) -> str:
        if not self.found:
            return "every gradient is finite: there is no NaN to explain"
        lines = [f"the first non-finite gradient is born on the edge {self.op} -> "
                 f"{self.input_name} (input {self.input_index} of '{self.op}')"]
        if self.line:
            lines.append(f"  '{self.op}' was created at {self.line}")
        lines.append("  path from the output: " + " -> ".join(self.path + [self.input_name]))
        lines.append(f"  cotangent arriving at '{self.op}': {_short(self.arriving)}")
        lines.append(f"  local derivative of '{self.op}' (its rule on ones): {_short(self.local)}")
        lines.append(f"  contribution it made: {_short(self.made)}")
        if self.zero_times_inf:
            lines.append(
                f"  why: {self.op}'s derivative is infinite where the arriving cotangent is 0, "
                "and 0 * inf = nan. A zero cotangent usually means a `where` did not select "
                "this branch, yet the unselected branch's derivative is still evaluated.")
            lines.append(
                "  fix: the double where (docs/conventions.md): make the unselected branch "
                "safe before the op, e.g. cr.where(x > 0, cr.sqrt(cr.where(x > 0, x, 1.0)), 0.0)")
        else:
            lines.append(f"  why: {self.op}'s derivative rule itself is not finite there; "
                         "check the input's domain")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html
        return f"<pre>{html.escape(str(self))}</pre>"


def _short(a) -> str:
    if a is None:
        return "-"
    a = np.asarray(a)
    return np.array2string(a, precision=4, threshold=8) if a.size > 1 else f"{a.item():.4g}"


def _path(output, target) -> list:
    """Op names along one path from `output` down to `target` (iterative DFS)."""
    stack, seen = [(output, [])], set()
    while stack:
        t, ops = stack.pop()
        if t is target:
            return ops + [t._node.op.name]
        if id(t) in seen or t._node is None or t._node.inputs is None:
            continue
        seen.add(id(t))
        for a in t._node.inputs:
            stack.append((a, ops + [t._node.op.name]))
    return [target._node.op.name]


def nan_report(output, names: dict | None = None, lines: dict | None = None) -> NanReport:
    """The report for the scalar tensor `output` (its graph still held); `names` maps
    id(tensor) to a display name, `lines` id(tensor) to the user's line."""
    names, lines = names or {}, lines or {}
    if output.size != 1:
        raise ValueError(f"explain.nan: the function must return one number, got shape "
                         f"{output.shape}")
    first = {}

    def on_edge(t, i, g, contribution, total):
        if first or bool(np.isfinite(contribution.data).all()) or not bool(
                np.isfinite(g.data).all()):
            return
        node = t._node
        local = node.op.vjp[i](Tensor(np.ones_like(g.data)), t, *node.inputs, **node.params)
        first.update(t=t, i=i, g=g.data.copy(), made=contribution.data.copy(),
                     local=None if local is None else local.data.copy(),
                     a=node.inputs[i])

    seed = Tensor(np.ones(output.shape, output.dtype))
    with core.no_grad():
        reached = sweep([output], [seed], retain_graph=True, on_edge=on_edge)
    gradients = {names.get(k, f"input {n}"): g.data for n, (k, (_, g)) in
                 enumerate(reached.items())}
    if not first:
        return NanReport(False, gradients=gradients)
    t, i, a = first["t"], first["i"], first["a"]
    g, local = first["g"], first["local"]
    zero_inf = bool(np.any((np.broadcast_to(g, first["made"].shape) == 0)
                           & ~np.isfinite(first["made"])))
    return NanReport(True, t._node.op.name, i, names.get(id(a), f"its input {i}"),
                     lines.get(id(t), ""), g, local, first["made"], zero_inf,
                     _path(output, t), gradients)


def nan(f, *args) -> NanReport:
    """Run `f(*args)` (one number out) and its gradient, and explain the first non-finite
    gradient: the edge, the local derivative, the path and the usual fix."""
    from ..transforms.anomaly import detect_anomaly

    leaves = [a if isinstance(a, Tensor) and a.requires_grad else
              Tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in args]
    names = {id(x): f"x{i}" if len(leaves) > 1 else "x" for i, x in enumerate(leaves)}
    with detect_anomaly(check_nan=False) as recorder, np.errstate(all="ignore"):
        out = f(*leaves)
        lines = {k: where for k, (ref, where) in recorder.lines.items()}
        return nan_report(out, names, lines)
