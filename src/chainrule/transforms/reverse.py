"""The reverse sweep (backpropagation): one pass over the graph, each rule called once."""

from __future__ import annotations

from heapq import heappop, heappush

import numpy as np

from .. import core
from ..core import (
    TensorBase,
    _new_tensor,
    differentiable_inputs,
    enable_grad,
    grad_hooks,
    no_grad,
    paused_collection,
    retained,
    run_grad_hooks,
    saved_inputs,
    topological_order,
)


def _seed(out: TensorBase, grad) -> TensorBase:
    """The cotangent a sweep starts from: given, or 1 for a one-element output."""
    if grad is None:
        if out.size != 1:
            raise RuntimeError(
                f"backward: output has shape {out.shape}; pass grad= of that shape or reduce "
                "it to a scalar first (e.g. out.sum().backward())")
        return _new_tensor(np.ones(out.shape, dtype=out.dtype))
    grad = grad if isinstance(grad, TensorBase) else _new_tensor(np.asarray(grad, out.dtype))
    if grad.shape != out.shape:
        raise ValueError(f"backward: grad has shape {grad.shape} but the output has shape "
                         f"{out.shape}; they must match")
    return grad


def _needed(order, stop: set) -> set:
    """Ids of tensors from which some target can be reached (the only ones worth a rule)."""
    needed = set()
    for t in order:  # inputs come before the tensors that use them
        k = id(t)
        if k in stop or any(id(a) in needed for a in differentiable_inputs(t)):
            needed.add(k)
    return needed


def sweep(outputs, seeds, stop=None, retain_graph=False, on_edge=None):
    """Propagate cotangents from `outputs` back to leaves (or to the tensors in `stop`).

    Returns {id: (tensor, cotangent)} for every leaf or stop tensor reached, and for
    non-leaves that asked to retain their grad. `on_edge(t, i, g, contribution, total)`,
    when given, sees every rule call: the cotangent g of t went through t's rule for input
    i and `total` is that input's cotangent so far (the explainer logs the sweep this way).
    """
    # Python's cyclic collector would rescan the whole recorded graph again and again while
    # the sweep allocates (a quarter of a 100,000-node backward), and the sweep makes no
    # reference cycle: the collector waits until the sweep is done.
    with paused_collection():
        # Toward targets, only the tensors from which a target can be reached get a rule:
        # that needs the whole graph first. Otherwise the sweep discovers it as it goes.
        needed = None if stop is None else _needed(topological_order(outputs, stop), stop)
        return _propagate(outputs, seeds, stop, needed, retain_graph, on_edge)


def _propagate(outputs, seeds, stop, needed, retain_graph, on_edge):
    """The sweep's loop: each tensor once its cotangent is complete, newest node first.

    A tensor with a rule to run enters the queue when its first cotangent arrives, keyed by
    its node's stamp (recording order). Every consumer of a tensor was recorded after it,
    so when the newest queued tensor comes out, every consumer that can reach it has
    already run its rule: its cotangent is complete. So no topological walk of the graph
    is needed first. Leaves (and targets) wait aside until the queue is empty.
    """
    cotangents = {}
    queue = []      # a heap of (-stamp, tensor): the newest node first
    ends = {}       # id -> leaf or target tensor reached (no rule to run)
    for out, seed in zip(outputs, seeds):
        k = id(out)
        if k in cotangents:
            cotangents[k] = cotangents[k] + seed
        else:
            cotangents[k] = seed
            _enqueue(out, k, queue, ends, stop)
    reached = {}
    state = core.thread_state()
    anomaly = state.anomaly
    # Not recording (no create_graph) and no anomaly detection: two cotangents of one tensor
    # are added by NumPy, without a recorded op.
    plain_sums = not state.grad_enabled and anomaly is None
    while queue:
        t = heappop(queue)[1]
        k = id(t)
        g = cotangents.pop(k)
        gd, td = g.dtype, t.dtype   # `_complete` written out: this runs for every node
        if gd is not td and gd != td:
            g = g.astype(td)
        if grad_hooks and k in grad_hooks:
            g = run_grad_hooks(t, g)
        if retained and k in retained:
            reached[k] = (t, g)
        node = t._node
        inputs = node if len(node) else saved_inputs(node)   # the node is its inputs' list
        if node.stamp < core.last_write:  # something was written in place since recording
            core.check_versions(node, node.op.name)
        op, params = node.op, node.params
        rules = op.vjp
        # a user's rule is checked on every edge; a built-in's shapes are proven by the op
        # table (the check cost ~3 % of a 1,000-op chain's fwd+bwd)
        check_shapes = not op.trusted or anomaly is not None
        for i in node.flows:
            a = inputs[i]
            ka = id(a)
            if needed is not None and ka not in needed:
                continue
            if anomaly is None:
                ga = rules[i](g, t, *inputs, **params) if params else rules[i](g, t, *inputs)
            else:
                ga = anomaly.run_rule(rules[i], t, i, g, inputs, params)
            if ga is None:
                continue
            if check_shapes and ga.shape != a.shape:
                raise _wrong_shape(op, i, ga, a)
            previous = cotangents.get(ka)
            if previous is None:   # a's first cotangent: queue a (`_enqueue` written out)
                cotangents[ka] = ga
                node_a = a._node
                if node_a is None or (stop is not None and ka in stop):
                    ends[ka] = a
                else:
                    heappush(queue, (-node_a.stamp, a))
            elif plain_sums and previous._trace is None and ga._trace is None:
                cotangents[ka] = _new_tensor(previous.data + ga.data)
            else:
                cotangents[ka] = previous + ga
            if on_edge is not None:
                on_edge(t, i, g, ga, cotangents[ka])
        if not retain_graph:
            node.clear()  # free the saved values
    for k, t in ends.items():
        reached[k] = (t, _complete(t, k, cotangents.pop(k)))
    return reached


