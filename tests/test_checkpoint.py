"""cr.checkpoint: same derivatives, one node instead of many, any mode and order."""

import numpy as np
import pytest

import chainrule as cr


def deep(x):
    for _ in range(50):
        x = cr.sin(x) * 1.1 + 0.1
    return x


def count_nodes(out):
    from chainrule.core import topological_order
    return sum(1 for t in topological_order([out]) if t._node is not None)


def test_checkpoint_keeps_one_node_and_gives_the_same_gradient():
    x0 = np.linspace(-1, 1, 5)
    plain = cr.tensor(x0, requires_grad=True)
    out_plain = deep(plain).sum()
    ckpt = cr.tensor(x0, requires_grad=True)
    out_ckpt = cr.checkpoint(deep)(ckpt).sum()
    assert count_nodes(out_plain) > 100 and count_nodes(out_ckpt) == 2   # checkpoint + sum
    out_plain.backward()
    out_ckpt.backward()
    np.testing.assert_allclose(ckpt.grad.data, plain.grad.data, rtol=1e-12)
    assert not ckpt.grad.requires_grad


def test_checkpoint_under_every_transform_and_order():
    f = cr.checkpoint(lambda x, y: cr.sum(cr.tanh(x * y) * x))
    cr.testing.check_grads(f, (np.array([0.3, -0.2]), np.array([1.5, 0.7])), order=2)


def test_checkpoint_of_two_inputs_runs_f_once_per_sweep():
    calls = []

    def f(x, y):
        calls.append(1)
        return x * y

    x = cr.tensor(2.0, requires_grad=True)
    y = cr.tensor(3.0, requires_grad=True)
    out = cr.checkpoint(f)(x, y)
    calls.clear()
    out.backward()
    assert len(calls) == 1 and x.grad.item() == 3.0 and y.grad.item() == 2.0


# ----- issue 12 item 1: tensors the function closes over get their gradient -------------

def test_module_parameters_closed_over_get_their_gradient():
    lin = cr.nn.Linear(3, 2, dtype=np.float64)
    x = cr.tensor(np.linspace(-1, 1, 12).reshape(4, 3))
    cr.sum(cr.tanh(cr.checkpoint(lambda x: lin(x))(x))).backward()
    ckpt_w, ckpt_b = lin.weight.grad.data, lin.bias.grad.data
    lin.zero_grad()
    cr.sum(cr.tanh(lin(x))).backward()
    np.testing.assert_allclose(ckpt_w, lin.weight.grad.data, rtol=1e-12)
    np.testing.assert_allclose(ckpt_b, lin.bias.grad.data, rtol=1e-12)


def test_grad_with_respect_to_a_closed_over_variable():
    x0 = cr.tensor(np.array([1.0, 2.0]))
    g = cr.grad(lambda w: cr.sum(cr.checkpoint(lambda x: x * w)(x0)))(3.0)
    assert g.item() == 3.0


def _closed(w, x0):
    return cr.sum(cr.checkpoint(lambda x: cr.tanh(x * w) * w + cr.sin(w))(x0))


def _plain(w, x0):
    return cr.sum(cr.tanh(x0 * w) * w + cr.sin(w))


def test_closed_over_argument_in_every_mode_and_order():
    x0 = np.array([0.3, -0.7, 1.1])
    w0 = np.array([0.5, 1.5, -0.4])
    cr.testing.check_grads(lambda w: _closed(w, x0), (w0,), order=2)
    for transform in (cr.grad, cr.hessian, cr.jacfwd, cr.jacrev):
        np.testing.assert_allclose(transform(lambda w: _closed(w, x0))(w0).data,
                                   transform(lambda w: _plain(w, x0))(w0).data, rtol=1e-12)
    second = cr.grad(lambda w: cr.sum(cr.grad(lambda v: _closed(v, x0))(w) ** 2))(w0)
    expected = cr.grad(lambda w: cr.sum(cr.grad(lambda v: _plain(v, x0))(w) ** 2))(w0)
    np.testing.assert_allclose(second.data, expected.data, rtol=1e-12)


def test_closed_over_parameters_at_second_order_through_backward():
    w = cr.tensor(np.array([0.5, -1.5]), requires_grad=True)
    x = cr.tensor(np.array([0.2, 0.9]), requires_grad=True)
    out = cr.sum(cr.checkpoint(lambda x: cr.sin(x * w) * w)(x))
    out.backward(create_graph=True)
    gw, gx = w.grad, x.grad
    w.grad = x.grad = None
    cr.sum(gw * gx).backward()
    w2, x2 = w.grad.data, x.grad.data
    w.grad = x.grad = None
    out = cr.sum(cr.sin(x * w) * w)
    out.backward(create_graph=True)
    gw, gx = w.grad, x.grad
    w.grad = x.grad = None
    cr.sum(gw * gx).backward()
    np.testing.assert_allclose(w2, w.grad.data, rtol=1e-12)
    np.testing.assert_allclose(x2, x.grad.data, rtol=1e-12)


