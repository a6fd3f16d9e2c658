"""`scan`: a differentiable loop whose backward sweep follows Griewank's binomial schedule.

`scan(f, init, xs)` runs `carry, y = f(carry, x)` over the leading axis of xs and returns
(final carry, stacked ys), as `jax.lax.scan` does. The whole loop is ONE node: the forward
pass records nothing and keeps only `snapshots` states (placed by revolve); the node's
VJP rule walks the steps backwards, recomputing each state from the nearest snapshot with
the provably least number of step evaluations, and sweeping one recorded step at a time.
Under create_graph (gradients of gradients) or a forward-style transform the loop runs
unrolled instead, so every order stays exact.
"""

from __future__ import annotations

import math
import numbers
import weakref

import numpy as np

from ..core import Primitive, TensorBase, _new_tensor, bind, is_grad_enabled
from ..ops._define import as_tensor
from ..ops.shape import Variadic, astype, concatenate, reshape, split, stack
from . import api, revolve
from .checkpoint import parse_bytes, replaying, rng_states
from .closure import ClosureTrace, detached
from .tree import tree_flatten, tree_unflatten

__all__ = ["scan"]


# ----- pytrees of tensors (tuples, lists, dicts, None) -----------------------------------

def _flatten(tree):
    """(leaves as tensors, rebuild) for a pytree (the tree module's walk)."""
    leaves, treedef = tree_flatten(tree)
    leaves = [t if isinstance(t, TensorBase) else as_tensor(t) for t in leaves]
    return leaves, lambda new: tree_unflatten(treedef, new)


def _pack(leaves, dtype):
    """Tensors raveled and joined into one flat tensor of `dtype` (a node has one output)."""
    flat = [reshape(astype(t, dtype) if t.dtype != dtype else t, (-1,)) for t in leaves]
    return concatenate(flat, axis=0) if len(flat) > 1 else flat[0]


def _unpacked(packed, shapes, dtypes):
    """ndarrays of `shapes` from a flat ndarray (zeros when there is no cotangent)."""
    if packed is None:
        return [np.zeros(s, d) for s, d in zip(shapes, dtypes)]
    out, i = [], 0
    for s, d in zip(shapes, dtypes):
        size = math.prod(s)
        out.append(packed[i:i + size].reshape(s).astype(d, copy=False))
        i += size
    return out


def _signature(leaves):
    return [(t.shape, t.dtype) for t in leaves]


class ScanOp(Primitive):
    """The node a scan records; `stats` holds what its last backward sweep measured."""

    __slots__ = ("stats", "plan", "held_bytes", "sweep_bytes")


def scan(f, init, xs=None, length=None, checkpoint="binomial", snapshots=None,
         memory_budget=None):
    """Loop `carry, y = f(carry, x)` over the leading axis of `xs`; (final carry, ys).

    checkpoint: "binomial" (revolve's optimal schedule with `snapshots` stored states,
    by default ceil(sqrt(n)), or as many as `memory_budget` bytes allow), None (store
    every step: fastest, most memory), or a plan from `cr.memory.plan` (which then gets
    the measured figures)."""
    plan = None
    if checkpoint not in ("binomial", None):
        if not hasattr(checkpoint, "snapshots"):
            raise ValueError(f"scan: checkpoint must be 'binomial', None or a plan from "
                             f"cr.memory.plan, got {checkpoint!r}")
        plan, snapshots, memory_budget = checkpoint, checkpoint.snapshots, None
    init_leaves, rebuild_carry = _flatten(init)
    xs_leaves, rebuild_x = _flatten(xs)
    n = _length(xs_leaves, length)
    traced = any(t._trace is not None for t in init_leaves + xs_leaves)
    if checkpoint is None or traced:
        return unrolled(f, init, xs, n)
    if snapshots is not None:
        snapshots = _positive(snapshots, "scan: snapshots")
    budget = None if memory_budget is None else parse_bytes(memory_budget, "scan: memory_budget")
    loop = _Loop(f, rebuild_carry, rebuild_x, len(init_leaves), n)
    values = loop.forward(init_leaves, xs_leaves, snapshots, budget)
    if values is None:   # a closed-over tensor is boxed by a transform: run as written
        return unrolled(f, init, xs, n)
    carry_value, ys_value = values
    inputs = tuple(init_leaves) + tuple(xs_leaves) + tuple(loop.captures)
    if not (is_grad_enabled() and any(t.requires_grad for t in inputs)):
        return loop.unpack(_new_tensor(carry_value),
                           None if ys_value is None else _new_tensor(ys_value))
    ys = None
    if ys_value is not None:
        ys = bind(loop.primitive("ys", ys_value, plan), inputs, {})
    carry = bind(loop.primitive("carry", carry_value, plan),
                 inputs if ys is None else (ys,) + inputs, {})
    return loop.unpack(carry, ys)


