"""Decompositions and the norms: each checked through functions that do not depend on the
sign (or rotation) an eigen- or singular vector is free to take."""

import numpy as np

import chainrule as cr

from . import OpCase, normal


def spd(*batch, n=3):
    def make(rng):
        a = rng.standard_normal(batch + (n, n))
        return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n),)
    return make


def distinct_spectrum(*batch, n=3):
    """Symmetric matrices whose eigenvalues are well apart (1, 3, 5, ...)."""
    def make(rng):
        q, _ = np.linalg.qr(rng.standard_normal(batch + (n, n)))
        w = 1.0 + 2.0 * np.arange(n)
        return ((q * w[..., None, :]) @ np.swapaxes(q, -1, -2),)
    return make


def tall(*shape, scale=1.0):
    return lambda rng: (rng.standard_normal(shape) + scale * np.eye(*shape[-2:]),)


def _outer_sum(u, axis):
    """A sign-invariant function of a matrix's columns (axis=-1) or rows (axis=-2)."""
    return cr.sum(u * u * cr.arange(1.0, u.shape[-1] + 1.0), axis=axis)


def _eigh_f(a):
    w, v = cr.linalg.eigh(a)
    return w + _outer_sum(v, -2) * 0.5


def _svd_f(full):
    def f(a):
        u, s, vh = cr.linalg.svd(a, full_matrices=full)
        k = s.shape[-1]
        u, vh = u[..., :k], vh[..., :k, :]
        parts = [s, _outer_sum(u, -1), _outer_sum(vh, -2), u[..., :, :1] * vh[..., :1, :]]
        return cr.concatenate([p.reshape(-1) for p in parts])
    return f


def _qr_f(mode):
    def f(a):
        q, r = cr.linalg.qr(a, mode=mode)
        n = min(a.shape)
        return cr.concatenate([q[..., :n].reshape(-1), r[..., :n, :].reshape(-1)])
    return f


def _eig_f(a):
    w, v = cr.linalg.eig(a)
    return cr.concatenate([w.reshape(-1), (cr.abs(v) ** 2).reshape(-1)])


def _complex_matrix(*shape):
    return lambda rng: (rng.standard_normal(shape) + 1j * rng.standard_normal(shape),)


def _slogdet_f(a):
    sign, logdet = cr.linalg.slogdet(a)
    return sign * logdet


CASES = [
    OpCase("cholesky", cr.linalg.cholesky, spd()),
    OpCase("cholesky", cr.linalg.cholesky, spd(2), "batched"),
    OpCase("eigh", _eigh_f, distinct_spectrum()),
    OpCase("eigh", _eigh_f, distinct_spectrum(2), "batched"),
    OpCase("eigh", lambda a: cr.linalg.eigh(a, UPLO="U")[0], distinct_spectrum(), "upper"),
    OpCase("eigh", cr.linalg.eigvalsh, distinct_spectrum(), "eigvalsh"),
    OpCase("svd", _svd_f(False), tall(4, 3, scale=2.0), "tall"),
    OpCase("svd", _svd_f(False), tall(3, 4, scale=2.0), "wide"),
    OpCase("svd", _svd_f(True), tall(4, 3, scale=2.0), "full-tall"),
    OpCase("svd", _svd_f(True), tall(2, 3, 4, scale=2.0), "full-wide-batched"),
    OpCase("svd", cr.linalg.svdvals, tall(3, 3, scale=2.0), "values"),
    OpCase("qr", _qr_f("reduced"), tall(4, 3, scale=2.0), "tall"),
    OpCase("qr", _qr_f("reduced"), tall(3, 3, scale=2.0), "square"),
    OpCase("qr", _qr_f("reduced"), tall(3, 5, scale=2.0), "wide"),
    OpCase("qr", _qr_f("complete"), tall(4, 2, scale=2.0), "complete"),
    OpCase("qr", lambda a: cr.linalg.qr(a, mode="r"), tall(2, 4, 3, scale=2.0), "r-batched"),
    OpCase("pinv", cr.linalg.pinv, tall(4, 3, scale=2.0), "tall"),
    OpCase("pinv", cr.linalg.pinv, tall(2, 3, 4, scale=2.0), "wide-batched"),
    OpCase("eig", _eig_f, normal((3, 3)), "real"),
    OpCase("eig", _eig_f, normal((2, 3, 3)), "real-batched"),
    OpCase("eig", _eig_f, _complex_matrix(3, 3), "complex"),
    OpCase("eig", cr.linalg.eigvals, _complex_matrix(2, 2), "eigvals"),
    OpCase("logabsdet", _slogdet_f, tall(3, 3, scale=3.0)),
    OpCase("logabsdet", _slogdet_f, tall(2, 3, 3, scale=3.0), "batched"),
    OpCase("sign_det", _slogdet_f, tall(3, 3, scale=3.0)),
    OpCase("pnorm", lambda x: cr.linalg.norm(x, ord=3), normal((3,)), "p3"),
    OpCase("pnorm", lambda x: cr.linalg.norm(x, ord=1.5, axis=0, keepdims=True),
           normal((3, 2)), "p1.5-axis"),
    OpCase("pnorm", lambda x: cr.linalg.norm(x, ord=-2, axis=1), normal((2, 3)), "negative"),
]
