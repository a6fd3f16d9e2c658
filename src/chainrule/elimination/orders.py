"""Elimination orders: forward, reverse, Markowitz, greedy, optimal (small graphs), searched.

All of them work on the graph's structure only (blocks without values), so trying an
order costs pattern arithmetic, never the Jacobian's numbers. The graph left after
eliminating a set of vertices does not depend on the order they went in, which is what
lets the exhaustive search key its states by that set (a shortest path over subsets).
"""

from __future__ import annotations

import heapq
import math
import time

import numpy as np

from .eliminate import ScalarWork, Work

HEURISTICS = ("forward", "reverse", "markowitz", "greedy")


def structure(graph) -> Work:
    """A fresh elimination state holding only the structure of the graph's blocks."""
    if all(v.size == 1 for v in graph.vertices):
        return ScalarWork(graph.edges, len(graph.vertices))
    edges = {key: block.structure_only() for key, block in graph.edges.items()}
    return Work(edges, len(graph.vertices))


def run(work: Work, order, start: int = 0) -> Work:
    """Eliminate order[start:] on a copy of `work`; the copy carries the counts."""
    work = work.copy()
    for j in order[start:]:
        work.eliminate(j)
    return work


def forward(graph) -> list:
    """Intermediates in the order they were computed (forward accumulation)."""
    return list(graph.intermediates)


def reverse(graph) -> list:
    """Intermediates last computed first (reverse accumulation)."""
    return list(reversed(graph.intermediates))


def _one_at_a_time(graph, key) -> list:
    work, left, order = structure(graph), list(graph.intermediates), []
    while left:
        j = min(left, key=lambda v: (key(work, v), v))
        work.eliminate(j)
        left.remove(j)
        order.append(j)
    return order


def markowitz(graph) -> list:
    """Smallest Markowitz degree (predecessors x successors) first, earliest on ties."""
    return _one_at_a_time(graph, lambda work, v: work.markowitz(v))


def greedy(graph) -> list:
    """Cheapest elimination next: the fewest multiplications this very step."""
    return _one_at_a_time(graph, lambda work, v: work.cost(v))


def optimal(graph, upper_bound: int, max_states: int = 200_000, deadline: float = math.inf):
    """The order of fewest multiplications, by a shortest path over eliminated sets.

    Paths costlier than `upper_bound` (the best heuristic's cost) are pruned. Returns
    the order, or None when more than `max_states` sets would have to be visited or the
    clock (time.perf_counter) passes `deadline`.
    """
    return shortest(structure(graph), list(graph.intermediates), upper_bound, max_states,
                    deadline)


def shortest(work: Work, verts, upper_bound: int, max_states: int = 200_000,
             deadline: float = math.inf):
    """The cheapest order of eliminating `verts` from the state `work` (see `optimal`)."""
    full = (1 << len(verts)) - 1
    works = {0: work}
    best = {0: 0}
    heap = [(0, 0, ())]
    while heap:
        cost, mask, order = heapq.heappop(heap)
        if best.get(mask, math.inf) < cost:
            continue
        if mask == full:
            return list(order)
        work = works.pop(mask)
        for t, v in enumerate(verts):
            bit = 1 << t
            if mask & bit:
                continue
            nxt, new_cost = mask | bit, cost + work.cost(v)
            if new_cost > upper_bound or new_cost >= best.get(nxt, math.inf):
                continue
            best[nxt] = new_cost
            if nxt not in works:
                after = work.copy()
                after.eliminate(v)
                works[nxt] = after
            heapq.heappush(heap, (new_cost, nxt, order + (v,)))
        if len(best) > max_states or time.perf_counter() > deadline:
            return None
    return None  # pragma: no cover - the heuristic's own path is always within the bound


WINDOW_SHARE = 0.05  # the share of annealing moves that re-order a window exactly
TEMPERATURE = 0.01   # the starting temperature, as a share of the best seed's cost


def search(graph, seeds, seconds: float = 1.0, seed: int = 0, every: int = 8,
           window: int = 6) -> list:
    """Simulated annealing over orders from the cheapest seed, for `seconds`.

    A move takes one vertex to another place, or (one move in twenty) re-orders `window`
    consecutive vertices optimally. Either changes the order between two places lo and
    hi only; the graph after hi is the same (it depends on the set eliminated, not on
    its order), so only steps lo..hi are redone, from the state kept every `every` steps
    before lo, and the cost of the steps after hi is reused. The best order seen is
    returned, so the result is never costlier than the best seed.
    """
    start = time.perf_counter()
    base = structure(graph)
    costs = [run(base, s).multiplications for s in seeds]
    best_cost = min(costs)
    best = list(seeds[costs.index(best_cost)])
    n = len(best)
    if n < 2:
        return best
    rng = np.random.default_rng(seed)
    current, current_cost = list(best), best_cost
    states, steps = _walk(base, current, 0, n, every)
    temperature0 = max(1.0, TEMPERATURE * best_cost)
    while (elapsed := time.perf_counter() - start) < seconds:
        if window and rng.random() < WINDOW_SHARE:
            candidate, lo, hi = _reorder_window(current, states, every, window, rng)
            if candidate is None:
                continue
        else:
            i = int(rng.integers(n))
            j = int(rng.integers(n)) if rng.random() < 0.5 else min(n - 1, max(0, i + int(
                rng.integers(-3, 4))))
            if i == j:
                continue
            candidate = list(current)
            candidate.insert(j, candidate.pop(i))
            lo, hi = min(i, j), max(i, j)
        first = lo // every
        new_states, new_steps = _walk(states[first], candidate, first * every, hi + 1, every)
        changed = slice(first * every, hi + 1)
        cost = current_cost - sum(steps[changed]) + sum(new_steps)
        temperature = temperature0 * (1 - elapsed / seconds) + 1e-9
        if cost <= current_cost or rng.random() < math.exp((current_cost - cost) / temperature):
            current, current_cost = candidate, cost
            steps[changed] = new_steps
            states[first:first + len(new_states)] = new_states
            if cost < best_cost:
                best, best_cost = list(candidate), cost
    return best


