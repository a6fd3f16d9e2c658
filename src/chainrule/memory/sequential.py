"""`checkpoint_sequential`: a chain of layers split into checkpointed segments, chosen for you.

Segments are recomputed in backward, so only their inputs are kept: with k segments of a
chain of n layers the sweep holds k boundary values plus one segment's inside at a time
(sqrt(n) segments make both about sqrt(n) layers' worth: Chen et al. 2016). The last
segment is not checkpointed: its inside would be recomputed at the very moment it is
needed anyway, so keeping it costs no extra peak. With `memory_budget`, each layer's
saved bytes are measured once (per input shape) and the fewest segments that fit are used.
"""

from __future__ import annotations

import math

from ..core import TensorBase, is_grad_enabled
from ..ops._define import as_tensor
from ..transforms.checkpoint import checkpoint, parse_bytes, replaying, rng_states
from ..transforms.closure import ClosureTrace, detached

__all__ = ["checkpoint_sequential", "CheckpointedSequence", "layer_bytes", "predicted_peak"]


def checkpoint_sequential(layers, segments="sqrt", memory_budget=None, policy=None):
    """A callable running `layers` (functions or an nn.Sequential) in checkpointed segments.

    segments: "sqrt" (round(sqrt(n)) segments), an int, or None (no checkpointing unless
    `memory_budget`, bytes or a size such as "20MB", asks for the fewest segments that fit).
    """
    return CheckpointedSequence(layers, segments, memory_budget, policy)


class CheckpointedSequence:
    """`layers` run in segments; `.bounds` lists (start, stop) of each, once decided."""

    def __init__(self, layers, segments="sqrt", memory_budget=None, policy=None):
        self.layers = list(layers.children() if hasattr(layers, "children") else layers)
        if not self.layers or not all(callable(f) for f in self.layers):
            raise TypeError("checkpoint_sequential: layers must be a non-empty sequence of "
                            "functions or an nn.Sequential")
        n = len(self.layers)
        if segments not in ("sqrt", None) and (isinstance(segments, bool) or not isinstance(
                segments, int) or not 1 <= segments <= n):
            raise ValueError(f"checkpoint_sequential: segments must be 'sqrt', None or an int "
                             f"from 1 to the number of layers ({n}), got {segments!r}")
        self.segments = segments
        self.budget = None if memory_budget is None else parse_bytes(
            memory_budget, "checkpoint_sequential: memory_budget")
        self.policy = policy
        self.bounds = None if self.budget is not None else _even(n, segments)
        self._decided_for = None
        self.measured = None   # (layer bytes, boundary bytes) when a budget was used

    def __call__(self, x):
        x = x if isinstance(x, TensorBase) else as_tensor(x)
        if not is_grad_enabled():   # inference: nothing is kept, so nothing to segment
            return _segment(self.layers)(x)
        if self.budget is not None and self._decided_for != (x.shape, x.dtype):
            self.measured = layer_bytes(self.layers, x)
            self.bounds = fewest_segments(*self.measured, self.budget)
            self._decided_for = (x.shape, x.dtype)
        for k, (a, b) in enumerate(self.bounds):
            run = _segment(self.layers[a:b])
            x = run(x) if k == len(self.bounds) - 1 else checkpoint(run, self.policy)(x)
        return x

    def __repr__(self):
        return f"<checkpoint_sequential {len(self.layers)} layers, segments {self.bounds}>"


def _segment(layers):
    def run(x):
        for f in layers:
            x = f(x)
        return x
    return run


def _even(n, segments):
    k = 1 if segments is None else (max(1, round(math.sqrt(n))) if segments == "sqrt"
                                    else segments)
    cuts = [round(i * n / k) for i in range(k + 1)]
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def layer_bytes(layers, x):
    """([bytes each layer's graph would keep], [bytes of each layer's input]), measured by
    running the layers once without recording."""
    inside, boundary = [], []
    x = detached(x)
    with replaying(rng_states()):   # the real pass then draws the same dropout masks
        for f in layers:
            rec = ClosureTrace()
            boundary.append(x.data.nbytes)
            x = rec.run(f, [x])
            inside.append(rec.bytes)
    return inside, boundary


def predicted_peak(bounds, inside, boundary) -> int:
    """Peak saved bytes of a segmentation: the inputs of the segments not yet reversed
    plus the inside of the one being recomputed (the last one kept whole)."""
    peak, held = 0, 0
    for a, b in bounds:
        held += boundary[a]
        peak = max(peak, held + sum(inside[a:b]))
    return peak


def fewest_segments(inside, boundary, budget):
    """The fewest segments (balanced by bytes) whose predicted peak fits `budget`."""
    n = len(inside)
    best = None
    for k in range(1, n + 1):
        bounds = _balanced(inside, k)
        peak = predicted_peak(bounds, inside, boundary)
        if peak <= budget:
            return bounds
        best = peak if best is None else min(best, peak)
    raise ValueError(f"checkpoint_sequential: no segmentation fits memory_budget={budget} "
                     f"bytes; the least predicted peak is {best} bytes (more segments keep "
                     "more inputs, fewer keep more inside each): raise the budget")


def _balanced(inside, k):
    """k contiguous segments of about equal saved bytes."""
    n, total = len(inside), sum(inside)
    bounds, start, acc = [], 0, 0
    for i, b in enumerate(inside):
        acc += b
        left = k - len(bounds) - 1    # segments still to open after this one
        if left > 0 and (acc >= total * (len(bounds) + 1) / k or n - i - 1 == left):
            bounds.append((start, i + 1))
            start = i + 1
    bounds.append((start, n))
    return [(a, b) for a, b in bounds if b > a]
