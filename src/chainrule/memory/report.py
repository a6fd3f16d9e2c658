"""`report(f, *args)`: every value the graph of f keeps for the backward pass, and the peak.

Like JAX's `print_saved_residuals`, with sizes, the user's source line that made each value
and the nn module it belongs to. The peak is that of live saved bytes during the reverse
sweep: a node's saved inputs are freed once its rule has run (and the last node using
them is done); a checkpointed node adds, while its rule runs, the values its
recomputation records.
"""

from __future__ import annotations

import html
import os
import sys
from dataclasses import dataclass

import numpy as np

from ..core import TensorBase, bind, topological_order
from ..ops._define import as_tensor
from ..transforms.checkpoint import CheckpointOp
from ..transforms.scan import ScanOp

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class SavedValue:
    """One value kept for the backward pass."""

    op: str          # the primitive that made it ("kept by policy", "snapshots": see kind)
    shape: tuple
    dtype: str
    bytes: int
    line: str        # the user's file:line that made it
    module: str      # the nn module it was made in ("" outside any)
    kind: str = "intermediate"


class MemoryReport:
    """Rows of saved values, grouped by module, with `.total_bytes` and `.peak_bytes`."""

    def __init__(self, rows, peak_bytes, inputs_bytes, curve=()):
        self.rows = rows
        # (work done, live saved bytes) as the sweep visits each node; work counts the
        # bytes of values each rule handles (a recomputation: all it records)
        self.curve = list(curve)
        self.total_bytes = sum(r.bytes for r in rows)
        self.peak_bytes = peak_bytes
        self.inputs_bytes = inputs_bytes

    def by_module(self) -> dict:
        """{module name: bytes saved in it}, in order of first appearance."""
        groups = {}
        for r in self.rows:
            groups[r.module] = groups.get(r.module, 0) + r.bytes
        return groups

    def __str__(self, limit: int = 30):
        lines = [f"saved for backward: {len(self.rows)} values, {fmt_bytes(self.total_bytes)}"
                 f" in total; peak live during the sweep {fmt_bytes(self.peak_bytes)} "
                 f"(inputs and parameters, {fmt_bytes(self.inputs_bytes)}, not counted)"]
        groups = self.by_module()
        if len(groups) > 1 or "" not in groups:
            lines.append("by module:")
            lines += [f"  {name or '(outside modules)':<32} {fmt_bytes(b):>10}"
                      for name, b in groups.items()]
        lines.append(f"{'op':<24} {'shape':<16} {'dtype':<8} {'bytes':>10}  {'module':<16} line")
        for r in self.rows[:limit]:
            lines.append(f"{r.op[:24]:<24} {str(r.shape)[:16]:<16} {r.dtype:<8} "
                         f"{fmt_bytes(r.bytes):>10}  {r.module[:16]:<16} {r.line}")
        if len(self.rows) > limit:
            lines.append(f"... {len(self.rows) - limit} more values")
        return "\n".join(lines)

    def _repr_html_(self):
        head = "".join(f"<th>{h}</th>" for h in ("op", "shape", "dtype", "bytes", "module",
                                                  "line"))
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in
                             (r.op, r.shape, r.dtype, fmt_bytes(r.bytes), r.module, r.line))
            + "</tr>" for r in self.rows)
        return (f"<p>saved for backward: {len(self.rows)} values, "
                f"<b>{fmt_bytes(self.total_bytes)}</b>; peak during the sweep "
                f"<b>{fmt_bytes(self.peak_bytes)}</b></p>"
                f"<table><tr>{head}</tr>{body}</table>")

    def __repr__(self):
        return (f"<MemoryReport {len(self.rows)} values, total {fmt_bytes(self.total_bytes)}, "
                f"peak {fmt_bytes(self.peak_bytes)}>")