def _reorder_window(order, states, every, window, rng):
    """(order with one window of it re-ordered optimally, the window's first and last
    places), or Nones."""
    k = min(window, len(order))
    p = int(rng.integers(len(order) - k + 1))
    first = p // every
    at = run(states[first], order[:p], first * every)
    segment = order[p:p + k]
    bound = run(at, segment).multiplications - at.multiplications
    better = shortest(at, segment, bound, max_states=1 << k)
    if better is None or better == segment:
        return None, None, None
    return order[:p] + better + order[p + k:], p, p + k - 1


def _walk(work: Work, order, start: int, stop: int, every: int) -> tuple:
    """Eliminate order[start:stop] from `work` (the state before step start, a multiple of
    every): ([work, states before steps start + every, ... below stop], the steps' costs)."""
    states, costs = [work], []
    work = work.copy()
    for pos in range(start, stop):
        if pos % every == 0 and pos > start:
            states.append(work.copy())
        costs.append(work.eliminate(order[pos])[0])
    return states, costs


MAX_EXHAUSTIVE = 20
ALIASES = {"fwd": "forward", "rev": "reverse"}
BY_NAME = {"forward": forward, "reverse": reverse, "markowitz": markowitz, "greedy": greedy}


def best(graph, seconds: float = 1.0, seed: int = 0, exact: bool = False) -> tuple:
    """(name, order) of the cheapest order found: exhaustive up to MAX_EXHAUSTIVE
    intermediates ("optimal", within `seconds` unless `exact`), else (or when that runs
    out of time) annealing from the heuristics ("search")."""
    start = time.perf_counter()
    seeds = [BY_NAME[h](graph) for h in HEURISTICS]
    base = structure(graph)
    costs = [run(base, s).multiplications for s in seeds]
    if len(graph.intermediates) <= MAX_EXHAUSTIVE:
        order = optimal(graph, min(costs), deadline=math.inf if exact else start + seconds)
        if order is not None:
            return "optimal", order
    left = max(0.0, seconds - (time.perf_counter() - start))
    return "search", search(graph, seeds, left, seed)


def resolve(graph, spec, seconds: float = 1.0) -> tuple:
    """(name, vertex indices) for an order given by name or as a list of vertices."""
    if isinstance(spec, str):
        name = ALIASES.get(spec, spec)
        if name in BY_NAME:
            return name, BY_NAME[name](graph)
        if name == "optimal":
            n = len(graph.intermediates)
            if n > MAX_EXHAUSTIVE:
                raise ValueError(f"elimination: the exhaustive optimum is for graphs of at most "
                                 f"{MAX_EXHAUSTIVE} intermediates and this one has {n}; "
                                 "use order='search' (annealing under a time budget)")
            return best(graph, seconds, exact=True)
        if name in ("search", "best"):
            if name == "best":
                return best(graph, seconds)
            seeds = [BY_NAME[h](graph) for h in HEURISTICS]
            return "search", search(graph, seeds, seconds)
        raise ValueError(f"elimination: unknown order {spec!r}; use 'forward', 'reverse', "
                         "'markowitz', 'greedy', 'optimal', 'search', 'best' or a list of "
                         "vertices")
    return "given", _given(graph, spec)


def _given(graph, spec) -> list:
    by_name = {v.name: v.index for v in graph.vertices}
    order = []
    for item in spec:
        j = by_name.get(item) if isinstance(item, str) else item
        if not isinstance(j, (int, np.integer)) or not 0 <= j < len(graph.vertices):
            raise ValueError(f"elimination: {item!r} is not a vertex of this graph")
        order.append(int(j))
    if sorted(order) != sorted(graph.intermediates):
        names = [graph.vertices[j].name for j in graph.intermediates]
        raise ValueError(f"elimination: a given order must list every intermediate exactly "
                         f"once ({len(names)} of them: {', '.join(names)}); got "
                         f"{len(order)} entries")
    return order
