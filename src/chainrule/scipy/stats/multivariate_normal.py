"""The multivariate normal N(mean, cov), as `scipy.stats.multivariate_normal`: x holds
points along its last axis; cov may be a number, a vector (diagonal) or a matrix.

The log-density goes through the Cholesky factor of cov, so it is differentiable in x,
mean and cov (a symmetric positive definite matrix; NumPy reads its lower triangle).
The CDF is SciPy's, seeded, with derivatives in x, mean and cov (see _mvn_cdf.py).
"""

import numbers

import numpy as np

from ...core import is_mapped
from ...ops._define import as_tensor, coerce, constant
from ...ops.elementwise import log, sqrt, where
from ...ops.linalg import matmul, solve
from ...ops.linalg_decomp import _diag_embed, _diagonal
from ...ops.linalg_decomp import cholesky as _cholesky
from ...ops.linalg_decomp import eigh as _eigh
from ...ops.reduce import sum as _sum
from ...ops.shape import getitem, reshape, transpose
from . import _mvn_cdf
from ._common import LOG_2PI, NEG_INF, exp_of, log_of


def _covariance(cov, d, dtype):
    cov = as_tensor(cov)
    if cov.ndim == 0:
        return cov * constant(np.eye(d), dtype=dtype)
    if cov.ndim == 1:
        return _diag_embed(cov)
    return cov


def _arguments(function, x, mean, cov):
    """x (..., d), mean and cov (d, d) as tensors of one dtype, SciPy's shapes accepted."""
    x = as_tensor(x)
    mean = as_tensor(0.0 if mean is None else mean)
    cov = as_tensor(cov)
    d = mean.shape[-1] if mean.ndim else (cov.shape[-1] if cov.ndim else 1)
    if d == 1 and (x.ndim == 0 or x.shape[-1] != 1):
        x = reshape(x, x.shape + (1,))      # SciPy: in one dimension each entry is a point
    x, mean = coerce((x, mean))
    cov = _covariance(coerce((x, cov))[1], d, x.dtype)
    if cov.shape != (d, d) or x.shape[-1] != d:
        raise ValueError(f"multivariate_normal.{function}: x of shape {x.shape}, mean of "
                         f"shape {mean.shape} and cov of shape {cov.shape} do not agree on a "
                         f"dimension")
    return x, mean, cov, d


def logpdf(x, mean=None, cov=1.0, allow_singular=False):
    """SciPy's logpdf; allow_singular=True accepts a singular cov as SciPy does (the
    density on the support, mean + cov's range, with the pseudo-determinant; -inf off it)."""
    x, mean, cov, d = _arguments("logpdf", x, mean, cov)
    if allow_singular:
        return _singular_logpdf(x, mean, cov, d)
    chol = _cholesky(cov)
    diff = reshape(x - mean, (-1, d))
    z = solve(chol, transpose(diff))                  # (d, N)
    maha = reshape(_sum(z * z, axis=0), x.shape[:-1])
    return -0.5 * maha - _sum(log(_diagonal(chol))) - 0.5 * d * LOG_2PI


def _singular_logpdf(x, mean, cov, d):
    """Through cov's eigendecomposition, keeping SciPy's eigenvalues (above 1e6 ulps of the
    largest); the kept ones are the support's, so the derivative is that of a fixed rank."""
    if is_mapped(cov):
        raise ValueError("multivariate_normal.logpdf: allow_singular=True decides the rank "
                         "from cov's values, which vmap cannot do per example; map x or mean")
    w, v = _eigh(cov)
    values = w.data
    eps = 1e6 * np.finfo(values.dtype).eps * np.abs(values).max()
    if values.min() < -eps:
        raise ValueError("multivariate_normal.logpdf: cov is not positive semidefinite "
                         f"(eigenvalue {values.min():.3g})")
    keep, drop = np.flatnonzero(values > eps), np.flatnonzero(values <= eps)
    w_kept = getitem(w, keep)
    diff = reshape(x - mean, (-1, d))
    z = matmul(diff, getitem(v, (slice(None), keep))) / sqrt(w_kept)
    maha = reshape(_sum(z * z, axis=-1), x.shape[:-1])
    out = -0.5 * (maha + _sum(log(w_kept)) + keep.size * LOG_2PI)
    if drop.size:   # off the support (a direction of zero variance): density 0
        off = matmul(diff, getitem(v, (slice(None), drop))).data
        outside = np.abs(off).max(axis=-1).reshape(x.shape[:-1]) > np.sqrt(eps)
        out = where(constant(outside), NEG_INF, out)
    return out


def entropy(mean=None, cov=1.0):
    """SciPy's entropy, (d (1 + log 2 pi) + log det cov) / 2, differentiable in cov."""
    mean = as_tensor(0.0 if mean is None else mean)
    cov = as_tensor(cov)
    d = mean.shape[-1] if mean.ndim else (cov.shape[-1] if cov.ndim else 1)
    cov = _covariance(coerce((mean, cov))[1], d, mean.dtype)
    return _sum(log(_diagonal(_cholesky(cov)))) + 0.5 * d * (1.0 + LOG_2PI)


def _seed(rng):
    """One integer seed: the CDF is evaluated with the same points every call."""
    if rng is None:
        return 0
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return int(rng)
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63 - 1))
    raise TypeError(f"multivariate_normal.cdf: rng must be None, an int seed or a "
                    f"numpy.random.Generator, got {type(rng).__name__}")


def cdf(x, mean=None, cov=1.0, allow_singular=False, maxpts=None, abseps=1e-5,
        releps=1e-5, *, lower_limit=None, rng=None):
    """P(X <= x), SciPy's value (Genz's quasi-Monte Carlo within abseps/releps), with the
    RNG seeded (rng: None means seed 0) so that repeated calls agree and finite
    differences are meaningful; differentiable in x, mean and cov."""
    if allow_singular:
        raise NotImplementedError("multivariate_normal.cdf: allow_singular=True is not "
                                  "supported (a singular cov has no density to differentiate)")
    if lower_limit is not None:
        raise NotImplementedError("multivariate_normal.cdf: lower_limit is not supported; "
                                  "write the box probability by inclusion-exclusion of cdf")
    x, mean, cov, d = _arguments("cdf", x, mean, cov)
    params = {"maxpts": None if maxpts is None else int(maxpts), "abseps": float(abseps),
              "releps": float(releps), "seed": _seed(rng)}
    return _mvn_cdf.cdf(x - mean, cov, params)


pdf = exp_of(logpdf, "pdf")
logcdf = log_of(cdf, "logcdf")