def fmt_bytes(n) -> str:
    """Bytes in B, KB, MB or GB (powers of 1000)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def report(f, *args, **kwargs) -> MemoryReport:
    """What the graph of `f(*args)` keeps for backward: op, shape, dtype, bytes, source
    line, module; total and peak. Array/number arguments are differentiated (as by grad)."""
    inputs = [a if isinstance(a, TensorBase) else _leaf(a) for a in args]
    made = {}
    with _watching_binds(made, f):
        out = f(*inputs, **kwargs)
    leaves = [t for t in _tensors_of(out) if t.requires_grad]
    if not leaves:
        raise ValueError("memory.report: the output does not depend on anything that "
                         "requires grad, so nothing is saved; pass float arrays or a model "
                         "with parameters")
    return _account(topological_order(leaves), made)


def _leaf(a):
    t = as_tensor(a)
    if not np.issubdtype(t.dtype, np.floating):
        t = as_tensor(np.asarray(a, dtype=np.float64))
    t.requires_grad = True
    return t


def _tensors_of(out):
    stack, found = [out], []
    while stack:
        o = stack.pop()
        if isinstance(o, TensorBase):
            found.append(o)
        elif isinstance(o, (tuple, list)):
            stack.extend(o)
        elif isinstance(o, dict):
            stack.extend(o.values())
    return found


class _watching_binds:
    """Notes, for each result of `bind`, the user's line and the nn module it ran in."""

    def __init__(self, made, f):
        self.made, self.names = made, {}
        if hasattr(f, "named_modules"):
            self.names = {id(m): name or type(m).__name__ for name, m in f.named_modules()}

    def __enter__(self):
        self.previous = sys.getprofile()
        code, made = bind.__code__, self.made

        def hook(frame, event, arg):
            if event == "return" and frame.f_code is code and isinstance(arg, TensorBase):
                made[id(arg)] = self._where(frame.f_back)
        sys.setprofile(hook)
        return self

    def __exit__(self, *exc):
        sys.setprofile(self.previous)

    def _where(self, frame):
        import chainrule as cr
        line, inner, outer = "?", None, None
        while frame is not None:
            filename = frame.f_code.co_filename
            if line == "?" and not os.path.abspath(filename).startswith(_PACKAGE):
                line = f"{os.path.basename(filename)}:{frame.f_lineno}"
            owner = frame.f_locals.get("self")
            if isinstance(owner, cr.nn.Module):
                inner, outer = inner or owner, owner
            frame = frame.f_back
        if inner is None:
            return line, ""
        if id(inner) not in self.names and outer is not None:   # name from the model
            self.names.update((id(m), name or type(m).__name__)
                              for name, m in outer.named_modules())
        return line, self.names.get(id(inner), type(inner).__name__)


def _account(order, made) -> MemoryReport:
    uses, rows, sizes, kept = {}, [], {}, {}
    inputs_bytes = 0
    for t in order:
        node = t._node
        if node is None:
            continue
        seen = set()
        for a in node.inputs:
            k = id(a)
            if k in seen:
                continue
            seen.add(k)
            uses[k] = uses.get(k, 0) + 1
            if k in sizes or k in kept:
                continue
            if a._node is None:
                kept[k] = a.data.nbytes
                inputs_bytes += a.data.nbytes
                continue
            sizes[k] = a.data.nbytes
            line, module = made.get(k, ("?", ""))
            rows.append(SavedValue(a._node.op.name, a.shape, str(a.dtype), a.data.nbytes,
                                   line, module))
        extra = _extra_bytes(node.op)[0]
        if extra:
            line, module = made.get(id(t), ("?", ""))
            what = "snapshots" if isinstance(node.op, ScanOp) else "kept by policy"
            rows.append(SavedValue(f"{node.op.name} {what}", (), str(t.dtype), extra, line,
                                   module, kind=what))
    live = sum(r.bytes for r in rows)
    curve, work = [(0, live)], 0
    for t in reversed(order):   # the sweep's order: free what the last user has used
        node = t._node
        if node is None:
            continue
        held, extra = _extra_bytes(node.op)
        curve.append((work, live + extra))
        work += extra or t.data.nbytes
        curve.append((work, live + extra))
        live -= held
        for k in {id(a) for a in node.inputs}:
            uses[k] -= 1
            if uses[k] == 0 and k in sizes:
                live -= sizes[k]
    curve.append((work, live))
    return MemoryReport(rows, max(y for _, y in curve), inputs_bytes, curve)


def _extra_bytes(op) -> tuple:
    """(bytes a checkpoint/scan node keeps beyond its inputs: policy values, snapshots;
    bytes its rule records while it runs: the recomputation), (0, 0) for other nodes."""
    if isinstance(op, CheckpointOp):
        return op.kept_bytes, op.recompute_bytes
    if isinstance(op, ScanOp):
        return op.held_bytes, op.sweep_bytes
    return 0, 0
