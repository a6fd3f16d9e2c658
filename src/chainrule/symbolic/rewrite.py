"""Simplification by rewrite rules written as data, applied to a fixed point and logged.

A rule is (name, pattern, result). A pattern is an op name with argument patterns, a
capture letter ("X") or a number (a constant whose entries all equal it). Besides the
rules: constant folding, common-subexpression merging and dead-code removal. Everything
is linear in the graph's size (dictionary lookups, no pass per rewrite).
"""

from __future__ import annotations

import numpy as np

from .graph import Eqn, Graph, Slot, Var

RULES = [
    ("log(exp(X)) -> X", ("log", ("exp", "X")), "X"),
    ("-(-X) -> X", ("negative", ("negative", "X")), "X"),
    ("X * 1 -> X", ("multiply", "X", 1.0), "X"),
    ("1 * X -> X", ("multiply", 1.0, "X"), "X"),
    ("X + 0 -> X", ("add", "X", 0.0), "X"),
    ("0 + X -> X", ("add", 0.0, "X"), "X"),
    ("X - 0 -> X", ("subtract", "X", 0.0), "X"),
    ("X / 1 -> X", ("divide", "X", 1.0), "X"),
    ("X ** 1 -> X", ("power", "X", 1.0), "X"),
    ("identity(X) -> X", ("identity", "X"), "X"),
    ("sum_to(X) -> X", ("sum_to", "X"), "X"),        # only where shapes already agree
    ("reshape(X) -> X", ("reshape", "X"), "X"),      # likewise
    ("broadcast_to(X) -> X", ("broadcast_to", "X"), "X"),
]


def _match(pattern, var, producer, binding) -> bool:
    if isinstance(pattern, str):
        if pattern in binding:
            return binding[pattern] is var
        binding[pattern] = var
        return True
    if isinstance(pattern, float):
        return var.const is not None and bool(np.all(var.const == pattern))
    eqn = producer.get(id(var))
    if eqn is None or eqn.op.name != pattern[0] or len(eqn.inputs) != len(pattern) - 1:
        return False
    return all(_match(p, v, producer, binding) for p, v in zip(pattern[1:], eqn.inputs))


def _rules_by_root() -> dict:
    """RULES grouped by the op at their root, so an equation meets only its own rules."""
    table = {}
    for rule in RULES:
        table.setdefault(rule[1][0], []).append(rule)
    return table


def _try_rules(eqn, producer, by_root):
    for name, pattern, result in by_root.get(eqn.op.name, ()):
        # Cheap test first: a number in the pattern needs a constant in that place.
        if any(isinstance(p, float) and v.const is None for p, v in zip(pattern[1:],
                                                                         eqn.inputs)):
            continue
        binding = {}
        if _match(pattern, eqn.out, producer, binding):
            target = binding[result]
            # A rewrite must not change the value's shape or dtype (e.g. X * ones((3,))).
            if target.shape == eqn.out.shape and target.dtype == eqn.out.dtype:
                return name, target
    return None


def _fold(eqn):
    """Evaluate an equation whose inputs are all constants."""
    value = np.asarray(eqn.evaluate([v.const for v in eqn.inputs]))
    return Var(eqn.out.name, eqn.out.shape, eqn.out.dtype, value)


def _array_key(a: np.ndarray) -> tuple:
    """An array by its full contents (repr abbreviates arrays over 1,000 entries)."""
    return ("array", a.dtype.str, a.shape, np.ascontiguousarray(a).tobytes())


def param_key(value):
    """A hashable key equal only for equal parameters, arrays compared entry by entry."""
    if isinstance(value, np.ndarray):
        return _array_key(value)
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(param_key(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, param_key(v)) for k, v in sorted(value.items())))
    if isinstance(value, slice):
        return ("slice", param_key(value.start), param_key(value.stop), param_key(value.step))
    if isinstance(value, Slot):
        return ("slot", value.index)
    if isinstance(value, np.generic):
        return ("scalar", value.dtype.str, value.item())
    try:
        hash(value)
    except TypeError:
        return ("repr", type(value).__name__, repr(value))
    return (type(value).__name__, value)


def _key(eqn, resolve):
    parts = []
    for v in eqn.inputs:
        v = resolve(v)
        parts.append(("c", *_array_key(v.const)) if v.const is not None else ("v", id(v)))
    return (eqn.op.name, tuple(parts), param_key(eqn.params) if eqn.params else ())


def _one_pass(graph: Graph) -> None:
    replaced, by_root = {}, _rules_by_root()

    def resolve(v):
        while id(v) in replaced:
            v = replaced[id(v)]
        return v

    producer, seen, eqns = {}, {}, []
    for eqn in graph.eqns:
        eqn = Eqn(eqn.op, tuple(resolve(v) for v in eqn.inputs), eqn.params, eqn.out, eqn.nargs)
        if eqn.inputs and all(v.const is not None for v in eqn.inputs):
            replaced[id(eqn.out)] = _fold(eqn)
            graph.log.append(f"fold constants: {eqn}")
            continue
        producer[id(eqn.out)] = eqn
        hit = _try_rules(eqn, producer, by_root)
        if hit is not None:
            replaced[id(eqn.out)] = hit[1]
            graph.log.append(f"{hit[0]}: {eqn}")
            continue
        key = _key(eqn, resolve)
        if key in seen:
            replaced[id(eqn.out)] = seen[key]
            graph.log.append(f"merge common subexpression: {eqn} == {seen[key].name}")
            continue
        seen[key] = eqn.out
        eqns.append(eqn)
    graph.outputs = [resolve(v) for v in graph.outputs]
    graph.eqns = eqns


def _remove_dead(graph: Graph) -> None:
    live = {id(v) for v in graph.outputs}
    kept = []
    for eqn in reversed(graph.eqns):
        if id(eqn.out) in live:
            kept.append(eqn)
            live.update(id(v) for v in eqn.inputs)
        else:
            graph.log.append(f"remove dead code: {eqn}")
    kept.reverse()
    graph.eqns = kept


def simplify(graph: Graph) -> Graph:
    """Rewrite `graph` in place to a fixed point; every step is appended to graph.log.

    One forward pass reaches it: each equation is rewritten after its inputs already are,
    and no rule, fold or merge depends on an equation's consumers, so a second pass finds
    nothing (tests/test_jit.py checks this); dead code is removed last."""
    _one_pass(graph)
    _remove_dead(graph)
    return graph
