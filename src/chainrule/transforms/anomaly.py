"""`cr.detect_anomaly()`: stop at the first operation whose value or gradient stops being
finite, and name the line of the user's code that created it.

While the context is active, every operation records the first line of the caller's
code outside chainrule and checks its result; the reverse sweep checks every cotangent it
makes. The first non-finite one raises `FloatingPointError` naming the op, the user's
line, the input shapes and which input (or which incoming cotangent) was already
non-finite. It costs a stack walk and an isfinite per op: fine for small runs and
debugging, not for benchmarks.
"""

from __future__ import annotations

import os
import sys
import weakref

import numpy as np

from .. import core

__all__ = ["detect_anomaly", "user_line"]

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def user_line() -> str:
    """`file:line: code` of the innermost caller outside the chainrule package."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:
        return "<chainrule internals>"
    import linecache
    code = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    where = f"{frame.f_code.co_filename}:{frame.f_lineno}"
    return f"{where}: {code}" if code else where


def _finite(a) -> bool:
    data = core.ground(a).data
    return data.dtype.kind not in "fc" or bool(np.isfinite(data).all())


def _shapes(args) -> str:
    return ", ".join(f"{tuple(a.shape)} {a.dtype}" for a in args)


class detect_anomaly:
    """Context manager: raise at the first non-finite forward value or backward cotangent,
    naming the op and the line of your code that made it (PyTorch's detect_anomaly, plus
    the line for the backward pass too)."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = bool(check_nan)
        self.lines: dict = {}
        self._previous = None
        self._in_rule = 0  # inside a derivative rule: its ops are judged by their result

    def __enter__(self):
        state = core.thread_state()
        self._previous, state.anomaly = state.anomaly, self
        return self

    def __exit__(self, *exc):
        core.thread_state().anomaly = self._previous
        self.lines.clear()
        return False

    def line_of(self, t) -> str:
        """The user's line that created tensor t (while this context was active)."""
        ref, where = self.lines.get(id(t), (None, None))
        return where if ref is not None and ref() is t else "an unknown line"

    def recorded(self, op, args, out) -> None:
        """Called by `bind` for every op: remember the line, check the value."""
        where = user_line()
        self.lines[id(out)] = (weakref.ref(out), where)
        if self.check_nan and not self._in_rule and not _finite(out):
            bad = [i for i, a in enumerate(args) if not _finite(a)]
            cause = (f"input {', '.join(map(str, bad))} was already non-finite" if bad else
                     "all its inputs were finite")
            raise FloatingPointError(
                f"detect_anomaly: '{op.name}' produced a non-finite value (nan or inf) at "
                f"{where}; its inputs were ({_shapes(args)}) and {cause}")

    def run_rule(self, rule, t, i: int, g, inputs, params):
        """The reverse sweep's call of a vjp rule, with its result checked."""
        self._in_rule += 1
        try:
            ga = rule(g, t, *inputs, **params)
        finally:
            self._in_rule -= 1
        if ga is not None:
            self.cotangent(t, i, g, ga)
        return ga

    def cotangent(self, t, i: int, g, ga) -> None:
        """Raise if the cotangent `ga` a rule made for input i of t's node is not finite."""
        if not self.check_nan or _finite(ga):
            return
        op = t._node.op.name
        came = ("the cotangent arriving at its output was already non-finite" if not
                _finite(g) else "the cotangent arriving at its output was finite, so "
                f"'{op}''s own derivative rule made it non-finite")
        raise FloatingPointError(
            f"detect_anomaly: the backward pass of '{op}' (created at {self.line_of(t)}) gave "
            f"a non-finite gradient for its input {i} of shape "
            f"{tuple(t._node.inputs[i].shape)}; {came}. cr.explain.nan(f, *args) shows the "
            "path and the usual fix")
