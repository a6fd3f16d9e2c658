"""cr.scan: the loop as one node, reversed by revolve's optimal schedule, exact at every order."""

import sys
from functools import lru_cache

import numpy as np
import pytest

import chainrule as cr
from chainrule.transforms import revolve

rng = np.random.default_rng(0)
W0 = rng.normal(size=(3, 3)) * 0.5
XS = rng.normal(size=(17, 2, 3))
H0 = rng.normal(size=(2, 3))


@lru_cache(None)
def brute_force(n, s):
    """Least un-recorded step evaluations reversing n steps with s slots (slot 0 holds
    the start): advance m steps, store, reverse the tail with s - 1, the head with s."""
    if n == 1:
        return 0
    if s == 1:
        return n * (n - 1) // 2
    return min(m + brute_force(n - m, s - 1) + brute_force(m, s) for m in range(1, n))


def test_revolve_optimum_matches_a_brute_force_program():
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    for s in range(1, 7):
        for n in range(1, 61):
            assert revolve.forward_steps(n, s) == brute_force(n, s), (n, s)
    assert revolve.beta(10, 3) == 286 and revolve.repetitions(286, 10) == 3


def _executed(n, s):
    """(un-recorded evaluations in backward, most states held) when the schedule runs
    after a forward pass that stored its first snapshots and kept the last state."""
    snaps = {0} | set(revolve.first_snapshots(n, s))
    current, evaluations, held = n - 1, 0, len(snaps) + 1
    for action in revolve.reverse_schedule(n, s):
        if action[0] == "free":
            snaps.discard(action[1])
            continue
        kind, pos, start = action
        assert start in snaps
        if kind == "store" and pos not in snaps:
            evaluations += pos - start
            snaps.add(pos)
        elif kind == "reverse" and pos not in snaps:
            if pos == current:
                current = None
            else:
                evaluations += pos - start
        held = max(held, len(snaps) + (current is not None))
    return evaluations, held


def test_the_schedule_runs_the_optimum_for_every_small_case():
    for s in range(1, 7):
        for n in range(1, 61):
            evaluations, held = _executed(n, s)
            assert evaluations + (n - 1) == brute_force(n, s), (n, s)
            assert held <= s + 1, (n, s)


def _scan_op(out):
    from chainrule.core import topological_order
    return next(t._node.op for t in topological_order([out])
                if t._node is not None and t._node.op.name.startswith("scan["))


def _loss(h0, xs, w, **kw):
    def cell(h, x):
        h = cr.tanh(h @ w + x)
        return h, cr.sin(h) * 2
    h, ys = cr.scan(cell, h0, xs, **kw)
    return cr.sum(h * h) + cr.sum(cr.cos(ys))


@pytest.mark.parametrize("n,s", [(n, s) for s in range(1, 7) for n in (1, 2, 7, 23, 60)])
def test_schedule_recomputes_the_optimum_and_keeps_s_plus_one_states(n, s):
    w = cr.tensor(W0, requires_grad=True)
    counted = []

    def cell(h, x):
        counted.append(1)
        return cr.tanh(h @ w + x), None

    h, _ = cr.scan(cell, cr.tensor(H0, requires_grad=True), rng.normal(size=(n, 2, 3)),
                   snapshots=s)
    op = _scan_op(h)
    counted.clear()
    cr.sum(h).backward()
    stats = op.stats
    assert stats["recomputations"] == brute_force(n, s) - (n - 1)
    assert stats["reversed"] == n and stats["peak_states"] <= s + 1
    # every evaluation of f in backward: the recomputations plus one recorded step each
    assert len(counted) == stats["recomputations"] + n


@pytest.mark.parametrize("kw", [dict(checkpoint=None), dict(snapshots=1), dict(snapshots=3),
                                dict(snapshots=40), dict(memory_budget=600)])
