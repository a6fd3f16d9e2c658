"""cr.scipy.special and cr.scipy.linalg against SciPy; the op table covers their primitives."""

import numpy as np
import pytest
import scipy.linalg as sl
import scipy.special as ss

import chainrule as cr
import chainrule.scipy.linalg as cl
import chainrule.scipy.special as cs
from chainrule.scipy._define import PRIMITIVE_NAMES
from chainrule.testing import check_grads

from .op_cases import all_cases

X = np.array([0.3, 1.1, 2.5, 6.0])


def test_every_scipy_primitive_is_in_the_op_table():
    covered = {c.op for c in all_cases()}
    assert PRIMITIVE_NAMES and not set(PRIMITIVE_NAMES) - covered


@pytest.mark.parametrize("name", ["gammaln", "digamma", "psi", "gamma", "erfc", "ndtr",
                                  "log_ndtr", "erf", "j0", "j1", "y0", "y1", "i0", "i1", "expit",
                                  "rgamma", "gammasgn"])
def test_unary_values_match_scipy(name):
    np.testing.assert_allclose(getattr(cs, name)(X).data, getattr(ss, name)(X), rtol=1e-13)
    negative = np.array([-2.5, -1.0, -0.3, 0.0])
    np.testing.assert_allclose(getattr(cs, name)(negative).data, getattr(ss, name)(negative),
                               rtol=1e-13)


def test_other_values_match_scipy():
    u = np.array([0.1, 0.4, 0.8])
    pairs = [
        (cs.erfinv(u), ss.erfinv(u)), (cs.erfcinv(u), ss.erfcinv(u)), (cs.logit(u), ss.logit(u)),
        (cs.ndtri(u), ss.ndtri(u)), (cs.polygamma(3, X), ss.polygamma(3, X)),
        (cs.beta(X, 1.5), ss.beta(X, 1.5)), (cs.betaln(X, 1.5), ss.betaln(X, 1.5)),
        (cs.gammainc(2.0, X), ss.gammainc(2.0, X)), (cs.gammaincc(2.0, X), ss.gammaincc(2.0, X)),
        (cs.betainc(2.0, 3.0, u), ss.betainc(2.0, 3.0, u)), (cs.stdtr(3.0, X), ss.stdtr(3.0, X)),
        (cs.jn(2, X), ss.jn(2, X)), (cs.yn(3, X), ss.yn(3, X)), (cs.jv(0.5, X), ss.jv(0.5, X)),
        (cs.yv(1.5, X), ss.yv(1.5, X)), (cs.iv(2.5, X), ss.iv(2.5, X)),
        (cs.ive(1.0, X), ss.ive(1.0, X)), (cs.multigammaln(X + 2, 3), ss.multigammaln(X + 2, 3)),
        (cs.xlogy(np.array([0.0, 2.0]), np.array([0.0, 3.0])), ss.xlogy([0.0, 2.0], [0.0, 3.0])),
        (cs.xlog1py(np.array([0.0, 2.0]), np.array([-1.0, 3.0])),
         ss.xlog1py([0.0, 2.0], [-1.0, 3.0])),
    ]
    for got, want in pairs:
        np.testing.assert_allclose(got.data, want, rtol=1e-13)


def test_logsumexp_with_b_and_sign():
    a = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]])
    b = np.array([1.0, -2.0, 0.5])
    for axis in (None, 0, 1):
        for keepdims in (False, True):
            got = cs.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=True)
            want = ss.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=True)
            for g, w in zip(got, want):
                np.testing.assert_allclose(g.data, w)
    np.testing.assert_allclose(cs.logsumexp(a, axis=1).data, ss.logsumexp(a, axis=1))
    np.testing.assert_allclose(cs.logsumexp(a, b=np.abs(b)).data, ss.logsumexp(a, b=np.abs(b)))
    check_grads(lambda a, b: cs.logsumexp(a, axis=1, b=b, return_sign=True)[0], (a, b))


def test_zero_times_log_zero_is_zero_with_a_finite_gradient():
    gx, gy = cr.grad(lambda x, y: cr.sum(cs.xlogy(x, y)), argnums=(0, 1))(
        np.array([0.0, 1.0]), np.array([2.0, 4.0]))
    np.testing.assert_allclose(gy.data, [0.0, 0.25])
    np.testing.assert_allclose(gx.data, np.log([2.0, 4.0]))


def test_derivatives_scipy_has_no_formula_for_raise():
    with pytest.raises(NotImplementedError, match="gammainc: the derivative with respect to a"):
        cr.grad(lambda a: cs.gammainc(a, 1.0))(2.0)
    with pytest.raises(NotImplementedError, match="betainc: .* b"):
        cr.jvp(lambda b: cs.betainc(1.0, b, 0.3), (2.0,), (1.0,))
    with pytest.raises(TypeError, match="jv: the order must be a constant"):
        cs.jv(cr.tensor(1.0, requires_grad=True), 2.0)


