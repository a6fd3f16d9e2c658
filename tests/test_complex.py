"""Complex numbers: JAX's gradient convention, holomorphic=True, and the errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import check_grads


def test_real_function_of_complex_input_follows_jax():
    # JAX: grad(lambda z: abs(z)**2)(3+4j) == 6-8j, i.e. df/dx - i df/dy
    g = cr.grad(lambda z: cr.abs(z) ** 2)(3 + 4j)
    assert g.item() == pytest.approx(6 - 8j)
    # its conjugate is the steepest-ascent direction: one step increases f
    z = np.array([1.0 + 1.0j])
    f = lambda z: cr.sum(cr.real(z * (2 - 1j)) + cr.abs(z))  # noqa: E731
    step = 1e-3 * np.conj(cr.grad(f)(z).data)
    assert f(z + step).item() > f(z).item()


def test_holomorphic_gradient_is_the_complex_derivative():
    z = 0.3 - 1.2j
    assert cr.grad(lambda z: z * z, holomorphic=True)(z).item() == pytest.approx(2 * z)
    assert cr.grad(cr.exp, holomorphic=True)(z).item() == pytest.approx(np.exp(z))
    assert cr.grad(cr.sin, holomorphic=True)(z).item() == pytest.approx(np.cos(z))


def test_complex_output_without_holomorphic_raises():
    with pytest.raises(TypeError, match="grad: f returned a complex value.*holomorphic=True"):
        cr.grad(lambda z: z * z)(1 + 2j)
    with pytest.raises(TypeError, match="grad: f returned a complex value"):
        cr.grad(lambda x: x * (1 + 1j))(2.0)   # real input, complex output
    with pytest.raises(TypeError, match="holomorphic=True needs complex inputs"):
        cr.grad(lambda x: x * x, holomorphic=True)(2.0)


def test_real_inputs_get_real_gradients_through_complex_intermediates():
    g = cr.grad(lambda x: cr.abs(cr.exp(1j * x) + 2.0))(0.7)
    assert g.dtype == np.float64
    # |e^{ix} + 2|^2 = 5 + 4 cos x
    assert g.item() == pytest.approx(-2 * np.sin(0.7) / np.sqrt(5 + 4 * np.cos(0.7)))


def test_parts_and_angle():
    z = np.array([1 + 2j, -3 - 0.5j])
    np.testing.assert_array_equal(cr.real(z).data, z.real)
    np.testing.assert_array_equal(cr.imag(z).data, z.imag)
    np.testing.assert_array_equal(cr.conj(z).data, z.conj())
    np.testing.assert_array_equal(cr.conjugate(z).data, z.conj())
    np.testing.assert_array_equal(cr.angle(z).data, np.angle(z))
    assert cr.real_if_close(np.array([1 + 1e-16j])).dtype == np.float64
    assert cr.real_if_close(np.array([1 + 1e-3j])).dtype == np.complex128
    # at 0 the angle and abs have gradient 0, not nan
    assert cr.grad(cr.angle)(0j).item() == 0 and cr.grad(cr.abs)(0j).item() == 0


def test_complex_reductions_and_products_match_numpy():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    np.testing.assert_allclose(cr.var(z, axis=0).data, np.var(z, axis=0))
    np.testing.assert_allclose(cr.std(z).data, np.std(z))
    np.testing.assert_allclose(cr.linalg.norm(z, axis=1).data, np.linalg.norm(z, axis=1))
    np.testing.assert_allclose((z @ z.T.conj()).real, cr.real(cr.tensor(z) @ cr.conj(z.T)).data)
    check_grads(lambda z: cr.linalg.norm(z, axis=1), (z,))


def test_complex64_keeps_its_precision():
    z = np.array([1 + 2j, 3 - 1j], dtype=np.complex64)
    g = cr.grad(lambda z: cr.sum(cr.abs(z * z)))(z)
    assert g.dtype == np.complex64


def test_erf_refuses_complex_input_instead_of_dropping_the_imaginary_part():
    with pytest.raises(TypeError, match="erf: cannot apply.*complex"):
        cr.erf(np.array([1 + 1j]))