def test_every_schedule_gives_the_plain_gradients(kw):
    grads = {}
    for name, options in (("plain", dict(checkpoint=None)), ("ckpt", kw)):
        w = cr.tensor(W0, requires_grad=True)
        h = cr.tensor(H0, requires_grad=True)
        x = cr.tensor(XS, requires_grad=True)
        _loss(h, x, w, **options).backward()
        grads[name] = (w.grad.data, h.grad.data, x.grad.data)
    for a, b in zip(grads["plain"], grads["ckpt"]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_second_order_and_forward_mode_are_exact():
    check = lambda h, w: _loss(h, XS[:6], w, snapshots=2)  # noqa: E731
    cr.testing.check_grads(check, (H0, W0), order=2)
    hess = cr.hessian(lambda w: _loss(H0, XS, w, snapshots=3))(W0)
    plain = cr.hessian(lambda w: _loss(H0, XS, w, checkpoint=None))(W0)
    np.testing.assert_allclose(hess.data, plain.data, rtol=1e-12, atol=1e-13)


def test_pytree_carry_and_outputs():
    def cell(carry, x):
        h, c = carry["h"], carry["c"]
        c = c * 0.5 + x["a"]
        h = cr.tanh(h + c)
        return {"h": h, "c": c}, (h, c * 2)

    init = {"h": cr.zeros(3), "c": cr.ones(3)}
    xs = {"a": cr.tensor(np.linspace(0, 1, 15).reshape(5, 3))}
    for ck in ("binomial", None):
        carry, (hs, cs) = cr.scan(cell, init, xs, checkpoint=ck, snapshots=2)
        assert set(carry) == {"h", "c"} and hs.shape == (5, 3) and cs.shape == (5, 3)
    f = lambda a, ck: cr.sum(cr.scan(cell, init, {"a": a}, checkpoint=ck)[1][0])  # noqa: E731
    a0 = np.linspace(0, 1, 15).reshape(5, 3)
    np.testing.assert_allclose(cr.grad(lambda a: f(a, "binomial"))(a0).data,
                               cr.grad(lambda a: f(a, None))(a0).data, rtol=1e-12)


def test_bad_arguments_say_what_to_do():
    with pytest.raises(ValueError, match="scan: the leading axes"):
        cr.scan(lambda c, x: (c, None), cr.zeros(2), (cr.zeros((3, 2)), cr.zeros((4, 2))))
    with pytest.raises(ValueError, match="scan: step 0 returned a carry"):
        cr.scan(lambda c, x: (cr.stack([c, c]), None), cr.zeros(2), cr.zeros((3, 2)))
    with pytest.raises(ValueError, match="memory_budget=.* too small"):
        cr.scan(lambda c, x: (c * x, None), cr.zeros(200), cr.zeros((3, 200)),
                memory_budget="1KB")
    with pytest.raises(ValueError, match="snapshots must be a positive"):
        cr.scan(lambda c, x: (c, None), cr.zeros(2), cr.zeros((3, 2)), snapshots=0)


@pytest.mark.parametrize("layer", [cr.nn.RNN, cr.nn.LSTM, cr.nn.GRU])
@pytest.mark.parametrize("options", [dict(), dict(num_layers=2, bidirectional=True,
                                                  batch_first=True, dropout=0.3)])
def test_recurrent_layers_with_checkpoint_give_the_plain_gradients(layer, options):
    grads = []
    x0 = rng.normal(size=(3, 7, 4)) if options.get("batch_first") else rng.normal(size=(7, 3, 4))
    for ckpt in (None, 2):
        cr.nn.init.manual_seed(3)
        model = layer(4, 5, dtype=np.float64, checkpoint=ckpt, **options)
        x = cr.tensor(x0, requires_grad=True)
        out, state = model(x)
        h_n = state[0] if isinstance(state, tuple) else state
        (cr.sum(out ** 2) + cr.sum(cr.sin(h_n))).backward()
        grads.append([x.grad.data] + [p.grad.data for p in model.parameters()])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_recurrent_checkpoint_option_is_checked():
    with pytest.raises(ValueError, match="LSTM: checkpoint must be"):
        cr.nn.LSTM(2, 3, checkpoint="sometimes")


def test_dropout_inside_the_step_is_replayed_for_every_recomputed_step():
    w = cr.tensor(W0, requires_grad=True)

    def cell(h, x):
        h = cr.nn.functional.dropout(cr.tanh(h @ w + x), 0.5, True)
        return h, h

    grads = []
    for options in (dict(checkpoint=None), dict(snapshots=2)):
        cr.nn.init.manual_seed(5)
        w.grad = None
        h, ys = cr.scan(cell, H0, XS, **options)
        cr.nn.functional.dropout(cr.ones(4), 0.5, True)   # the stream moves on meanwhile
        (cr.sum(h) + cr.sum(ys ** 2)).backward()
        grads.append(w.grad.data)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_scan_and_checkpoint_nodes_leave_no_reference_cycles():
    import gc
    w = cr.tensor(np.eye(3), requires_grad=True)
    x = cr.tensor(np.ones(3), requires_grad=True)
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            _, ys = cr.scan(lambda h, v: (cr.tanh(h @ w + v), h), cr.zeros(3), np.ones((10, 3)))
            cr.sum(ys).backward()
            cr.sum(cr.checkpoint(lambda v: cr.sin(v * w))(x)).backward()
        del ys
        assert gc.collect() == 0
    finally:
        gc.enable()
