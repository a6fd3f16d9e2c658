"""Student's t distribution with df degrees of freedom, as `scipy.stats.t`.

cdf and sf are differentiable in x, loc and scale; not in df (SciPy has no formula).
"""

from ...ops._define import coerce
from ...ops.elementwise import log, log1p, negative
from ..special import gammaln, stdtr
from ._common import exp_of, log_of, standardize


def logpdf(x, df, loc=0.0, scale=1.0):
    z, log_scale = standardize(x, loc, scale)
    df = coerce((z, df))[1]
    half = 0.5 * (df + 1.0)
    return (gammaln(half) - gammaln(0.5 * df) - 0.5 * log(df * 3.141592653589793)
            - half * log1p(z * z / df) - log_scale)


def cdf(x, df, loc=0.0, scale=1.0):
    return stdtr(df, standardize(x, loc, scale)[0])


def sf(x, df, loc=0.0, scale=1.0):
    return stdtr(df, negative(standardize(x, loc, scale)[0]))


pdf = exp_of(logpdf, "pdf")
logcdf = log_of(cdf, "logcdf")
logsf = log_of(sf, "logsf")
