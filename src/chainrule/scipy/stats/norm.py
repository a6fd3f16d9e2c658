"""The normal distribution N(loc, scale^2), as `scipy.stats.norm`."""

from ...ops.elementwise import negative
from ..special import log_ndtr, ndtr, ndtri
from ._common import LOG_2PI, exp_of, standardize


def logpdf(x, loc=0.0, scale=1.0):
    z, log_scale = standardize(x, loc, scale)
    return -0.5 * z * z - 0.5 * LOG_2PI - log_scale


def cdf(x, loc=0.0, scale=1.0):
    return ndtr(standardize(x, loc, scale)[0])


def logcdf(x, loc=0.0, scale=1.0):
    """log_ndtr: accurate far into the left tail."""
    return log_ndtr(standardize(x, loc, scale)[0])


def sf(x, loc=0.0, scale=1.0):
    return ndtr(negative(standardize(x, loc, scale)[0]))


def logsf(x, loc=0.0, scale=1.0):
    return log_ndtr(negative(standardize(x, loc, scale)[0]))


def ppf(q, loc=0.0, scale=1.0):
    """The quantile function (inverse cdf)."""
    return loc + scale * ndtri(q)


pdf = exp_of(logpdf, "pdf")
