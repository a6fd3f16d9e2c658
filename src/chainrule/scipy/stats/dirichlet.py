"""The Dirichlet distribution with concentrations alpha, as `scipy.stats.dirichlet`:
x holds the K components along its first axis (shape (K,) or (K, N)), as in SciPy."""

from ...ops._define import coerce
from ...ops.reduce import sum as _sum
from ...ops.shape import reshape
from ..special import gammaln, xlogy
from ._common import exp_of


def logpdf(x, alpha):
    x, alpha = coerce((x, alpha))
    if alpha.ndim != 1 or x.shape[0] != alpha.shape[0]:
        raise ValueError(f"dirichlet.logpdf: x of shape {x.shape} needs its first axis to "
                         f"match alpha of shape (K,), got {alpha.shape}")
    a = reshape(alpha, alpha.shape + (1,) * (x.ndim - 1))
    norm = _sum(gammaln(alpha)) - gammaln(_sum(alpha))
    return _sum(xlogy(a - 1.0, x), axis=0) - norm


pdf = exp_of(logpdf, "pdf")
