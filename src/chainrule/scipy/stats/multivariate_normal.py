"""The multivariate normal N(mean, cov), as `scipy.stats.multivariate_normal`: x holds
points along its last axis; cov may be a number, a vector (diagonal) or a matrix.

The log-density goes through the Cholesky factor of cov, so it is differentiable in x,
mean and cov (a symmetric positive definite matrix; NumPy reads its lower triangle).
"""

import numpy as np

from ...ops._define import as_tensor, coerce, constant
from ...ops.elementwise import log
from ...ops.linalg import solve
from ...ops.linalg_decomp import _diag_embed, _diagonal
from ...ops.linalg_decomp import cholesky as _cholesky
from ...ops.reduce import sum as _sum
from ...ops.shape import reshape, transpose
from ._common import LOG_2PI, exp_of


def _covariance(cov, d, dtype):
    cov = as_tensor(cov)
    if cov.ndim == 0:
        return cov * constant(np.eye(d), dtype=dtype)
    if cov.ndim == 1:
        return _diag_embed(cov)
    return cov


def logpdf(x, mean=None, cov=1.0):
    x = as_tensor(x)
    mean = as_tensor(0.0 if mean is None else mean)
    cov = as_tensor(cov)
    d = mean.shape[-1] if mean.ndim else (cov.shape[-1] if cov.ndim else 1)
    if d == 1 and (x.ndim == 0 or x.shape[-1] != 1):
        x = reshape(x, x.shape + (1,))      # SciPy: in one dimension each entry is a point
    x, mean = coerce((x, mean))
    cov = _covariance(coerce((x, cov))[1], d, x.dtype)
    if cov.shape != (d, d) or x.shape[-1] != d:
        raise ValueError(f"multivariate_normal.logpdf: x of shape {x.shape}, mean of shape "
                         f"{mean.shape} and cov of shape {cov.shape} do not agree on a "
                         f"dimension")
    chol = _cholesky(cov)
    diff = reshape(x - mean, (-1, d))
    z = solve(chol, transpose(diff))                  # (d, N)
    maha = reshape(_sum(z * z, axis=0), x.shape[:-1])
    return -0.5 * maha - _sum(log(_diagonal(chol))) - 0.5 * d * LOG_2PI


pdf = exp_of(logpdf, "pdf")
