"""The Poisson distribution with mean mu, as `scipy.stats.poisson`: k is a count (a
constant), the functions are differentiable in mu."""

from ...ops._define import coerce
from ...ops.elementwise import equal, floor, greater_equal, logical_and
from ..special import gammainc, gammaincc, gammaln, xlogy
from ._common import NEG_INF, exp_of, log_of, on_support


def logpmf(k, mu, loc=0):
    k, mu = coerce((k - loc, mu))
    inside = logical_and(greater_equal(k, 0.0), equal(floor(k), k))
    return on_support(inside, k, 0.0, lambda k: xlogy(k, mu) - mu - gammaln(k + 1.0),
                      NEG_INF)


def cdf(k, mu, loc=0):
    k, mu = coerce((k - loc, mu))
    return on_support(greater_equal(k, 0.0), k, 0.0,
                      lambda k: gammaincc(floor(k) + 1.0, mu), 0.0)


def sf(k, mu, loc=0):
    k, mu = coerce((k - loc, mu))
    return on_support(greater_equal(k, 0.0), k, 0.0,
                      lambda k: gammainc(floor(k) + 1.0, mu), 1.0)


pmf = exp_of(logpmf, "pmf")
logcdf = log_of(cdf, "logcdf")
logsf = log_of(sf, "logsf")
