"""Run a function with its arguments boxed, to see (and swap) the tensors it reads from outside.

`checkpoint` and `scan` record a function as one node. The node's inputs must include
every tensor the function closes over (a module's weights, a captured `w`), or their
gradient is lost. A `ClosureTrace` finds them: each op touching a boxed value passes
through `process`, where any argument that is not a box is an outside tensor. The first
run ("discover") lists them in order of use; a later run ("replay") substitutes new
values for them by that same position, so a recomputation differentiates with respect to
the node's inputs. The trace also counts bytes, and keeps or hands back the op results a
saving policy names.
"""

from __future__ import annotations

import numpy as np

from ..core import Trace, _new_tensor, bind, ground, is_grad_enabled, new_level, new_node
from ..tensor import Box

# Results of these primitives are kept by `policy="dots"` (JAX's dots_saveable).
DOTS = frozenset({"matmul", "einsum", "linear", "conv2d"})


def needs_grad(t) -> bool:
    """True when t is differentiated at some level (recorded, or boxed by a transform)."""
    return t.requires_grad or t._trace is not None


class ClosureBox(Box):
    """A value inside a checkpointed function: `value` (one level down) and the `position`
    of the op that made it (None for an argument)."""

    __slots__ = ("value", "position")

    def __init__(self, trace, value, position):
        super().__init__(trace)
        self.value = value
        self.position = position

    @property
    def inner(self):
        return self.value


class ClosureTrace(Trace):
    """One run of a function: outside tensors in order of use, and which are captured."""

    __slots__ = ("uses", "captures", "_capture_index", "_detached", "replacements",
                 "saved", "save", "ops", "bytes", "_cursor")

    def __init__(self, save=None, uses=None, replacements=None, saved=None):
        super().__init__(new_level())
        self.save = save                  # None, "dots" or a set of checkpoint names
        self.uses = [] if uses is None else uses   # per outside use: capture index or None
        self.replacements = replacements  # replay: the values standing for the captures
        self.captures = []                # discover: the outside tensors needing gradient
        self._capture_index = {}
        self._detached = {}
        self.saved = {} if saved is None else saved   # op position -> (name, ndarray)
        self.ops = 0                      # ops seen so far (positions for `saved`)
        self.bytes = 0                    # bytes of every op result (what recording keeps)
        self._cursor = 0

    # ----- running ----------------------------------------------------------------------
    def run(self, f, inner_args):
        """f on boxes of `inner_args`; returns f's output unboxed (a tensor)."""
        out = self.call(f, inner_args)
        if not hasattr(out, "_trace"):
            raise TypeError(f"{getattr(f, '__name__', 'f')}: a checkpointed function must "
                            f"return one tensor, got {type(out).__name__}")
        out = self.unbox(out)
        self.finish(f)
        return out

    def call(self, f, inner_args):
        """f on boxes of `inner_args`, its output as f returned it (boxes inside)."""
        return f(*[ClosureBox(self, a, None) for a in inner_args])

    def unbox(self, t):
        """One output of f as a value outside this trace."""
        return t.value if t._trace is self else self._outside(t)

    def finish(self, f):
        """In a replay, check that f used as many outside tensors as the first time."""
        if self.replacements is not None and self._cursor != len(self.uses):
            raise RuntimeError(_changed(f))

    def lift(self, x):
        return ClosureBox(self, x, None)

    def process(self, op, args, params):
        position = self.ops
        self.ops += 1
        inner = tuple(a.value if a._trace is self else self._outside(a) for a in args)
        kept = self.saved.get(position) if self.replacements is not None else None
        if kept is not None:
            if kept[0] and kept[0] != op.name:
                raise RuntimeError(_changed(None))
            out = _with_value(op, inner, params, kept[1])
        else:
            out = bind(op, inner, params)
            if self.save == "dots" and op.name in DOTS and self.replacements is None:
                self.saved[position] = (op.name, out.data)
        self.bytes += ground(out).data.nbytes   # a vmap box: all its examples
        return ClosureBox(self, out, position)

    def _outside(self, a):
        """The value to use for an outside tensor `a` at its next use."""
        k = self._cursor
        self._cursor += 1
        if self.replacements is not None:   # replay: the same position gets the new value
            if k >= len(self.uses):
                raise RuntimeError(_changed(None))
            i = self.uses[k]
            return a if i is None else self.replacements[i]
        if not needs_grad(a):
            self.uses.append(None)
            return a
        i = self._capture_index.get(id(a))
        if i is None:
            i = self._capture_index[id(a)] = len(self.captures)
            self.captures.append(a)
        self.uses.append(i)
        if a._trace is not None:
            return a
        d = self._detached.get(id(a))   # recording nothing here is the memory saved
        if d is None:
            d = self._detached[id(a)] = _new_tensor(a.data)
        return d

    def tag(self, box, name):
        """`checkpoint_name`: keep the value of `box` when the policy names `name`."""
        if self.replacements is None and isinstance(self.save, frozenset) and name in self.save:
            position = box.position
            if position is not None and position not in self.saved:
                self.saved[position] = ("", box.value.data)


def _with_value(op, inner, params, data):
    """op applied to `inner` recorded as a node, with its result taken from `data`
    (a value the policy kept) instead of being computed again."""
    if any(a._trace is not None for a in inner):
        return bind(op, inner, params)   # under a transform: compute (exact, no saving)
    out = _new_tensor(data)
    flows = tuple(i for i, a in enumerate(inner) if a.requires_grad)
    if is_grad_enabled() and op.differentiable and flows:
        out._node = new_node(op, inner, params, flows)
        out.requires_grad = True
    return out


def _changed(f) -> str:
    name = getattr(f, "__name__", "the function") if f is not None else "the function"
    return (f"checkpoint: {name} ran differently when recomputed (other ops or other outside "
            "tensors than in the forward pass); a checkpointed function must do the same "
            "thing each time it is called with the same values")


def detached(t):
    """A plain tensor sharing t's value: ops on it record nothing."""
    return t if t._trace is not None else _new_tensor(t.data)


def same_value(a: np.ndarray, b: np.ndarray) -> bool:
    """True when a recomputation reproduced a value (up to summation-order rounding)."""
    if a.shape != b.shape:
        return False
    scale = float(np.max(np.abs(a), initial=0.0)) if a.size else 0.0
    tol = (1e-4 if a.dtype == np.float32 else 1e-9) * max(scale, 1.0)
    return bool(np.all(np.abs(a - b) <= tol) or np.array_equal(a, b, equal_nan=True))