def test_scipy_linalg_values():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    s = a @ a.T + np.eye(3)
    b = rng.standard_normal((3, 2))
    np.testing.assert_allclose(cl.expm(a).data, sl.expm(a))
    np.testing.assert_allclose(cl.sqrtm(s).data, sl.sqrtm(s))
    np.testing.assert_allclose(cl.solve_sylvester(s, s + 1, b[:, :1] @ b[:, 1:].T).data,
                               sl.solve_sylvester(s, s + 1, b[:, :1] @ b[:, 1:].T))
    np.testing.assert_allclose(cl.cholesky(s).data, sl.cholesky(s))
    for trans in (0, 1):
        for lower in (True, False):
            np.testing.assert_allclose(
                cl.solve_triangular(a, b, trans=trans, lower=lower).data,
                sl.solve_triangular(a, b, trans=trans, lower=lower))
    np.testing.assert_allclose(cl.cho_solve(cl.cho_factor(s, lower=True), b).data,
                               sl.cho_solve(sl.cho_factor(s, lower=True), b))
    batch = np.stack([s, 2 * s])
    np.testing.assert_allclose(cl.sqrtm(batch).data[1], sl.sqrtm(2 * s))
    np.testing.assert_allclose(cr.vmap(cl.expm)(batch * 0.1).data[1], sl.expm(0.2 * s))
    ab = np.array([[0.0, 1.0, 2.0, 3.0], [5.0, 6.0, 7.0, 8.0], [1.0, 0.5, 0.2, 0.0]])
    np.testing.assert_allclose(cl.solve_banded((1, 1), ab, np.arange(1.0, 5.0)).data,
                               sl.solve_banded((1, 1), ab, np.arange(1.0, 5.0)))
    rhs = np.arange(1.0, 5.0)
    corner = cr.grad(lambda ab: cr.sum(cl.solve_banded((1, 1), ab, rhs)))(ab).data
    assert corner[0, 0] == corner[2, 3] == 0.0     # outside the band: SciPy never reads them
    with pytest.raises(ValueError, match="solve_banded: ab must have shape"):
        cl.solve_banded((1, 2), ab, np.arange(1.0, 5.0))
    # a negative definite matrix: SciPy's complex root, i sqrt(s), and its derivative
    root = cl.sqrtm(-s)
    assert root.dtype == np.complex128
    np.testing.assert_allclose(root.data, sl.sqrtm(-s), atol=1e-12)
    np.testing.assert_allclose(root.data, 1j * sl.sqrtm(s), atol=1e-12)
    g = cr.grad(lambda m: cr.sum(cr.imag(cl.sqrtm(m))))(-s)
    assert g.dtype == np.float64        # a real input keeps a real gradient
    # d/dm Im sqrt(-s') at m = -s equals -d/ds' sqrt(s') summed: the real root's gradient
    np.testing.assert_allclose(g.data, -cr.grad(lambda m: cr.sum(cl.sqrtm(m)))(s).data,
                               atol=1e-12)
    mixed = np.stack([s, -s])            # one root complex: the batch is complex, as a loop
    np.testing.assert_allclose(cl.sqrtm(mixed).data[0], sl.sqrtm(s), atol=1e-12)
    assert cl.sqrtm(s.astype(np.float32)).dtype == np.float32
    assert cl.sqrtm(-s.astype(np.float32)).dtype == np.complex64


def test_convolve_matches_scipy_and_batches():
    import scipy.signal as ssig

    from chainrule.scipy.signal import convolve
    rng = np.random.default_rng(0)
    for sa, sb in [((5,), (3,)), ((3,), (5,)), ((4, 5), (2, 3)), ((2, 3), (4, 5))]:
        a, b = rng.standard_normal(sa), rng.standard_normal(sb)
        for mode in ("full", "same", "valid"):
            np.testing.assert_allclose(convolve(a, b, mode).data, ssig.convolve(a, b, mode),
                                       atol=1e-12)
    a, b = rng.standard_normal((3, 6)), rng.standard_normal(2)
    batched = cr.vmap(lambda x: convolve(x, b, "same"))(a)
    for i in range(3):
        np.testing.assert_allclose(batched.data[i], ssig.convolve(a[i], b, "same"), atol=1e-12)
    with pytest.raises(ValueError, match="convolve: mode='valid' needs one input"):
        convolve(np.ones((2, 3)), np.ones((3, 2)), "valid")


def test_odeint_matches_scipy_and_the_exact_gradient():
    import scipy.integrate as si

    from chainrule.scipy.integrate import odeint

    def f(y, t, k):
        return cr.stack([y[1], -k * y[0]])

    t = np.linspace(0.0, 2.0, 5)
    ys = odeint(f, np.array([1.0, 0.0]), t, 4.0)
    want = si.odeint(lambda y, t: [y[1], -4.0 * y[0]], [1.0, 0.0], t, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ys.data, want, atol=1e-6)
    # y0(t) = cos(sqrt(k) t): d/dk y0(t_end) = -sin(sqrt(k) t) t / (2 sqrt(k))
    g = cr.grad(lambda k: odeint(f, np.array([1.0, 0.0]), t, k)[-1, 0])(4.0)
    np.testing.assert_allclose(g.item(), -np.sin(4.0) * 2.0 / 4.0, rtol=1e-6)
    for scipy_style in (odeint(f, np.array([1.0, 0.0]), t, (4.0,)),
                        odeint(f, np.array([1.0, 0.0]), t, args=(4.0,))):
        np.testing.assert_array_equal(scipy_style.data, ys.data)
    with pytest.raises(ValueError, match="odeint: t must be strictly increasing"):
        odeint(f, np.array([1.0, 0.0]), np.array([0.0, 1.0, 0.5]), 4.0)
    with pytest.raises(ValueError, match="odeint: func"):
        odeint(lambda y, t: y[0], np.array([1.0, 0.0]), t)
