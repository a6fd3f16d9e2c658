"""Regression tests for wrong numbers issue 10 listed (and issue 12's `x**0` hole)."""

import numpy as np
import pytest

import chainrule as cr


def _nth(f, n):
    for _ in range(n):
        f = cr.grad(f)
    return f


def _nth_fwd(f, n):
    """The n-th derivative of a scalar function by nested forward mode."""
    for _ in range(n):
        f = (lambda g: lambda x: cr.jvp(g, (x,), (np.ones_like(np.asarray(x)),))[1])(f)
    return f


@pytest.mark.parametrize("f, order, expected", [
    (lambda x: x ** 0, 1, 0.0),
    (lambda x: x ** 0, 2, 0.0),
    (lambda x: x ** 1.0, 1, 1.0),
    (lambda x: x ** 1.0, 2, 0.0),
    (lambda x: x ** 1.0, 3, 0.0),
    (lambda x: x ** 2, 2, 2.0),
    (lambda x: x ** 2, 3, 0.0),
    (lambda x: x ** 3, 3, 6.0),
    (lambda x: x ** 3, 4, 0.0),
])
@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_power_at_zero_is_finite_at_every_order(f, order, expected, mode):
    deriv = (_nth if mode == "rev" else _nth_fwd)(f, order)
    assert deriv(0.0).item() == expected


def test_hessian_with_a_power_at_zero_has_no_nan():
    def f(x):
        return x[0] ** 0 + x[1] ** 1.0 * x[0] + x[2] ** 2 + x[0] * x[2]
    expected = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 2.0]])
    for hess in (cr.hessian(f), cr.jacrev(cr.jacrev(f)), cr.jacfwd(cr.jacfwd(f))):
        np.testing.assert_array_equal(hess(np.zeros(3)).data, expected)


def test_power_exponent_derivative_unchanged_at_zero_exponent():
    # d/dy x**y = x**y log x, also where y == 0
    assert cr.grad(lambda y: 2.0 ** y)(0.0).item() == pytest.approx(np.log(2.0))
    assert cr.grad(lambda x: x ** 0)(3.0).item() == 0.0


@pytest.mark.parametrize("x, axis", [(np.array(2.0), None), (np.ones((3, 1)), 1),
                                     (np.ones((1, 4)), 0), (np.array([5.0]), None)])
def test_std_over_one_element_has_derivative_zero_at_any_order(x, axis):
    def f(x):
        return cr.sum(cr.std(x, axis=axis))
    zero = np.zeros_like(x)
    np.testing.assert_array_equal(cr.grad(f)(x).data, zero)
    np.testing.assert_array_equal(cr.hessian(f)(x).data, np.zeros(x.shape * 2))
    np.testing.assert_array_equal(cr.jvp(f, (x,), (np.ones_like(x),))[1].data, 0.0)
    np.testing.assert_array_equal(cr.jvp(cr.grad(f), (x,), (np.ones_like(x),))[1].data, zero)
    np.testing.assert_array_equal(_nth(lambda x: cr.std(x), 3)(2.0).data, 0.0)


def test_std_keeps_its_value_and_gradient_elsewhere():
    x = np.array([1.0, 2.0, 4.0])
    assert cr.std(x).item() == np.std(x)
    cr.testing.check_grads(lambda x: cr.std(x, ddof=1), (x,))
    # zero spread over several entries: the subgradient of least norm, 0 (as linalg.norm's)
    np.testing.assert_array_equal(cr.grad(cr.std)(np.full(3, 2.0)).data, 0.0)


@pytest.mark.parametrize("call", [
    lambda: cr.grad(lambda x: x * x)(1 + 2j),
    lambda: cr.grad(lambda x: x * x)(np.array([1 + 2j])),
    lambda: cr.grad(lambda x: cr.sum(x * (1 + 2j)))(1.0),
    lambda: cr.grad(lambda x: 1j)(1.0),
    lambda: cr.jvp(lambda x: x * x, (1.0,), (1j,)),
    lambda: (cr.tensor(1.0, requires_grad=True) * 1j).backward(),
])
def test_complex_numbers_are_refused_not_cut_to_their_real_part(call):
    # complex values have gradients now (docs/complex.md); what stays refused: grad or
    # backward of a complex output without holomorphic=True, a complex tangent of a real input
    with pytest.raises(TypeError, match="complex"):
        call()


def test_grad_of_a_constant_function_is_zero():
    assert cr.grad(lambda x: 1.0)(2.0).item() == 0.0
    assert cr.grad(lambda x: 1)(2.0).item() == 0.0
    g = cr.grad(lambda x: np.float64(3.0))(np.ones(2))
    assert g.shape == (2,) and g.data.tolist() == [0.0, 0.0]
    value, g = cr.value_and_grad(lambda x: 1.5)(2.0)
    assert (value.item(), g.item()) == (1.5, 0.0)


def test_grad_of_an_integer_output_says_it_is_not_differentiable():
    with pytest.raises(TypeError, match="argmax"):
        cr.grad(lambda x: cr.sum(x > 0))(np.ones(3))
