"""User-defined primitives and custom_jvp / custom_vjp: every transform, any order."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import check_grads

CALLS = {"jvp": 0, "vjp": 0}


@cr.custom_jvp
def log1pexp(x):
    """log(1 + exp(x)) without overflow."""
    return cr.maximum(x, 0.0) + cr.log1p(cr.exp(-cr.abs(x)))


@log1pexp.defjvp
def _log1pexp_jvp(t, ans, x):
    CALLS["jvp"] += 1
    return t * cr.sigmoid(x)


@cr.custom_vjp
def scaled_sin(x, y):
    return x * cr.sin(y)


scaled_sin.defvjp(lambda g, ans, x, y: g * cr.sin(y),
                  lambda g, ans, x, y: g * x * cr.cos(y))


@cr.custom_vjp
def softclip(x):
    """A function given both rules: forward mode uses its JVP, reverse mode its VJP."""
    return cr.tanh(x)


@softclip.defvjp
def _softclip_vjp(g, ans, x):
    CALLS["vjp"] += 1
    return g * (1 - ans * ans)


softclip.defjvp(lambda t, ans, x: t * (1 - ans * ans))


def test_log1pexp_is_stable_and_uses_the_rule():
    CALLS["jvp"] = 0
    assert cr.grad(log1pexp)(1000.0).item() == 1.0
    assert cr.grad(log1pexp)(-1000.0).item() == 0.0
    out, tan = cr.jvp(log1pexp, (1000.0,), (2.0,))
    assert out.item() == 1000.0 and tan.item() == 2.0
    assert CALLS["jvp"] >= 2      # reverse mode used the transposed JVP rule too
    assert cr.grad(cr.grad(log1pexp))(0.0).item() == pytest.approx(0.25)


@pytest.mark.parametrize("fn, args", [
    (log1pexp, (np.array([-2.0, 0.3, 1.5]),)),
    (scaled_sin, (np.array([-1.0, 0.3, 2.0]), np.array([0.5, 1.0, 2.0]))),
    (lambda x, y: scaled_sin(x, y).sum(),    # broadcasting: the VJP is summed for the user
     (np.array([[-1.0, 0.3, 2.0]]), np.array([0.5, 1.0, 2.0]))),
    (softclip, (np.array([-1.0, 0.2]),)),
])
def test_custom_functions_pass_the_gradient_check_to_third_order(fn, args):
    check_grads(fn, args, order=3, modes=("fwd", "rev"))


def test_custom_vjp_alone_stays_forward_differentiable():
    x, y = cr.tensor([1.0, 2.0]), cr.tensor([0.5, 1.0])
    _, tan = cr.jvp(scaled_sin, (x, y), (cr.ones(2), cr.zeros(2)))
    np.testing.assert_allclose(tan.data, np.sin([0.5, 1.0]))
    jac = cr.jacfwd(scaled_sin, argnums=1)(x, y).data
    np.testing.assert_allclose(jac, np.diag([1.0, 2.0] * np.cos([0.5, 1.0])))


def test_both_rules_every_transform_and_order():
    x = np.array([0.3, -0.4])
    h = cr.hessian(lambda v: softclip(v).sum())(x).data
    np.testing.assert_allclose(h, np.diag(-2 * np.tanh(x) / np.cosh(x) ** 2), atol=1e-12)
    CALLS["vjp"] = 0
    cr.grad(lambda v: softclip(v).sum())(x)
    assert CALLS["vjp"] == 1
    batched = cr.vmap(cr.grad(lambda v: softclip(v).sum()))(np.array([x, -x]))
    np.testing.assert_allclose(batched.data, 1 - np.tanh([x, -x]) ** 2)
    d3 = cr.grad(cr.grad(cr.grad(softclip)))
    assert d3(0.5).item() == pytest.approx(_tanh_third(0.5), rel=1e-12)


def _tanh_third(x):
    t = math.tanh(x)
    return -2 * (1 - t * t) * (1 - 3 * t * t)


def test_defop_makes_a_primitive_that_every_transform_understands():
    cube = cr.defop("test_custom.cube", lambda x: x ** 3,
                    vjp=lambda g, ans, x: 3 * g * x * x,
                    jvp=lambda t, ans, x: 3 * t * x * x)
    x = cr.tensor([1.0, 2.0])
    np.testing.assert_allclose(cr.jacobian(cube)(x).data, np.diag([3.0, 12.0]))
    np.testing.assert_allclose(cr.hessian(lambda v: cube(v).sum())(x).data, np.diag([6.0, 12.0]))
    np.testing.assert_allclose(cr.vmap(cube)(np.array([[1.0], [2.0]])).data, [[1.0], [8.0]])
    check_grads(cube, (np.array([0.5, -1.5]),), order=3)


def test_keyword_options_reach_the_function_and_its_rules():
    @cr.custom_vjp
    def total(x, axis):
        return x.sum(axis=axis)

    total.defvjp(lambda g, ans, x, axis: cr.expand_dims(g, axis) * cr.ones_like(x))
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(total(x, axis=1).data, [3.0, 12.0])
    np.testing.assert_allclose(cr.grad(lambda v: (total(v, axis=0) ** 2).sum())(x).data,
                               2 * np.broadcast_to(x.sum(0), (2, 3)))
    _, tan = cr.jvp(lambda v: total(v, axis=1), (x,), (np.ones((2, 3)),))
    np.testing.assert_allclose(tan.data, [3.0, 3.0])


def test_custom_function_without_rules_is_just_the_function():
    plain = cr.custom_jvp(lambda x: x * x)
    assert cr.grad(plain)(3.0).item() == 6.0


def test_custom_function_errors_are_explained():
    with pytest.raises(TypeError, match="rules were given for 2 inputs"):
        scaled_sin(1.0)
    with pytest.raises(ValueError, match="built into chainrule"):
        cr.custom_vjp(lambda x: x, name="exp").defvjp(lambda g, ans, x: g)
