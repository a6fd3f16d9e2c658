"""`checkpoint`: trade compute for memory by recomputing a function's inside during backward.

The function becomes ONE node whose inputs are its arguments and every tensor it closes
over (found by `ClosureTrace`); the forward pass records nothing inside it. The node's
VJP rule runs the function again, recorded, and sweeps that small graph. A policy may
keep some inside values (`"dots"`: matmul/conv results; names given to
`checkpoint_name`), which the recomputation then reads instead of computing. Random
numbers drawn inside are replayed, so a dropout mask is the same both times.
"""

from __future__ import annotations

import contextlib
import functools
import numbers
import re

import numpy as np

from ..core import (
    REVERSE,
    Primitive,
    TensorBase,
    _new_tensor,
    active,
    bind,
    enable_grad,
    is_grad_enabled,
)
from ..ops._define import coerce
from ..ops.shape import Variadic
from . import api
from .closure import ClosureTrace, detached, same_value
from .reverse import grads_wrt
from .tree import has_containers, over_leaves

__all__ = ["checkpoint", "checkpoint_name", "replay_generator"]

# Zero-argument functions returning the numpy Generators whose draws a recomputation
# replays (nn registers its default generator; users may register their own).
_RNG_SOURCES: list = []


def replay_generator(source) -> None:
    """Register `source()` -> numpy Generator: checkpointed code replays its draws."""
    _RNG_SOURCES.append(source)


def rng_states() -> list:
    """The state of every registered generator, to replay later."""
    return [source().bit_generator.state for source in _RNG_SOURCES]


@contextlib.contextmanager
def replaying(states):
    """Generators set back to `states` inside, and to where they were afterwards."""
    gens = [source() for source in _RNG_SOURCES[:len(states)]]
    now = [g.bit_generator.state for g in gens]
    for g, s in zip(gens, states):
        g.bit_generator.state = s
    try:
        yield
    finally:
        for g, s in zip(gens, now):
            g.bit_generator.state = s


def _policy(policy):
    if policy is None or policy == "dots":
        return policy
    if isinstance(policy, str):
        return frozenset((policy,))
    try:
        names = frozenset(policy)
    except TypeError:
        names = None
    if names is None or not all(isinstance(n, str) for n in names):
        raise TypeError(f"checkpoint: policy must be None (save nothing), 'dots' or names "
                        f"given to cr.checkpoint_name, got {policy!r}")
    return names


class CheckpointOp(Primitive):
    """The node a checkpointed call records; knows what it keeps and what it recomputes."""

    __slots__ = ("n_args", "kept_bytes", "recompute_bytes", "function")


def checkpoint(f, policy=None):
    """f recorded as ONE node that keeps only its inputs (and what `policy` names); backward
    runs f again for the values it needs (Griewank's checkpointing: memory for compute).

    policy: None (keep nothing inside), "dots" (keep matmul/linear/conv results) or a name
    or names given to `cr.checkpoint_name` inside f."""
    save = _policy(policy)

    @functools.wraps(f)
    def wrapped(*args):
        if has_containers(args):  # pytree arguments: checkpoint f as a function of leaves
            f_leaves, leaves, _ = over_leaves(f, args, range(len(args)), "checkpoint")
            return checkpoint(f_leaves, policy)(*leaves)
        xs = coerce(args)
        rng = rng_states()
        rec = ClosureTrace(save)
        out = rec.run(f, [detached(x) for x in xs])
        inputs = tuple(xs) + tuple(rec.captures)
        if any(t._trace is not None for t in inputs):
            # Under a forward-style transform (jvp, vmap) nothing is stored anyway: run f
            # as written, with the random numbers it drew the first time.
            with replaying(rng):
                return f(*args)
        if not is_grad_enabled() or not any(t.requires_grad for t in inputs):
            return out
        op = _checkpoint_op(f, rec, rng, len(xs), out.data)
        return bind(op, inputs, {})

    return wrapped


def checkpoint_name(x, name: str):
    """x unchanged, tagged `name`: `checkpoint(f, policy=name)` keeps it instead of
    recomputing it (outside a checkpoint this does nothing)."""
    if not isinstance(name, str):
        raise TypeError(f"checkpoint_name: name must be a string, got {name!r}")
    if isinstance(x, TensorBase) and isinstance(x._trace, ClosureTrace):
        x._trace.tag(x, name)
    return x


