"""The beta distribution with shapes a and b, as `scipy.stats.beta` (support [loc,
loc + scale]). cdf and sf are differentiable in x, loc and scale; not in a and b."""

from ...ops._define import coerce
from ...ops.elementwise import clip, logical_and
from ..special import betainc, betaln, xlog1py, xlogy
from ._common import NEG_INF, exp_of, log_of, on_support, standardize


def logpdf(x, a, b, loc=0.0, scale=1.0):
    z, log_scale = standardize(x, loc, scale)
    _, a, b = coerce((z, a, b))
    inside = logical_and(z >= 0, z <= 1)
    return on_support(inside, z, 0.5, lambda z: xlogy(a - 1.0, z) + xlog1py(b - 1.0, -z)
                      - betaln(a, b) - log_scale, NEG_INF)


def cdf(x, a, b, loc=0.0, scale=1.0):
    return betainc(a, b, clip(standardize(x, loc, scale)[0], 0.0, 1.0))


def sf(x, a, b, loc=0.0, scale=1.0):
    return betainc(b, a, 1.0 - clip(standardize(x, loc, scale)[0], 0.0, 1.0))


pdf = exp_of(logpdf, "pdf")
logcdf = log_of(cdf, "logcdf")
logsf = log_of(sf, "logsf")
