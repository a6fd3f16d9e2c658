"""`cr.scipy.stats`: log-densities, densities and distribution functions with SciPy's
names and parameters (loc, scale, shapes), differentiable in x and in every parameter
that has a derivative formula (see docs/scipy.md)."""

from . import beta, chi2, dirichlet, gamma, multivariate_normal, norm, poisson, t

__all__ = ["beta", "chi2", "dirichlet", "gamma", "multivariate_normal", "norm", "poisson", "t"]