def replayer(f, rec, n_args):
    """A function of (args..., captures...) that runs f again with those values."""
    uses, saved = rec.uses, rec.saved   # not rec: it holds the outside tensors themselves

    def run(*values):
        again = ClosureTrace(uses=uses, replacements=values[n_args:], saved=saved)
        return again.run(f, values[:n_args])
    return run


def recompute_vjp(run, rng, inputs, g, ans, name):
    """{input position: cotangent} for the inputs that require grad, by running `run`
    again (recorded) and sweeping it from g."""
    wanted = [i for i, x in enumerate(inputs) if x.requires_grad]
    if is_grad_enabled():
        # create_graph (or an enclosing transform): the recomputation keeps the inputs'
        # graph, for order 2+.
        def selected(*chosen):
            full = list(inputs)
            for i, v in zip(wanted, chosen):
                full[i] = v
            return run(*full)

        with replaying(rng):
            out, vjp_fn = api.vjp(selected, *[inputs[i] for i in wanted])
        _check_same(out, ans, name)
        return dict(zip(wanted, vjp_fn(g)))
    # A plain backward: record the recomputation on fresh leaves and sweep it once, freeing
    # its values as the sweep passes (nothing here is differentiated again).
    values = [_new_tensor(x.data) for x in inputs]
    for i in wanted:
        values[i].requires_grad = True
    with replaying(rng), active(REVERSE), enable_grad():   # as api.vjp records
        out = run(*values)
    _check_same(out, ans, name)
    grads = grads_wrt([out], [g], [values[i] for i in wanted], create_graph=False,
                      retain_graph=False)
    return dict(zip(wanted, grads))


def _check_same(out, ans, name):
    if not same_value(out.data, ans.data):
        raise RuntimeError(
            f"{name}: recomputing gave a different value than the forward pass (max "
            f"difference {np.max(np.abs(out.data - ans.data)):.3g}); random numbers drawn "
            "from a generator not registered with cr.memory.replay_generator, or state "
            "changed between forward and backward")


def _checkpoint_op(f, rec, rng, n_args, value) -> CheckpointOp:
    run = replayer(f, rec, n_args)
    name = f"checkpoint[{getattr(f, '__name__', 'f')}]"
    first = [value]   # the forward's result, handed to bind's impl once
    cache = {}        # this cotangent's grads, so f runs once per sweep, not once per input

    def impl(*arrays):
        if first:
            return first.pop()
        with replaying(rng):
            return run(*[_new_tensor(a) for a in arrays]).data

    def vjp_rule(i, g, ans, *inputs):
        if cache.get("g") is not g:
            cache.clear()
            cache["g"], cache["grads"] = g, recompute_vjp(run, rng, inputs, g, ans, name)
        grads = cache["grads"]
        result = grads.pop(i, None)
        if not grads:
            cache.clear()   # free the cotangents as soon as the sweep has taken them all
        return result

    def jvp_joint(tangents, ans, *inputs):
        tangents = tuple(t if t is not None else _new_tensor(np.zeros_like(x.data))
                         for t, x in zip(tangents, inputs))
        with replaying(rng):
            return api.jvp(run, inputs, tangents)[1]

    op = CheckpointOp(name, impl, Variadic(vjp_rule), None, jvp_joint, register=False)
    op.n_args = n_args
    op.kept_bytes = sum(v.nbytes for _, v in rec.saved.values())
    op.recompute_bytes = rec.bytes
    op.function = f
    return op


_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10,
          "MIB": 2**20, "GIB": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}


def parse_bytes(value, what: str) -> int:
    """A size in bytes from an int or a string such as "20MB", "1.5 GiB" or "512k"."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0:
        return int(value)
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", value)
        if match and match.group(2).upper() in _UNITS and float(match.group(1)) > 0:
            return int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    raise ValueError(f"{what} must be a positive number of bytes or a size such as '20MB', "
                     f"'1.5GiB' (units B, KB, MB, GB, KiB, MiB, GiB), got {value!r}")