def _enqueue(t: TensorBase, k: int, queue: list, ends: dict, stop) -> None:
    """Queue t, whose first cotangent just arrived: by recording order if it has a rule
    to run, else aside with the other leaves and targets."""
    node = t._node
    if node is None or (stop is not None and k in stop):
        ends[k] = t
    else:
        heappush(queue, (-node.stamp, t))


def _complete(t: TensorBase, k: int, g: TensorBase) -> TensorBase:
    """t's complete cotangent g in t's dtype, after t's gradient hooks."""
    gd, td = g.dtype, t.dtype
    if gd is not td and gd != td:
        # one rule: a gradient has its primal's dtype (a real primal takes the real part
        # of a complex cotangent: JAX's convention, docs/complex.md)
        g = g.astype(td)
    if grad_hooks and k in grad_hooks:
        g = run_grad_hooks(t, g)
    return g


def _wrong_shape(op, i: int, ga, a) -> ValueError:
    return ValueError(f"{op.name}: its vjp rule for input {i} returned a cotangent of shape "
                      f"{ga.shape}, but that input has shape {a.shape}; a vjp rule must "
                      "return its input's shape (sum broadcast axes back with sum_to)")


def backward(outputs, grads=None, retain_graph=False, create_graph=False):
    """`Tensor.backward`: accumulate d(outputs)/d(leaf) into every leaf's `.grad`."""
    for out in outputs:
        if not out.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad and has no graph; create the "
                "inputs with requires_grad=True (and not under cr.no_grad())")
        if out.dtype.kind == "c":
            raise TypeError("backward: the output is complex, which has no gradient; call "
                            "backward on a real value (cr.real(z), cr.abs(z)), or use "
                            "cr.grad(f, holomorphic=True)")
    grads = grads or [None] * len(outputs)
    seeds = [_seed(o, g) for o, g in zip(outputs, grads)]
    with enable_grad() if create_graph else no_grad():
        reached = sweep(outputs, seeds, retain_graph=retain_graph or create_graph)
        # ids of the arrays a .grad must not hold: those this backward has put into a
        # .grad, and the caller's own grad= arrays (a rule may pass a seed through: add)
        given = {id(s.data) for s, g in zip(seeds, grads) if g is not None and
                 s._trace is None}
        for t, g in reached.values():
            t.grad = _accumulate(t.grad, g, create_graph, given)


def _accumulate(total, g, create_graph: bool, given: set):
    """`total + g` (total: a leaf's .grad or None). Outside create_graph the result holds an
    ndarray of its own, writable and in no other .grad, since zero_grad, clip_grad_norm_
    and users write into it: a rule may hand one cotangent to several inputs (add) or pass
    on a read-only broadcast view (sum), as PyTorch's AccumulateGrad clones a shared one."""
    if total is not None:
        if create_graph or total._trace is not None or g._trace is not None:
            g = total + g  # recorded (or boxed): the sum is part of a graph
        else:  # NumPy's add, no bind; on 0-d values NumPy's scalar math, not a ufunc
            td, gd = total.data, g.data
            if not td.shape and type(gd) in core.SCALAR_TYPES:
                td = td[()]
            return _new_tensor(np.asarray(td + gd))
    if g._trace is not None:
        return g
    data = g.data
    if create_graph:   # g is a node of the graph: keep it, as an array
        if type(data) is not np.ndarray:
            g.data = np.asarray(data)
    elif type(data) is not np.ndarray:   # a 0-d result's NumPy scalar
        g = _new_tensor(np.asarray(data))
    elif id(data) in given or data.base is not None or not data.flags.writeable:
        g = _new_tensor(data.copy())
    given.add(id(g.data))
    return g


def grads_wrt(outputs, seeds, targets, create_graph, retain_graph):
    """Cotangents of `targets` (None where no path leads), without touching `.grad`."""
    stop = {id(t) for t in targets}
    with enable_grad() if create_graph else no_grad():
        reached = sweep(outputs, seeds, stop=stop, retain_graph=retain_graph)
    return [reached[id(t)][1] if id(t) in reached else None for t in targets]