def _positive(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _length(xs_leaves, length):
    lengths = {t.shape[0] if t.ndim else None for t in xs_leaves}
    if None in lengths:
        raise ValueError("scan: every array in xs needs a leading axis to loop over; got a "
                         "0-d one")
    if length is not None:
        lengths.add(_positive(length, "scan: length"))
    if len(lengths) != 1:
        raise ValueError("scan: the leading axes of xs (and `length`) must agree, got "
                         + (str(sorted(lengths)) if lengths else "no xs and no length"))
    n = lengths.pop()
    if n < 1:
        raise ValueError("scan: xs has length 0; give at least one step")
    return n


def unrolled(f, init, xs, n):
    """The loop as written: every step recorded (the `checkpoint=None` schedule)."""
    xs_leaves, rebuild_x = _flatten(xs)
    carry, ys = init, []
    for i in range(n):
        carry, y = _call(f, carry, rebuild_x([x[i] for x in xs_leaves]))
        ys.append(_flatten(y))
    if not ys[0][0]:
        return carry, None
    stacked = [stack([leaves[k] for leaves, _ in ys], axis=0) for k in range(len(ys[0][0]))]
    return carry, ys[0][1](stacked)


def _call(f, carry, x):
    out = f(carry, x)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(f"scan: f must return (carry, y) (y may be None), got "
                        f"{type(out).__name__}")
    return out


class _Loop:
    """One scan call: its forward pass, its packed output and its backward schedule."""

    def __init__(self, f, rebuild_carry, rebuild_x, n_carry, n):
        self.f, self.rebuild_carry, self.rebuild_x = f, rebuild_carry, rebuild_x
        self.n_carry, self.n = n_carry, n
        self.rec = ClosureTrace()
        self.bounds = []       # per step: its slice of rec.uses (outside tensors it used)
        self.captures = self.rec.captures
        self.rng = []          # per step: the random state it started from, to replay

    def step_fn(self, n_x):
        """f on flat leaves: (carry..., x...) -> (carry'..., y...)."""
        def step(*leaves):
            carry = self.rebuild_carry(list(leaves[:self.n_carry]))
            x = self.rebuild_x(list(leaves[self.n_carry:self.n_carry + n_x]))
            new, y = _call(self.f, carry, x)
            new_leaves, _ = _flatten(new)
            y_leaves, self.rebuild_y = _flatten(y)
            return tuple(new_leaves) + tuple(y_leaves)
        return step

    # ----- forward -----------------------------------------------------------------------
    def forward(self, init_leaves, xs_leaves, snapshots, budget):
        rec, n = self.rec, self.n
        step = self.step_fn(len(xs_leaves))
        carry = [detached(c) for c in init_leaves]
        self.carry_sig = _signature(carry)
        self.snaps = {0: carry}
        ys, keep = [], set()
        for i in range(n):
            if i in keep:
                self.snaps[i] = carry
            if i == n - 1:
                self.current = carry
            start, before = len(rec.uses), rec.bytes
            self.rng.append(rng_states())
            out = rec.call(step, carry + [_new_tensor(x.data[i]) for x in xs_leaves])
            out = [rec.unbox(o) for o in out]
            self.bounds.append((start, len(rec.uses)))
            carry, y = out[:self.n_carry], out[self.n_carry:]
            if _signature(carry) != self.carry_sig:
                raise ValueError(f"scan: step {i} returned a carry of shapes/dtypes "
                                 f"{_signature(carry)}; the initial carry has "
                                 f"{self.carry_sig}; they must match")
            ys.append(y)
            if i == 0:
                self.step_bytes = rec.bytes - before
                self.slots = self._slots(snapshots, budget)
                keep = set(revolve.first_snapshots(n, self.slots))
        if any(c._trace is not None for c in self.captures):
            return None
        y_arrays = [np.stack([y[k].data for y in ys]) for k in range(len(ys[0]))]
        leaves = [c.data for c in carry] + y_arrays
        self.shapes = [a.shape for a in leaves]
        self.dtypes = [a.dtype for a in leaves]
        self.dtype = np.result_type(*self.dtypes)
        self.has_ys = bool(y_arrays)
        pack = lambda arrays: np.concatenate(  # noqa: E731
            [a.ravel().astype(self.dtype, copy=False) for a in arrays])
        return pack(leaves[:self.n_carry]), (pack(y_arrays) if y_arrays else None)

    def state_bytes(self):
        """Bytes of one carry (one snapshot)."""
        return sum(np.dtype(dt).itemsize * math.prod(shape) for shape, dt in self.carry_sig)

    def _slots(self, snapshots, budget):
        if budget is None:
            return snapshots if snapshots is not None else max(1, math.isqrt(self.n - 1) + 1)
        state = self.state_bytes()
        # the budget holds the snapshots, the state being worked on and one recorded step
        slots = (budget - self.step_bytes) // max(state, 1) - 1
        if slots < 1 and not is_grad_enabled():
            return 1   # nothing will be reversed (inference): no budget to keep
        if slots < 1:
            raise ValueError(f"scan: memory_budget={budget} bytes is too small: one state is "
                             f"{state} bytes and one recorded step {self.step_bytes} bytes, so "
                             f"at least {2 * state + self.step_bytes} bytes are needed")
        return int(min(slots, self.n) if snapshots is None else min(slots, snapshots))

    def unpack(self, carry_packed, ys_packed):
        """The user's (carry, ys) from the two packed outputs."""
        def leaves(packed, shapes, dtypes):
            sizes = [math.prod(s) for s in shapes]
            parts = split(packed, list(np.cumsum(sizes)[:-1])) if len(sizes) > 1 else [packed]
            return [astype(reshape(p, s), d) if p.dtype != d else reshape(p, s)
                    for p, s, d in zip(parts, shapes, dtypes)]
        nc = self.n_carry
        carry = self.rebuild_carry(leaves(carry_packed, self.shapes[:nc], self.dtypes[:nc]))
        if ys_packed is None:
            return carry, None
        return carry, self.rebuild_y(leaves(ys_packed, self.shapes[nc:], self.dtypes[nc:]))

    # ----- the nodes ---------------------------------------------------------------------
    # A node has one output, so a scan records two: ys, then the final carry, whose node
    # also takes ys as input so that the sweep meets it first. The carry node hands its
    # cotangent to the ys node, which runs the one schedule with both.
    def primitive(self, kind, value, plan) -> ScanOp:
        first, cache = [value], {}
        has_ys = self.has_ys
        skip = 1 if kind == "carry" and has_ys else 0   # the carry node's ys input

        def impl(*arrays):
            if first:
                return first.pop()
            return self.replay(*[_new_tensor(a) for a in arrays[skip:]])[kind == "ys"].data

        def grads_for(g, inputs):
            if is_grad_enabled() or g._trace is not None:
                return self.recorded_vjp(kind, g, inputs)
            if kind == "carry" and has_ys:
                self.stash = g.data
                return {}
            ct_carry = g.data if kind == "carry" else self.__dict__.pop("stash", None)
            ct_ys = g.data if kind == "ys" else None
            return self._revolve_backward(ct_carry, ct_ys, inputs, op_ref())

        def vjp_rule(i, g, ans, *inputs):
            if i < skip:   # carry node -> ys node: hand over the cotangent, no value
                if not (is_grad_enabled() or g._trace is not None):
                    self.stash = g.data
                return _new_tensor(np.broadcast_to(np.zeros((), inputs[0].dtype), inputs[0].shape))
            if cache.get("g") is not g:
                cache.clear()
                cache["g"], cache["grads"] = g, grads_for(g, inputs[skip:])
            grads = cache["grads"]
            result = grads.pop(i - skip, None)
            if not grads:
                cache.clear()
            return result

        def jvp_joint(tangents, ans, *inputs):
            tangents = tuple(t if t is not None else _new_tensor(np.zeros_like(x.data))
                             for t, x in zip(tangents[skip:], inputs[skip:]))
            run = lambda *v: self.replay(*v)[kind == "ys"]  # noqa: E731
            return api.jvp(run, inputs[skip:], tangents)[1]

        name = f"scan[{getattr(self.f, '__name__', 'f')}].{kind}"
        op = ScanOp(name, impl, Variadic(vjp_rule), None, jvp_joint, register=False)
        op.stats, op.plan = {}, plan
        op_ref = weakref.ref(op)   # the rule must not keep its own op alive (a cycle)
        runs_schedule = kind == "ys" or not has_ys
        state = self.state_bytes()
        # what it holds between the passes: snapshots past the initial state, and the
        # state before the last step; while its rule runs: up to `slots` + 1 states and
        # one recorded step
        op.held_bytes = state * len(self.snaps) if runs_schedule else 0
        op.sweep_bytes = max(0, (self.slots + 1) * state + self.step_bytes - op.held_bytes) \
            if runs_schedule else 0
        return op

    def recorded_vjp(self, kind, g, inputs):
        """The cotangents by the unrolled loop, recorded (exact at every order)."""
        wanted = [i for i, x in enumerate(inputs) if x.requires_grad]

        def selected(*chosen):
            full = list(inputs)
            for i, v in zip(wanted, chosen):
                full[i] = v
            return self.replay(*full)[kind == "ys"]

        _, vjp_fn = api.vjp(selected, *[inputs[i] for i in wanted])
        return dict(zip(wanted, vjp_fn(g)))

    def replay(self, *inputs):
        """(carry, ys), packed, recomputed from (init..., xs..., captures...), recorded."""
        nc, nx = self.n_carry, len(inputs) - self.n_carry - len(self.captures)
        carry, xs, caps = list(inputs[:nc]), inputs[nc:nc + nx], inputs[nc + nx:]
        step = self.step_fn(nx)
        outs = []
        for i in range(self.n):
            out = self._run_step(step, i, carry, [x[i] for x in xs], caps)
            carry = out[:nc]
            outs.append(out[nc:])
        ys = [stack([o[k] for o in outs], axis=0) for k in range(len(outs[0]))]
        return _pack(carry, self.dtype), (_pack(ys, self.dtype) if ys else None)

    def _run_step(self, step, i, carry, x, caps):
        a, b = self.bounds[i]
        rec = ClosureTrace(uses=self.rec.uses[a:b], replacements=caps)
        with replaying(self.rng[i]):   # steps rerun out of order: each gets its own draws
            out = [rec.unbox(o) for o in rec.call(step, list(carry) + list(x))]
        rec.finish(self.f)
        self.last_step_bytes = rec.bytes
        return out

    # ----- backward ----------------------------------------------------------------------
    def _revolve_backward(self, ct_carry, ct_ys, inputs, op):
        """{input position: cotangent}, walking the steps back by revolve's schedule."""
        wanted = [i for i, x in enumerate(inputs) if x.requires_grad]
        nc, ncap = self.n_carry, len(self.captures)
        nx = len(inputs) - nc - ncap
        xs, caps = inputs[nc:nc + nx], [_new_tensor(c.data) for c in inputs[nc + nx:]]
        ct_carry = _unpacked(ct_carry, self.shapes[:nc], self.dtypes[:nc])
        ct_ys = _unpacked(ct_ys, self.shapes[nc:], self.dtypes[nc:])
        x_grads = {k: np.zeros(xs[k].shape, xs[k].dtype) for k in range(nx)
                   if nc + k in wanted}
        cap_grads = [None] * ncap
        step = self.step_fn(nx)
        snaps, current = dict(self.snaps), self.current
        stats = {"recomputations": 0, "reversed": 0, "peak_states": len(snaps) + 1,
                 "peak_bytes": 0, "timeline": []}
        state = self.state_bytes()

        def advance(carry, frm, to):
            for i in range(frm, to):
                carry = self._run_step(step, i, carry, [_new_tensor(x.data[i]) for x in xs],
                                       caps)[:nc]
            stats["recomputations"] += to - frm
            return carry

        for action in revolve.reverse_schedule(self.n, self.slots):
            if action[0] == "free":
                snaps.pop(action[1], None)
                continue
            kind, pos, frm = action
            if kind == "store":
                if pos not in snaps:
                    snaps[pos] = advance(snaps[frm], frm, pos)
            elif pos in snaps:
                carry = snaps[pos]
            elif current is not None and pos == self.n - 1:
                carry, current = current, None
            else:
                carry = advance(snaps[frm], frm, pos)
            held = len(snaps) + (current is not None)
            stats["peak_states"] = max(stats["peak_states"], held)
            if kind == "reverse":
                ct_carry = self._reverse_step(step, pos, carry, xs, caps, ct_carry,
                                              [c[pos] for c in ct_ys], x_grads, cap_grads)
                stats["reversed"] += 1
                live = (held + 1) * state + self.last_step_bytes
                stats["timeline"].append(live)   # bytes held as each step is reversed
                stats["peak_bytes"] = max(stats["peak_bytes"], live)
        op.stats = stats
        if op.plan is not None:
            op.plan.measured = dict(stats)
        grads = {}
        for i in wanted:
            if i < nc:
                grads[i] = _new_tensor(ct_carry[i])
            elif i < nc + nx:
                grads[i] = _new_tensor(x_grads[i - nc])
            elif cap_grads[i - nc - nx] is not None:
                grads[i] = _new_tensor(cap_grads[i - nc - nx])
        return grads

    def _reverse_step(self, step, i, carry, xs, caps, ct_carry, ct_y, x_grads, cap_grads):
        """Step i recorded and swept from (ct_carry, ct_y); returns the carry's cotangent."""
        nc = self.n_carry
        x_i = [_new_tensor(x.data[i]) for x in xs]
        values = list(carry) + x_i + list(caps)
        n_in = len(values)

        def run(*vals):
            return tuple(self._run_step(step, i, vals[:nc], vals[nc:nc + len(x_i)],
                                        vals[nc + len(x_i):]))

        _, vjp_fn = api.vjp(run, *values)
        cts = tuple(_new_tensor(c) for c in list(ct_carry) + list(ct_y))
        grads = vjp_fn(cts if len(cts) > 1 else cts[0])
        for k in x_grads:
            x_grads[k][i] += grads[nc + k].data
        for k in range(n_in - nc - len(x_i)):
            gk = grads[nc + len(x_i) + k].data
            cap_grads[k] = gk.copy() if cap_grads[k] is None else cap_grads[k] + gk
        return [gc.data for gc in grads[:nc]]
