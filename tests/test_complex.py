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
    with pytest.raises(TypeError, match="grad: holomorphic=True needs complex outputs"):
        cr.grad(lambda z: cr.abs(z), holomorphic=True)(1 + 2j)


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


def test_erf_of_complex_input_is_scipys_not_the_real_part():
    from scipy.special import erf
    z = np.array([1 + 1j, -0.5 + 2j])
    np.testing.assert_allclose(cr.erf(z).data, erf(z), rtol=1e-15)
    assert cr.erf(z).dtype == np.complex128 and np.abs(cr.erf(z).data.imag).min() > 0.1


def test_complex_erf_without_scipy_names_the_extra(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "scipy.special", None)   # as if SciPy were missing
    with pytest.raises(TypeError, match="needs SciPy"):
        cr.erf(np.array([1 + 1j]))


def _holomorphic_map(z):
    return cr.stack([z[0] * z[1], cr.exp(z[0]), cr.sin(z[1]) * z[0] ** 2])


def _complex_step_jacobian(f, z, h=1e-6):
    """Central differences along the real and the imaginary axis: for a holomorphic f they
    agree, and equal f'(z)."""
    z = np.asarray(z, complex)
    along_real, along_imag = [], []
    for k in range(z.size):
        e = np.zeros_like(z)
        e[k] = h
        along_real.append((f(z + e) - f(z - e)) / (2 * h))
        along_imag.append((f(z + 1j * e) - f(z - 1j * e)) / (2j * h))
    return np.stack(along_real, axis=-1), np.stack(along_imag, axis=-1)


@pytest.mark.parametrize("jac", [cr.jacfwd, cr.jacrev, cr.jacobian,
                                 lambda f, **kw: cr.jacobian(f, mode="rev", **kw)])
def test_holomorphic_jacobians_match_differences_in_the_complex_plane(jac):
    z = np.array([0.3 - 1.2j, 0.8 + 0.4j])
    got = jac(_holomorphic_map, holomorphic=True)(z)
    along_real, along_imag = _complex_step_jacobian(lambda z: _holomorphic_map(z).data, z)
    assert got.dtype == np.complex128 and got.shape == (3, 2)
    np.testing.assert_allclose(got.data, along_real, rtol=1e-8)
    np.testing.assert_allclose(got.data, along_imag, rtol=1e-8)


def test_holomorphic_hessian_matches_differences_of_the_gradient():
    def f(z):
        return cr.sum(cr.exp(z[0] * z[1]) + z[0] ** 3 * cr.sin(z[1]))
    z = np.array([0.3 - 0.2j, 0.5 + 0.4j])
    h = cr.hessian(f, holomorphic=True)(z)

    def gradient(z):
        return cr.grad(f, holomorphic=True)(z).data
    along_real, along_imag = _complex_step_jacobian(gradient, z)
    np.testing.assert_allclose(h.data, along_real, rtol=1e-8)
    np.testing.assert_allclose(h.data, along_imag, rtol=1e-8)
    np.testing.assert_allclose(h.data, h.data.T, rtol=1e-12)


def test_jacobians_refuse_complex_as_jax_does():
    z = np.array([1.0 + 2.0j, 0.5j])
    with pytest.raises(TypeError, match="jacrev: f returned a complex value.*holomorphic=True"):
        cr.jacrev(lambda z: z * z)(z)
    with pytest.raises(TypeError, match="jacobian: f returned a complex value"):
        cr.jacobian(lambda x: x * (1 + 1j), mode="rev")(np.ones(2))
    with pytest.raises(TypeError, match="jacfwd: argument 0 is complex.*holomorphic=True"):
        cr.jacfwd(lambda z: z * z)(z)
    with pytest.raises(TypeError, match="hessian: argument 0 is complex"):
        cr.hessian(lambda z: cr.sum(cr.abs(z) ** 2))(z)
    for jac in (cr.jacfwd, cr.jacrev, cr.hessian):
        with pytest.raises(TypeError, match="holomorphic=True needs complex inputs"):
            jac(lambda x: x * x, holomorphic=True)(np.ones(2))
    with pytest.raises(TypeError, match="jacrev: holomorphic=True needs complex outputs"):
        cr.jacrev(lambda z: cr.abs(z), holomorphic=True)(z)
    with pytest.raises(TypeError, match="jacfwd: holomorphic=True needs complex outputs"):
        cr.jacfwd(lambda z: cr.abs(z), holomorphic=True)(z)
    with pytest.raises(ValueError, match="holomorphic=True works with mode"):
        cr.jacobian(lambda z: z, mode="eliminate", holomorphic=True)
    # as in JAX: a real input may have a complex output in forward mode (d out / d x)
    j = cr.jacfwd(lambda x: cr.exp(1j * x))(np.array([0.5, 1.0]))
    np.testing.assert_allclose(j.data, np.diag(1j * np.exp(1j * np.array([0.5, 1.0]))))
    # and a real-valued function of complex inputs has a reverse Jacobian (grad's convention)
    g = cr.jacrev(lambda z: cr.abs(z) ** 2)(z)
    np.testing.assert_allclose(g.data, np.diag(2 * np.conj(z)))
    # which cr.jacobian then picks whatever the shapes, as forward mode has none
    wide = cr.jacobian(lambda z: cr.abs(cr.stack([z, 2 * z, 3 * z])) ** 2)
    assert wide.choose_mode(z) == "rev"
    np.testing.assert_allclose(wide(z).data[1], np.diag(8 * np.conj(z)))
