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


# ----- complex matrices: losses that ignore the phase of eigen- and singular vectors -----

def _abs2(x):
    return cr.real(x * cr.conj(x))


def hermitian_pd(*batch, n=3):
    def make(rng):
        a = _complex_matrix(*batch, n, n)(rng)[0]
        return (a @ np.conj(np.swapaxes(a, -1, -2)) + n * np.eye(n),)
    return make


def hermitian_distinct(*batch, n=3):
    """Hermitian matrices with eigenvalues 1, 3, 5, ..."""
    def make(rng):
        q, _ = np.linalg.qr(_complex_matrix(*batch, n, n)(rng)[0])
        return ((q * (1.0 + 2.0 * np.arange(n))) @ np.conj(np.swapaxes(q, -1, -2)),)
    return make


def complex_tall(*shape, scale=2.0):
    return lambda rng: (_complex_matrix(*shape)(rng)[0] + scale * np.eye(*shape[-2:]),)


def _eigh_complex_f(a):
    w, v = cr.linalg.eigh(a)
    projector = v[..., :, :1] * cr.conj(v[..., :, :1]).swapaxes(-1, -2)     # v_0 v_0^H
    return cr.concatenate([w.reshape(-1), _abs2(v).reshape(-1), projector.reshape(-1)])


def _svd_complex_f(full):
    def f(a):
        u, s, vh = cr.linalg.svd(a, full_matrices=full)
        k = s.shape[-1]
        u, vh = u[..., :k], vh[..., :k, :]
        parts = [s, _abs2(u), _abs2(vh), u[..., :, :1] * vh[..., :1, :]]
        return cr.concatenate([p.reshape(-1) for p in parts])
    return f


def _slogdet_complex_f(a):
    sign, logdet = cr.linalg.slogdet(a)
    return cr.concatenate([sign.reshape(-1), logdet.reshape(-1)])


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
    OpCase("cholesky", cr.linalg.cholesky, hermitian_pd(), "complex"),
    OpCase("cholesky", cr.linalg.cholesky, hermitian_pd(2), "complex-batched"),
    OpCase("eigh", _eigh_complex_f, hermitian_distinct(), "complex"),
    OpCase("eigh", lambda a: cr.linalg.eigh(a, UPLO="U")[0], hermitian_distinct(2),
           "complex-upper-batched"),
    OpCase("eigh", cr.linalg.eigvalsh, hermitian_distinct(), "complex-eigvalsh"),
    OpCase("svd", _svd_complex_f(False), complex_tall(4, 3), "complex-tall"),
    OpCase("svd", _svd_complex_f(False), complex_tall(3, 4), "complex-wide"),
    OpCase("svd", _svd_complex_f(True), complex_tall(2, 3, 4), "complex-full-batched"),
    OpCase("svd", lambda a: cr.linalg.norm(a, ord="nuc"), complex_tall(3, 3),
           "complex-nuclear-norm"),
    OpCase("qr", _qr_f("reduced"), complex_tall(4, 3), "complex-tall"),
    OpCase("qr", _qr_f("reduced"), complex_tall(3, 5), "complex-wide"),
    OpCase("qr", _qr_f("complete"), complex_tall(2, 4, 2), "complex-complete-batched"),
    OpCase("pinv", cr.linalg.pinv, complex_tall(4, 3), "complex-tall"),
    OpCase("pinv", cr.linalg.pinv, complex_tall(2, 3, 4), "complex-wide-batched"),
    OpCase("logabsdet", _slogdet_complex_f, complex_tall(3, 3, scale=3.0), "complex"),
    OpCase("logabsdet", _slogdet_complex_f, complex_tall(2, 3, 3, scale=3.0),
           "complex-batched"),
    OpCase("matrix_rank", lambda a: cr.linalg.matrix_rank(a) * cr.sum(a * a),
           tall(2, 4, 3, scale=2.0)),
    # lstsq under vmap (tests/test_batching.py): x, and residuals of full-rank tall a
    OpCase("pinv", lambda a, b: cr.linalg.lstsq(a, b)[0], lambda rng: (
        tall(4, 3, scale=2.0)(rng)[0], rng.standard_normal((4, 2))), "lstsq"),
    OpCase("pinv", lambda a, b: cr.linalg.lstsq(a, b)[1], lambda rng: (
        tall(4, 3, scale=2.0)(rng)[0], rng.standard_normal(4)), "lstsq-residuals"),
    OpCase("pinv", lambda a, b: cr.linalg.lstsq(a, b)[0] * cr.linalg.lstsq(a, b)[2],
           lambda rng: (complex_tall(3, 4)(rng)[0], rng.standard_normal(3)),
           "lstsq-complex-wide-rank"),
    OpCase("pnorm", lambda x: cr.linalg.norm(x, ord=3), normal((3,)), "p3"),
    OpCase("pnorm", lambda x: cr.linalg.norm(x, ord=1.5, axis=0, keepdims=True),
           normal((3, 2)), "p1.5-axis"),
    OpCase("pnorm", lambda x: cr.linalg.norm(x, ord=-2, axis=1), normal((2, 3)), "negative"),
]
