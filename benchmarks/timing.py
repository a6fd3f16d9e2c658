"""Shared timing helper for the benchmark scripts: medians over repeats, after a warm-up."""

from __future__ import annotations

import gc
import os
import statistics
import time


def median_seconds(fn, repeats: int = 20, warmup: int = 3, min_time: float = 0.0) -> float:
    """Median wall time of fn() over `repeats` runs (garbage collected between runs)."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < repeats or time.perf_counter() - start < min_time:
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def compare(fns: dict, repeats: int = 30, warmup: int = 3, clock=None, clocks=None) -> dict:
    """Median seconds of each fn, timed round-robin so machine noise hits all alike.

    clock: one clock function instead of wall time (`time.thread_time` counts CPU time
    only: on a shared machine the time spent waiting for a core is left out).
    clocks: {label: clock function} to read several clocks at once (say wall time and
    `time.process_time`); then each value is {label: median}."""
    many = clocks is not None
    clocks = clocks if many else {"": clock or time.perf_counter}
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: {label: [] for label in clocks} for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            gc.collect()
            start = {label: clock() for label, clock in clocks.items()}
            fn()
            for label, clock in clocks.items():
                times[name][label].append(clock() - start[label])
    medians = {name: {label: statistics.median(ts) for label, ts in by_clock.items()}
               for name, by_clock in times.items()}
    return medians if many else {name: m[""] for name, m in medians.items()}


def table(rows, headers) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def optional_torch():
    """PyTorch (the bench extra) using every core, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)
    return torch
