"""`plan(...)`: the schedule before it runs (snapshots or segments, predicted recomputations
and peak bytes), and after it has run, the measured figures beside the predicted ones."""

from __future__ import annotations

import html
import math
import tracemalloc

import numpy as np

from ..core import _new_tensor
from ..ops._define import as_tensor
from ..transforms import revolve
from ..transforms.checkpoint import parse_bytes, replaying, rng_states
from ..transforms.closure import ClosureTrace, detached
from ..transforms.scan import _flatten
from .report import fmt_bytes, report
from .sequential import CheckpointedSequence, fewest_segments, layer_bytes, predicted_peak

__all__ = ["Plan", "plan"]


class Plan:
    """A schedule with its predictions; `measured` is filled once it has run."""

    def __init__(self, kind, predicted, snapshots=None, runner=None):
        self.kind = kind
        self.snapshots = snapshots
        self.predicted = predicted
        self.measured = None
        self.runner = runner

    def __call__(self, *args):
        """A sequential plan runs its layers (a scan plan is given to cr.scan instead)."""
        if self.runner is None:
            raise TypeError("memory.plan: a scan plan is run by cr.scan(f, init, xs, "
                            "checkpoint=plan)")
        return self.runner(*args)

    def measure(self, *args):
        """Run forward and backward once on `args` (a sequential plan) and fill `measured`:
        the peak of live saved bytes of the graph and the traced peak of all memory."""
        if self.runner is None:
            raise TypeError("memory.plan: a scan plan is measured by running cr.scan(..., "
                            "checkpoint=plan) and a backward pass")
        saved = report(self.runner, *args).peak_bytes
        counted = []
        layers = self.runner.layers
        self.runner.layers = [_counting(f, counted) for f in layers]
        try:
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            out = self.runner(*args)
            forward = len(counted)
            out.sum().backward() if out.size > 1 else out.backward()
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
            self.runner.layers = layers
        self.measured = {"recomputations": len(counted) - forward, "peak_bytes": saved,
                         "traced_peak_bytes": peak}
        return self

    def _settings(self) -> str:
        """The schedule's choices (what is not a predicted figure), as one line."""
        return ", ".join(f"{k} {v}" for k, v in self.predicted.items() if k not in _FIGURES)

    def _figures(self) -> list:
        """[(figure, predicted, measured or "-")], shown as text."""
        rows = []
        for k in self.predicted:
            if k in _FIGURES:
                m = None if self.measured is None else self.measured.get(k)
                rows.append((k, _show(k, self.predicted[k]), "-" if m is None else _show(k, m)))
        if self.measured and "traced_peak_bytes" in self.measured:
            rows.append(("all memory (traced)", "", fmt_bytes(self.measured["traced_peak_bytes"])))
        return rows

    def __str__(self):
        lines = [f"memory plan ({self.kind}): {self._settings()}",
                 f"  {'':<22}{'predicted':>14}{'measured':>14}"]
        lines += [f"  {k:<22}{p:>14}{m:>14}" for k, p, m in self._figures()]
        return "\n".join(lines)

    def _repr_html_(self):
        """The schedule as a table in a notebook: predicted beside measured."""
        cells = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(p)}</td>"
                        f"<td>{html.escape(m)}</td></tr>" for k, p, m in self._figures())
        segments = ""
        if self.runner is not None and self.runner.bounds:
            segments = "<p>segments (layers): " + html.escape(", ".join(
                f"{a}-{b - 1}" for a, b in self.runner.bounds)) + "</p>"
        return (f"<p>memory plan ({html.escape(self.kind)}): "
                f"{html.escape(self._settings())}</p>{segments}"
                "<table><tr><th></th><th>predicted</th><th>measured</th></tr>"
                f"{cells}</table>")

    def __repr__(self):
        return str(self)


_FIGURES = ("recomputations", "peak_states", "peak_bytes")


def _show(key, value):
    return fmt_bytes(value) if key.endswith("bytes") else str(value)


def _counting(f, counted):
    def run(x):
        counted.append(1)
        return f(x)
    return run


def plan(f_or_layers, *args, segments="sqrt", snapshots=None, memory_budget=None,
         policy=None) -> Plan:
    """The schedule for `cr.scan(f, init, xs)` (give f, init, xs) or for
    `cr.checkpoint_sequential(layers)` (give layers, x), with its predicted figures."""
    if isinstance(f_or_layers, (list, tuple)) or hasattr(f_or_layers, "children"):
        if len(args) != 1:
            raise TypeError("memory.plan: for layers give one example input: plan(layers, x)")
        return _sequential_plan(f_or_layers, args[0], segments, memory_budget, policy)
    if len(args) != 2:
        raise TypeError("memory.plan: for a scan give plan(f, init, xs); for layers "
                        "plan(layers, x)")
    return _scan_plan(f_or_layers, args[0], args[1], snapshots, memory_budget)


def _sequential_plan(layers, x, segments, budget, policy):
    runner = CheckpointedSequence(layers, None if budget is not None else segments, budget,
                                  policy)
    x = as_tensor(x)
    inside, boundary = layer_bytes(runner.layers, x)
    if runner.budget is not None:
        runner.bounds = fewest_segments(inside, boundary, runner.budget)
        runner._decided_for = (x.shape, x.dtype)
    bounds = runner.bounds
    recomputed = sum(b - a for a, b in bounds[:-1])
    predicted = {"layers": len(runner.layers), "segments": len(bounds),
                 "recomputations": recomputed,
                 "peak_bytes": predicted_peak(bounds, inside, boundary)}
    return Plan("sequential", predicted, runner=runner)


def _scan_plan(f, init, xs, snapshots, budget):
    init_leaves, rebuild_carry = _flatten(init)
    xs_leaves, rebuild_x = _flatten(xs)
    n = xs_leaves[0].shape[0]
    state = sum(t.data.nbytes for t in init_leaves)
    rec = ClosureTrace()

    def first_step(*leaves):
        carry = rebuild_carry(list(leaves[:len(init_leaves)]))
        new, _ = f(carry, rebuild_x(list(leaves[len(init_leaves):])))
        return _flatten(new)[0][0]

    with replaying(rng_states()):   # a preview: the scan it plans draws the same numbers
        rec.run(first_step, [detached(t) for t in init_leaves]
                + [_row(x) for x in xs_leaves])
    step = rec.bytes
    if budget is not None:
        budget = parse_bytes(budget, "memory.plan: memory_budget")
        slots = (budget - step) // max(state, 1) - 1
        if slots < 1:
            raise ValueError(f"memory.plan: memory_budget={budget} bytes is too small: one "
                             f"state is {state} bytes and one recorded step {step} bytes")
        snapshots = int(min(slots, n) if snapshots is None else min(slots, snapshots))
    elif snapshots is None:
        snapshots = max(1, math.isqrt(n - 1) + 1)
    predicted = {"steps": n, "snapshots": snapshots,
                 "state_bytes": fmt_bytes(state),
                 "recomputations": revolve.recomputations(n, snapshots),
                 "peak_states": min(snapshots, n) + 1,
                 "peak_bytes": (min(snapshots, n) + 1) * state + step}
    return Plan("scan", predicted, snapshots=snapshots)


def _row(x):
    """The first step's slice of one xs array, as a plain tensor."""
    return _new_tensor(np.asarray(x.data[0]))
