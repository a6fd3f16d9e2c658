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