def test_closed_over_under_jvp_and_vmap():
    x0 = np.array([0.3, -0.7])
    w0, t0 = np.array([0.5, 1.5]), np.array([1.0, -2.0])
    _, t_ckpt = cr.jvp(lambda w: _closed(w, x0), (w0,), (t0,))
    _, t_plain = cr.jvp(lambda w: _plain(w, x0), (w0,), (t0,))
    np.testing.assert_allclose(t_ckpt.data, t_plain.data, rtol=1e-12)
    ws = np.array([[0.5, 1.5], [2.0, -1.0]])
    per_example = cr.vmap(cr.grad(lambda w: _closed(w, x0)))(ws)
    np.testing.assert_allclose(per_example.data,
                               cr.vmap(cr.grad(lambda w: _plain(w, x0)))(ws).data, rtol=1e-12)


# ----- policies, names and replayed random numbers (issue 15) ---------------------------

def _mlp(w1, w2):
    def f(x):
        h = cr.checkpoint_name(cr.tanh(x @ w1), "hidden")
        return cr.sin(h @ w2)
    return f


@pytest.mark.parametrize("policy", [None, "dots", "hidden", ["hidden", "other"]])
def test_every_policy_gives_the_plain_gradient_at_first_and_second_order(policy):
    rng = np.random.default_rng(1)
    w1, w2, x0 = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(5, 3))

    def loss(x, w1, w2, ckpt):
        f = _mlp(w1, w2)
        return cr.sum((cr.checkpoint(f, policy=policy) if ckpt else f)(x) ** 2)

    for argnums in (0, 1, 2):
        g = cr.grad(loss, argnums)(x0, w1, w2, True)
        np.testing.assert_allclose(g.data, cr.grad(loss, argnums)(x0, w1, w2, False).data,
                                   rtol=1e-12)
    cr.testing.check_grads(lambda x, a, b: loss(x, a, b, True), (x0[:2], w1, w2), order=2)


def test_a_named_value_is_kept_not_recomputed():
    calls = []

    @cr.custom_vjp
    def expensive(x):
        calls.append(1)
        return x * 3.0

    expensive.defvjp(lambda g, ans, x: g * 3.0)

    def f(x):
        return cr.sin(cr.checkpoint_name(expensive(x), "kept"))

    for policy, recomputed in ((None, 1), ("kept", 0)):
        x = cr.tensor(np.array([0.1, 0.2]), requires_grad=True)
        out = cr.sum(cr.checkpoint(f, policy=policy)(x))
        calls.clear()
        out.backward()
        assert len(calls) == recomputed
        np.testing.assert_allclose(x.grad.data, 3 * np.cos(3 * x.data), rtol=1e-12)


def test_dots_policy_keeps_the_matmul_results():
    x = cr.tensor(np.ones((4, 3)), requires_grad=True)
    w = cr.tensor(np.ones((3, 5)))
    out = cr.checkpoint(lambda x: cr.tanh(x @ w), policy="dots")(x)
    assert out._node.op.kept_bytes == 4 * 5 * 8
    assert cr.checkpoint(lambda x: cr.tanh(x @ w))(x)._node.op.kept_bytes == 0


def test_dropout_inside_a_segment_is_replayed_exactly():
    lin = cr.nn.Linear(6, 6, dtype=np.float64)
    x0 = np.linspace(-1, 1, 24).reshape(4, 6)

    def f(x):
        return cr.nn.functional.dropout(cr.tanh(lin(x)), 0.5, True)

    grads = []
    for wrap in (cr.checkpoint, lambda g: g):
        cr.nn.init.manual_seed(7)
        lin.zero_grad()
        x = cr.tensor(x0, requires_grad=True)
        y = wrap(f)(x)
        assert np.count_nonzero(y.data) < y.size   # the mask really drops entries
        out = cr.sum(y ** 2)
        cr.nn.functional.dropout(cr.ones(3), 0.5, True)   # the stream moves on meanwhile
        out.backward()
        grads.append((x.grad.data, lin.weight.grad.data))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_a_random_draw_not_replayed_raises_instead_of_a_wrong_gradient():
    gen = np.random.default_rng(0)
    f = cr.checkpoint(lambda x: x * cr.tensor(gen.random(3)))
    x = cr.tensor(np.ones(3), requires_grad=True)
    out = cr.sum(cr.sin(f(x)))
    with pytest.raises(RuntimeError, match="recomputing gave a different value"):
        out.backward()


def test_bad_policy_is_refused():
    with pytest.raises(TypeError, match="checkpoint: policy must be"):
        cr.checkpoint(lambda x: x, policy=3)
