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


def compare(fns: dict, repeats: int = 30, warmup: int = 3, clock=time.perf_counter) -> dict:
    """Median seconds of each fn, timed round-robin so machine noise hits all alike.
    `clock=time.thread_time` counts CPU time only (for single-threaded code on a shared
    machine: time spent waiting for a core is not counted)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            gc.collect()
            t0 = clock()
            fn()
            times[name].append(clock() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


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
