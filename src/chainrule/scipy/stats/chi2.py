"""The chi-squared distribution with df degrees of freedom, as `scipy.stats.chi2`: a gamma
distribution of shape df/2 and scale 2."""

from ...ops._define import as_tensor
from . import gamma


def _as_gamma(name):
    gamma_fn = getattr(gamma, name)

    def fn(x, df, loc=0.0, scale=1.0):
        return gamma_fn(x, 0.5 * as_tensor(df), loc, 2.0 * as_tensor(scale))
    fn.__name__, fn.__doc__ = name, f"SciPy's chi2.{name}: gamma.{name} of shape df/2, scale 2."
    return fn


logpdf, pdf, cdf, logcdf, sf, logsf = (_as_gamma(n) for n in
                                       ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"))
