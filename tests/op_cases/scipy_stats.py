"""cr.scipy.stats's primitives: the multivariate normal CDF in two dimensions (exact values
from SciPy there), differentiated in the point and the covariance."""

import numpy as np

from chainrule.scipy import stats as cs

from . import OpCase


def _cdf(x, mean, a):
    return cs.multivariate_normal.cdf(x, mean, a @ a.T + np.eye(2))


def _points(*batch):
    def make(rng):
        return (0.5 * rng.standard_normal(batch + (2,)), 0.3 * rng.standard_normal(2),
                0.5 * rng.standard_normal((2, 2)))
    return make


CASES = [
    OpCase("mvn_cdf", _cdf, _points()),
    OpCase("mvn_cdf", _cdf, _points(3), "batched"),
]
