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
