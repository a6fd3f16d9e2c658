"""The multivariate normal CDF Phi_S(z) = P(Z <= z), Z ~ N(0, S), as a primitive.

Values come from SciPy (Genz's randomized quasi-Monte Carlo, seeded so that the CDF is a
deterministic function). Derivatives are written in chainrule ops from lower-dimensional
CDFs, so every order works:

- dPhi/dz_i = phi(z_i; S_ii) Phi_{d-1}(rest | z_i)            (the conditional normal)
- d2Phi/dz_i dz_j = phi_2(z_i, z_j) Phi_{d-2}(rest | z_i, z_j)  (i != j)
- d2Phi/dz_i^2 = -z_i / S_ii dPhi/dz_i - sum_k (S_ki / S_ii) d2Phi/dz_i dz_k
- dPhi/dS = Hessian / 2 (Plackett 1954), the symmetric gradient of a symmetric S.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _stats

from ...core import bind
from ...ops.elementwise import exp, sqrt
from ...ops.reduce import sum as _sum
from ...ops.shape import expand_dims, getitem, materialize, reshape, stack, sum_to
from .._define import defop
from ..special import ndtr

_TWO_PI = 2.0 * np.pi


def _impl(z, cov, maxpts, abseps, releps, seed):
    """SciPy's value at every point of the broadcast leading axes, each with a fresh RNG of
    one seed (the same points every call: the CDF stays a smooth function of z and S)."""
    d = z.shape[-1]
    batch = np.broadcast_shapes(z.shape[:-1], cov.shape[:-2])
    z = np.broadcast_to(z, batch + (d,))
    cov = np.broadcast_to(cov, batch + (d, d))
    out = np.empty(batch, dtype=np.result_type(z.dtype, cov.dtype))
    for idx in np.ndindex(batch):
        out[idx] = _stats.multivariate_normal.cdf(
            z[idx], cov=cov[idx], maxpts=maxpts, abseps=abseps, releps=releps,
            rng=np.random.default_rng(seed))
    return out


def _at(x, *index):
    return getitem(x, (Ellipsis,) + index)


def _last(x):
    """x (..., ) -> (..., 1): broadcasts against a trailing vector axis."""
    return expand_dims(x, -1)


def cdf(z, cov, params):
    """Phi_S(z) in chainrule ops: ndtr in one dimension, the primitive in more."""
    d = z.shape[-1]
    if d == 1:
        return ndtr(_at(z, 0) / sqrt(_at(cov, 0, 0)))
    return bind(mvn_cdf_p, (z, cov), params)


def _conditional(z, cov, given, rest, weights):
    """The rest of z given z[given] = values: (shifted point, Schur-complement covariance);
    `weights[k]` is S[rest, given[k]] times the k-th column of S[given, given]^-1."""
    y = _at(z, rest)
    sc = _at(_at(cov, rest, slice(None)), slice(None), rest)
    for k, w in zip(given, weights):
        y = y - w * _last(_at(z, k))
        sc = sc - expand_dims(w, -1) * expand_dims(_at(cov, k, rest), -2)
    return y, sc


def gradient(z, cov, params):
    """dPhi/dz, shape (..., d)."""
    d = z.shape[-1]
    parts = []
    for i in range(d):
        zi, sii = _at(z, i), _at(cov, i, i)
        density = exp(-0.5 * zi * zi / sii) / sqrt(_TWO_PI * sii)
        if d > 1:
            rest = [k for k in range(d) if k != i]
            y, sc = _conditional(z, cov, [i], rest, [_at(cov, rest, i) / _last(sii)])
            density = density * cdf(y, sc, params)
        parts.append(density)
    return stack(parts, axis=-1)


def _cross(z, cov, i, j, params):
    """d2Phi/dz_i dz_j for i != j: the bivariate density times the rest's conditional CDF."""
    d = z.shape[-1]
    zi, zj = _at(z, i), _at(z, j)
    sii, sjj, sij = _at(cov, i, i), _at(cov, j, j), _at(cov, i, j)
    det = sii * sjj - sij * sij
    quad = (sjj * zi * zi - 2.0 * sij * zi * zj + sii * zj * zj) / det
    density = exp(-0.5 * quad) / (_TWO_PI * sqrt(det))
    if d == 2:
        return density
    rest = [k for k in range(d) if k not in (i, j)]
    s_ri, s_rj, det_ = _at(cov, rest, i), _at(cov, rest, j), _last(det)
    w_i = (s_ri * _last(sjj) - s_rj * _last(sij)) / det_
    w_j = (s_rj * _last(sii) - s_ri * _last(sij)) / det_
    y, sc = _conditional(z, cov, [i, j], rest, [w_i, w_j])
    return density * cdf(y, sc, params)


def hessian(z, cov, params):
    """d2Phi/dz dz^T, shape (..., d, d)."""
    d = z.shape[-1]
    h = [[None] * d for _ in range(d)]
    for i in range(d):
        for j in range(i + 1, d):
            h[i][j] = h[j][i] = _cross(z, cov, i, j, params)
    g = gradient(z, cov, params)
    for i in range(d):
        sii = _at(cov, i, i)
        diag = -_at(z, i) / sii * _at(g, i)
        for k in range(d):
            if k != i:
                diag = diag - _at(cov, k, i) / sii * h[i][k]
        h[i][i] = diag
    return stack([stack(row, axis=-1) for row in h], axis=-2)


def _vjp_z(g, ans, z, cov, **params):
    return sum_to(_last(g) * gradient(z, cov, params), z.shape)


def _vjp_cov(g, ans, z, cov, **params):
    return sum_to(0.5 * expand_dims(_last(g), -1) * hessian(z, cov, params), cov.shape)


def _jvp_z(t, ans, z, cov, **params):
    return _sum(t * gradient(z, cov, params), axis=-1)


def _jvp_cov(t, ans, z, cov, **params):
    return 0.5 * _sum(t * hessian(z, cov, params), axis=(-2, -1))


def _batch(size, op, vals, batched, params):
    """Both inputs get the batch axis; the one with fewer leading axes gets unit ones."""
    z, cov = (materialize(v, b, size) for v, b in zip(vals, batched))
    z_lead, cov_lead = z.ndim - 2, cov.ndim - 3
    if z_lead > cov_lead:
        cov = reshape(cov, (size,) + (1,) * (z_lead - cov_lead) + cov.shape[1:])
    elif cov_lead > z_lead:
        z = reshape(z, (size,) + (1,) * (cov_lead - z_lead) + z.shape[1:])
    return bind(op, (z, cov), params)


mvn_cdf_p = defop("mvn_cdf", _impl, nin=2, vjp=(_vjp_z, _vjp_cov), jvp=(_jvp_z, _jvp_cov),
                  batch=_batch,
                  doc="P(Z <= z), Z ~ N(0, cov) (SciPy, seeded QMC); z (..., d), cov (..., d, d).")
