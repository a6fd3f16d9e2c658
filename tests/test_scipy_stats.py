"""cr.scipy.stats against scipy.stats: values, and derivatives against finite differences."""

import numpy as np
import pytest
from scipy import stats as ss

import chainrule as cr
from chainrule.scipy import stats as cs
from chainrule.testing import check_grads

X = np.array([0.3, 1.2, 2.5, 4.0])

# (distribution, positional parameters, keyword parameters, x values, functions)
UNIVARIATE = [
    ("norm", (), {"loc": 0.5, "scale": 1.7}, np.array([-3.0, -0.2, 0.4, 2.9]),
     ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf")),
    ("t", (3.5,), {"loc": -0.3, "scale": 1.4}, np.array([-3.0, -0.2, 0.4, 2.9]),
     ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")),
    ("gamma", (2.3,), {"loc": 0.1, "scale": 1.5}, X,
     ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")),
    ("chi2", (3.0,), {"loc": 0.0, "scale": 1.2}, X,
     ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")),
    ("beta", (2.2, 3.1), {"loc": 0.1, "scale": 4.5}, X,
     ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")),
]


@pytest.mark.parametrize("name, args, kwargs, x, fns", UNIVARIATE, ids=lambda v: str(v))
def test_univariate_values_match_scipy(name, args, kwargs, x, fns):
    for fn in fns:
        point = np.array([0.05, 0.3, 0.7, 0.95]) if fn == "ppf" else x
        want = getattr(getattr(ss, name), fn)(point, *args, **kwargs)
        got = getattr(getattr(cs, name), fn)(point, *args, **kwargs)
        np.testing.assert_allclose(got.data, want, rtol=1e-10, err_msg=f"{name}.{fn}")


@pytest.mark.parametrize("name, args, kwargs, x, fns", UNIVARIATE, ids=lambda v: str(v))
def test_univariate_derivatives(name, args, kwargs, x, fns):
    for fn in fns:
        if fn == "ppf":
            continue
        f = getattr(getattr(cs, name), fn)
        check_grads(lambda x, loc, scale, f=f: f(x, *args, loc=loc, scale=scale),
                    (x, kwargs["loc"], kwargs["scale"]))
        if fn in ("logpdf", "pdf") and args:   # shape parameters too
            check_grads(lambda *p, f=f: f(x, *p, **kwargs), args)


def test_shape_parameters_of_cdfs_refuse_to_differentiate():
    with pytest.raises(NotImplementedError, match="gammainc: the derivative with respect to a"):
        cr.grad(lambda a: cs.gamma.cdf(1.0, a))(2.0)
    with pytest.raises(NotImplementedError, match="stdtr: .* df"):
        cr.grad(lambda df: cs.t.cdf(1.0, df))(2.0)


def test_outside_the_support():
    np.testing.assert_array_equal(cs.gamma.logpdf(np.array([-1.0]), 2.0).data, [-np.inf])
    np.testing.assert_array_equal(cs.beta.pdf(np.array([1.5]), 2.0, 2.0).data, [0.0])
    g = cr.grad(lambda x: cs.gamma.pdf(x, 2.0))(-1.0)
    assert g.item() == 0.0


def test_norm_logcdf_far_in_the_tail():
    np.testing.assert_allclose(cs.norm.logcdf(-40.0).data, ss.norm.logcdf(-40.0))
    np.testing.assert_allclose(cr.grad(cs.norm.logcdf)(-40.0).item(), 40.0250, rtol=1e-4)


def test_poisson():
    k = np.array([0.0, 1.0, 3.0, 7.0, 2.5, -1.0])
    for fn in ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"):
        np.testing.assert_allclose(getattr(cs.poisson, fn)(k, 2.7).data,
                                   getattr(ss.poisson, fn)(k, 2.7), rtol=1e-10, err_msg=fn)
        check_grads(lambda mu, fn=fn: getattr(cs.poisson, fn)(k[:4], mu), (2.7,))


def test_dirichlet():
    alpha = np.array([1.5, 2.0, 3.5])
    x = np.array([[0.2, 0.5], [0.3, 0.1], [0.5, 0.4]])
    np.testing.assert_allclose(cs.dirichlet.logpdf(x, alpha).data, ss.dirichlet.logpdf(x, alpha))
    np.testing.assert_allclose(cs.dirichlet.pdf(x[:, 0], alpha).data,
                               ss.dirichlet.pdf(x[:, 0], alpha))
    check_grads(cs.dirichlet.logpdf, (x, alpha))


def test_multivariate_normal():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    cov = a @ a.T + np.eye(3)
    mean = rng.standard_normal(3)
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(cs.multivariate_normal.logpdf(x, mean, cov).data,
                               ss.multivariate_normal.logpdf(x, mean, cov))
    np.testing.assert_allclose(cs.multivariate_normal.pdf(x[0], mean, cov).data,
                               ss.multivariate_normal.pdf(x[0], mean, cov))
    for c in (2.0, np.array([1.0, 2.0, 3.0])):
        np.testing.assert_allclose(cs.multivariate_normal.logpdf(x, mean, c).data,
                                   ss.multivariate_normal.logpdf(x, mean, c))
    np.testing.assert_allclose(cs.multivariate_normal.logpdf(X, 1.0, 2.0).data,
                               ss.multivariate_normal.logpdf(X, 1.0, 2.0))
    check_grads(lambda x, m, c: cs.multivariate_normal.logpdf(x, m, c @ c.T + np.eye(3)),
                (x, mean, a))


COV3 = np.array([[1.0, 0.3, 0.2], [0.3, 1.5, 0.4], [0.2, 0.4, 2.0]])
X3 = np.array([0.2, 0.1, -0.3])
MEAN3 = np.array([0.1, -0.2, 0.05])


@pytest.mark.parametrize("d", [1, 2, 3])
def test_multivariate_normal_cdf_matches_scipy_and_is_repeatable(d):
    x, mean, cov = X3[:d], MEAN3[:d], COV3[:d, :d]
    want = ss.multivariate_normal.cdf(x, mean, cov, rng=np.random.default_rng(0))
    got = cs.multivariate_normal.cdf(x, mean, cov)
    np.testing.assert_allclose(got.data, want, rtol=1e-12)
    assert cs.multivariate_normal.cdf(x, mean, cov).item() == got.item()   # seeded
    np.testing.assert_allclose(cs.multivariate_normal.logcdf(x, mean, cov).data, np.log(want),
                               rtol=1e-12)
    points = np.stack([x, x - 0.5, x + 1.0])
    np.testing.assert_allclose(cs.multivariate_normal.cdf(points, mean, cov).data,
                               [ss.multivariate_normal.cdf(p, mean, cov, rng=0) for p in points],
                               atol=2e-5)


def _central_differences(f, x, mean, cov, eps=1e-5):
    """Partial derivatives in x, mean and cov (cov moved symmetrically: S_ij and S_ji)."""
    d = x.size
    gx, gm, gc = np.zeros(d), np.zeros(d), np.zeros((d, d))
    for i in range(d):
        e = np.eye(d)[i] * eps
        gx[i] = (f(x + e, mean, cov) - f(x - e, mean, cov)) / (2 * eps)
        gm[i] = (f(x, mean + e, cov) - f(x, mean - e, cov)) / (2 * eps)
        for j in range(i, d):
            e2 = np.zeros((d, d))
            e2[i, j] = e2[j, i] = eps
            gc[i, j] = gc[j, i] = (f(x, mean, cov + e2) - f(x, mean, cov - e2)) / (2 * eps)
    return gx, gm, gc


@pytest.mark.parametrize("fn", ["cdf", "logcdf"])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_multivariate_normal_cdf_derivatives_match_finite_differences(d, fn):
    x, mean, cov = X3[:d], MEAN3[:d], COV3[:d, :d]
    cr_fn = getattr(cs.multivariate_normal, fn)

    def value(x, mean, cov):
        return cr_fn(x, mean, cov).item()

    gx, gm, gc = cr.grad(cr_fn, argnums=(0, 1, 2))(x, mean, cov)
    fx, fm, fc = _central_differences(value, x, mean, cov)
    # cov's entries S_ij and S_ji move together: the pair's derivative is the sum of both
    pair = gc.data + gc.data.T - np.diag(np.diag(gc.data))
    # d = 3 values are quasi-Monte Carlo (seeded, within 1e-5): differences agree to ~1e-5
    # (divided by the CDF for logcdf)
    atol = 1e-8 if d < 3 else 2e-5 / cs.multivariate_normal.cdf(x, mean, cov).item()
    np.testing.assert_allclose(gx.data, fx, atol=atol)
    np.testing.assert_allclose(gm.data, fm, atol=atol)
    np.testing.assert_allclose(pair, fc, atol=atol)
    np.testing.assert_allclose(gm.data, -gx.data, rtol=1e-12)
    # forward mode agrees with reverse mode
    t = np.linspace(0.5, 1.5, d)
    _, forward = cr.jvp(lambda x: cr_fn(x, mean, cov), (x,), (t,))
    np.testing.assert_allclose(forward.data, gx.data @ t, rtol=1e-12)


def test_multivariate_normal_cdf_plackett_and_refusals():
    # dPhi/dS = Hessian / 2 in x (Plackett), checked against the second derivative itself
    x, cov = X3, COV3
    h = cr.hessian(lambda x: cs.multivariate_normal.cdf(x, None, cov))(x)
    gc = cr.grad(lambda c: cs.multivariate_normal.cdf(x, None, c))(cov)
    np.testing.assert_allclose(gc.data, 0.5 * h.data, rtol=1e-12)
    with pytest.raises(NotImplementedError, match="lower_limit"):
        cs.multivariate_normal.cdf(x, None, cov, lower_limit=-x)
    with pytest.raises(NotImplementedError, match="allow_singular"):
        cs.multivariate_normal.cdf(x, None, cov, allow_singular=True)
    with pytest.raises(TypeError, match="multivariate_normal.cdf: rng"):
        cs.multivariate_normal.cdf(x, None, cov, rng="seed")
    other = cs.multivariate_normal.cdf(x, None, cov, rng=5, abseps=1e-3)
    assert abs(other.item() - cs.multivariate_normal.cdf(x, None, cov).item()) < 2e-3


def test_multivariate_normal_singular_cov_and_entropy():
    cov = np.zeros((4, 4))
    cov[:2, :2] = [[1.0, 0.3], [0.3, 1.0]]
    mean = np.array([0.1, 0.2, 0.3, -0.1])
    x = np.array([[0.5, -0.3, 0.3, -0.1], [0.5, -0.3, 0.4, -0.1]])   # the second: off support
    want = ss.multivariate_normal.logpdf(x, mean, cov, allow_singular=True)
    got = cs.multivariate_normal.logpdf(x, mean, cov, allow_singular=True)
    np.testing.assert_allclose(got.data, want)
    assert got.data[1] == -np.inf
    np.testing.assert_allclose(cs.multivariate_normal.pdf(x[0], mean, cov, allow_singular=True)
                               .data, ss.multivariate_normal.pdf(x[0], mean, cov,
                                                                 allow_singular=True))
    # on the support (x moves in the first two coordinates only), in x and mean
    check_grads(lambda x, m: cs.multivariate_normal.logpdf(
        cr.concatenate([x[:2], m[2:]]), m, cov, allow_singular=True), (x[0], mean))
    a = np.random.default_rng(0).standard_normal((3, 3))
    check_grads(lambda x, a: cs.multivariate_normal.logpdf(
        x, None, a @ a.T + np.eye(3), allow_singular=True), (x[:, :3], a))
    with pytest.raises(ValueError, match="not positive semidefinite"):
        cs.multivariate_normal.logpdf(x, mean, -np.eye(4), allow_singular=True)
    c = a @ a.T + np.eye(3)
    np.testing.assert_allclose(cs.multivariate_normal.entropy(np.zeros(3), c).data,
                               ss.multivariate_normal.entropy(np.zeros(3), c))
    np.testing.assert_allclose(cs.multivariate_normal.entropy(cov=2.0).data,
                               ss.multivariate_normal.entropy(cov=2.0))
    check_grads(lambda a: cs.multivariate_normal.entropy(None, a @ a.T + np.eye(3)), (a,))
