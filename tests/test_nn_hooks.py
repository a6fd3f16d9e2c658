"""Hooks (PyTorch's names and order), Module.apply's order, clip_grad_value_."""

import numpy as np
import pytest

import chainrule as cr


def test_tensor_hook_sees_and_may_replace_the_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    seen = []
    handle = y.register_hook(lambda g: g * 10)
    x.register_hook(lambda g: seen.append(g.data.copy()))
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.data, [180.0, 360.0])   # 2y * 10 * 3
    np.testing.assert_allclose(seen[0], [180.0, 360.0])
    handle.remove()
    x.grad = None
    y = x * 3
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.data, [18.0, 36.0])


def test_tensor_hook_works_in_functional_grad_and_checks_shapes():
    w = cr.tensor(np.ones(3), requires_grad=True)
    w.register_hook(lambda g: cr.sum(g))
    with pytest.raises(ValueError, match="register_hook: a hook returned a gradient of shape"):
        (w * w).sum().backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor(1.0).register_hook(lambda g: g)


def test_forward_hooks_run_in_order_and_may_replace_args_and_output():
    lin = cr.nn.Linear(3, 2)
    calls = []
    lin.register_forward_pre_hook(lambda m, args: calls.append("pre") or (args[0] * 0,))
    lin.register_forward_hook(lambda m, args, out: calls.append("fwd") or out + 1)
    out = lin(cr.tensor(np.ones((4, 3))))
    assert calls == ["pre", "fwd"]
    np.testing.assert_allclose(out.data, np.broadcast_to(lin.bias.data + 1, (4, 2)))


def test_full_backward_hook_gets_grad_input_and_grad_output_and_may_replace():
    lin = cr.nn.Linear(3, 2)
    got = {}

    def hook(module, grad_input, grad_output):
        got["in"], got["out"] = grad_input, grad_output
        return (grad_input[0] * 2,)

    handle = lin.register_full_backward_hook(hook)
    x = cr.tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
    (lin(x) * 3).sum().backward()
    np.testing.assert_allclose(got["out"][0].data, np.full((4, 2), 3.0))
    np.testing.assert_allclose(got["in"][0].data, np.full((4, 2), 3.0) @ lin.weight.data)
    np.testing.assert_allclose(x.grad.data, 2 * got["in"][0].data)  # replaced
    handle.remove()
    x.grad = None
    (lin(x) * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, got["in"][0].data)


def test_backward_hook_without_differentiable_inputs_sees_none():
    lin = cr.nn.Linear(3, 2)
    got = []
    lin.register_full_backward_hook(lambda m, gi, go: got.append((gi, go[0].shape)))
    lin(cr.tensor(np.ones((1, 3)))).sum().backward()
    assert got == [((None,), (1, 2))]


def test_apply_visits_in_pytorchs_post_order():
    inner = cr.nn.Sequential(cr.nn.Linear(1, 1), cr.nn.ReLU())
    model = cr.nn.Sequential(inner, cr.nn.Tanh())
    order = []
    model.apply(lambda m: order.append(m))
    assert order == [inner[0], inner[1], inner, model[1], model]


def test_clip_grad_value_clamps_every_entry():
    p = cr.nn.Parameter(np.zeros(4))
    p.grad = cr.tensor([-3.0, -0.5, 0.5, 3.0])
    cr.nn.utils.clip_grad_value_([p], 1.0)
    np.testing.assert_array_equal(p.grad.data, [-1.0, -0.5, 0.5, 1.0])
    with pytest.raises(ValueError, match="clip_value must be >= 0"):
        cr.nn.utils.clip_grad_value_([p], -1)
