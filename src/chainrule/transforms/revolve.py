"""Griewank's binomial checkpointing (revolve): reverse n steps with s stored states.

Counting convention (Griewank & Walther, "Algorithm 799: revolve", 2000): the state
before step 0 sits in one of the `s` snapshot slots; `forward_steps(n, s)` is the least
number of un-recorded step evaluations needed to reverse all n steps (each reversal
itself runs its step once more, recorded). With r the least integer for which
beta(s, r) = C(s + r, s) >= n, that optimum is r * n - beta(s + 1, r - 1): with s = 10
and r = 3, up to C(13, 10) = 286 steps are reversed with at most 3 evaluations each.
"""

from __future__ import annotations

from math import comb

import numpy as np

__all__ = ["beta", "repetitions", "forward_steps", "recomputations", "split",
           "first_snapshots", "reverse_schedule"]


def beta(s: int, r: int) -> int:
    """How many steps s snapshots reverse with at most r evaluations of each step."""
    return comb(s + r, s) if r >= 0 else 0


def repetitions(n: int, s: int) -> int:
    """The least r with beta(s, r) >= n."""
    r = 0
    while beta(s, r) < n:
        r += 1
    return r


def forward_steps(n: int, s: int) -> int:
    """The optimal number of un-recorded step evaluations to reverse n steps (n >= 1)."""
    r = repetitions(n, s)
    return r * n - beta(s + 1, r - 1)


def recomputations(n: int, s: int) -> int:
    """Steps evaluated again during the backward sweep, when the forward pass ran the n
    steps once (placing snapshots) and kept the state before the last one."""
    return forward_steps(n, s) - (n - 1)


def _costs(ns: np.ndarray, s: int) -> np.ndarray:
    """forward_steps(n, s) for every n of an array (n >= 1)."""
    top = repetitions(int(ns.max()), s)
    betas = np.array([beta(s, r) for r in range(top + 1)], dtype=np.int64)
    r = np.searchsorted(betas, ns)          # the least r with beta(s, r) >= n
    below = np.array([beta(s + 1, k - 1) for k in range(top + 1)], dtype=np.int64)
    return r * ns - below[r]


def split(n: int, s: int) -> int:
    """Where to place the next snapshot (steps ahead) when reversing n >= 2 steps with
    s >= 2 slots: an m minimising m + cost(tail, s - 1) + cost(head, s)."""
    m = np.arange(1, n, dtype=np.int64)
    total = m + _costs(n - m, s - 1) + _costs(m, s)
    return int(m[np.argmin(total)])


def first_snapshots(n: int, s: int) -> list:
    """Positions the forward pass stores (besides 0): the schedule's first descent."""
    positions, pos, slots = [], 0, s
    while n - pos > 1 and slots > 1:
        pos += split(n - pos, slots)
        positions.append(pos)
        slots -= 1
    return positions


def reverse_schedule(n: int, s: int):
    """The backward sweep as actions, in order (an explicit stack, no recursion):
    ("store", pos, from) advance from snapshot `from` to `pos` and keep it;
    ("reverse", pos, from) bring the state at `pos` (from snapshot `from`) and reverse
    step `pos`; ("free", pos) drop the snapshot at `pos`."""
    stack = [("range", 0, n, s)]
    while stack:
        task = stack.pop()
        if task[0] == "free":
            yield task
            continue
        _, lo, hi, slots = task
        if hi - lo == 1:
            yield ("reverse", lo, lo)
        elif slots == 1:
            for i in range(hi - 1, lo - 1, -1):
                yield ("reverse", i, lo)
        else:
            mid = lo + split(hi - lo, slots)
            yield ("store", mid, lo)
            stack += [("range", lo, mid, slots), ("free", mid), ("range", mid, hi, slots - 1)]
