"""cr.checkpoint: same derivatives, one node instead of many, any mode and order."""

import numpy as np

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
