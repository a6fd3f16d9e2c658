"""The gamma distribution with shape a, as `scipy.stats.gamma` (density 0 below loc).

cdf and sf are differentiable in x, loc and scale; not in a (SciPy has no formula).
"""

from ...ops._define import coerce
from ...ops.elementwise import maximum
from ..special import gammainc, gammaincc, gammaln, xlogy
from ._common import NEG_INF, exp_of, log_of, on_support, standardize


def logpdf(x, a, loc=0.0, scale=1.0):
    z, log_scale = standardize(x, loc, scale)
    a = coerce((z, a))[1]
    return on_support(z >= 0, z, 1.0,
                      lambda z: xlogy(a - 1.0, z) - z - gammaln(a) - log_scale, NEG_INF)


def cdf(x, a, loc=0.0, scale=1.0):
    return gammainc(a, maximum(standardize(x, loc, scale)[0], 0.0))


def sf(x, a, loc=0.0, scale=1.0):
    return gammaincc(a, maximum(standardize(x, loc, scale)[0], 0.0))


pdf = exp_of(logpdf, "pdf")
logcdf = log_of(cdf, "logcdf")
logsf = log_of(sf, "logsf")
