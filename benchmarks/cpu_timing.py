"""Interleaved rounds timed in CPU time: figures that survive a shared, saturated machine.

`time.process_time` counts only the time this process ran, so waiting for a core while
other jobs hold it is not counted (wall-clock medians moved 2-5x between runs on the
shared 2-core machine; CPU-time medians move a few percent). Single-threaded contenders
only (BLAS and torch limited to one thread), or the CPU time would add up the threads.
"""

from __future__ import annotations

import gc
import statistics
import time


def interleaved(fns: dict, rounds: int) -> dict:
    """Median CPU seconds of each fn over `rounds` rounds; each round runs every fn once."""
    times = {name: [] for name in fns}
    for _ in range(rounds):
        gc.collect()   # once a round, so no contender pays for another's garbage
        for name, fn in fns.items():
            t0 = time.process_time()
            fn()
            times[name].append(time.process_time() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def cpu_seconds(fn) -> float:
    """CPU seconds of one call."""
    t0 = time.process_time()
    fn()
    return time.process_time() - t0
