"""The chi-squared distribution with df degrees of freedom, as `scipy.stats.chi2`: a gamma
distribution of shape df/2 and scale 2."""

from ...ops._define import as_tensor
from . import gamma


def logpdf(x, df, loc=0.0, scale=1.0):
    return gamma.logpdf(x, 0.5 * as_tensor(df), loc, 2.0 * as_tensor(scale))


def pdf(x, df, loc=0.0, scale=1.0):
    return gamma.pdf(x, 0.5 * as_tensor(df), loc, 2.0 * as_tensor(scale))


def cdf(x, df, loc=0.0, scale=1.0):
    return gamma.cdf(x, 0.5 * as_tensor(df), loc, 2.0 * as_tensor(scale))


def logcdf(x, df, loc=0.0, scale=1.0):
    return gamma.logcdf(x, 0.5 * as_tensor(df), loc, 2.0 * as_tensor(scale))


def sf(x, df, loc=0.0, scale=1.0):
    return gamma.sf(x, 0.5 * as_tensor(df), loc, 2.0 * as_tensor(scale))


def logsf(x, df, loc=0.0, scale=1.0):
    return gamma.logsf(x, 0.5 * as_tensor(df), loc, 2.0 * as_tensor(scale))
