"""cr.linalg beyond the op table: values against NumPy, the documented conventions at
repeated eigen/singular values and at 0, vmap, dtypes and errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import check_grads

rng = np.random.default_rng(1)
A43 = rng.standard_normal((4, 3))
SPD = A43.T @ A43 + np.eye(3)


def test_values_match_numpy():
    np.testing.assert_allclose(cr.linalg.cholesky(SPD).data, np.linalg.cholesky(SPD))
    w, v = cr.linalg.eigh(SPD)
    nw, nv = np.linalg.eigh(SPD)
    np.testing.assert_allclose(w.data, nw)
    np.testing.assert_allclose(np.abs(v.data), np.abs(nv))
    np.testing.assert_allclose(cr.linalg.eigvalsh(SPD).data, np.linalg.eigvalsh(SPD))
    for full in (True, False):
        for got, want in zip(cr.linalg.svd(A43, full_matrices=full),
                             np.linalg.svd(A43, full_matrices=full)):
            assert got.shape == want.shape
            np.testing.assert_allclose(np.abs(got.data), np.abs(want), atol=1e-12)
    for mode in ("reduced", "complete"):
        for got, want in zip(cr.linalg.qr(A43, mode=mode), np.linalg.qr(A43, mode=mode)):
            np.testing.assert_allclose(got.data, want, atol=1e-12)
    wide = A43.T
    q, r = cr.linalg.qr(wide)
    np.testing.assert_allclose((q @ r).data, wide, atol=1e-12)
    np.testing.assert_allclose(r.data, np.linalg.qr(wide)[1], atol=1e-12)
    np.testing.assert_allclose(cr.linalg.pinv(A43).data, np.linalg.pinv(A43))
    sign, logdet = cr.linalg.slogdet(-SPD)
    assert (sign.item(), logdet.item()) == pytest.approx(np.linalg.slogdet(-SPD))
    for n in (-3, 0, 1, 5):
        np.testing.assert_allclose(cr.linalg.matrix_power(SPD, n).data,
                                   np.linalg.matrix_power(SPD, n))


def test_eig_is_complex_and_matches_numpy():
    w, v = cr.linalg.eig(A43[:3])
    nw, nv = np.linalg.eig(A43[:3])
    assert w.dtype == v.dtype == np.complex128
    np.testing.assert_allclose(w.data, nw)
    np.testing.assert_allclose((A43[:3] @ v).data, (v * w[None, :]).data, atol=1e-12)
    np.testing.assert_allclose(cr.linalg.eigvals(SPD).data, np.linalg.eigvals(SPD))


def test_lstsq_matches_numpy():
    b = rng.standard_normal((4, 2))
    x, res, rank, s = cr.linalg.lstsq(A43, b)
    nx, nres, nrank, ns = np.linalg.lstsq(A43, b)
    np.testing.assert_allclose(x.data, nx)
    np.testing.assert_allclose(res.data, nres)
    assert rank == nrank
    np.testing.assert_allclose(s.data, ns)
    x, res, rank, _ = cr.linalg.lstsq(np.ones((3, 2)), np.arange(3.0))   # rank deficient
    nx, nres, nrank, _ = np.linalg.lstsq(np.ones((3, 2)), np.arange(3.0))
    np.testing.assert_allclose(x.data, nx)
    assert res.shape == nres.shape == (0,) and rank == nrank == 1
    check_grads(lambda a, b: cr.linalg.lstsq(a, b)[1], (A43, b[:, 0]))
    check_grads(lambda a, b: cr.linalg.lstsq(a, b)[0], (A43, b))
    # under vmap over a: the rank is a tensor, residuals are reported for every tall example
    deficient = np.ones((4, 3))
    x, res, rank, s = cr.vmap(lambda a: cr.linalg.lstsq(a, b))(np.stack([A43, deficient]))
    np.testing.assert_array_equal(rank.data, [3, 1])
    for i, a in enumerate((A43, deficient)):
        nx = np.linalg.lstsq(a, b)[0]
        np.testing.assert_allclose(x.data[i], nx, atol=1e-12)
        np.testing.assert_allclose(res.data[i], np.sum((b - a @ nx) ** 2, axis=0))
    np.testing.assert_array_equal(cr.linalg.matrix_rank(np.stack([A43, deficient])).data,
                                  np.linalg.matrix_rank(np.stack([A43, deficient])))
    assert cr.linalg.matrix_rank(A43, tol=1e9).item() == 0


@pytest.mark.parametrize("ord", [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf])
def test_matrix_norms(ord):
    x = rng.standard_normal((2, 4, 3))
    got = cr.linalg.norm(x, ord=ord, axis=(2, 1), keepdims=True)
    np.testing.assert_allclose(got.data, np.linalg.norm(x, ord=ord, axis=(2, 1),
                                                        keepdims=True))
    np.testing.assert_allclose(cr.linalg.norm(x[0], ord=ord).data,
                               np.linalg.norm(x[0], ord=ord))
    check_grads(lambda x: cr.linalg.norm(x, ord=ord, axis=(1, 2)), (x,))


@pytest.mark.parametrize("ord", [None, 0, 1, 2, 3, 0.5, -1, np.inf, -np.inf])
def test_vector_norms(ord):
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(cr.linalg.norm(x, ord=ord, axis=1).data,
                               np.linalg.norm(x, ord=ord, axis=1))


@pytest.mark.parametrize("ord", [None, 1, 2, 3, 1.5, np.inf])
def test_vector_norm_gradient_is_zero_at_zero(ord):
    # issue 12 item 6: norm(x, ord=3) at 0 gave nan
    g = cr.grad(lambda x: cr.linalg.norm(x, ord=ord))(np.zeros(3))
    np.testing.assert_array_equal(g.data, np.zeros(3))
    h = cr.hessian(lambda x: cr.linalg.norm(x, ord=ord))(np.zeros(3))
    assert np.all(np.isfinite(h.data))


def test_nuclear_norm_at_zero_is_finite():
    g = cr.grad(lambda x: cr.linalg.norm(x, "nuc"))(np.zeros((3, 2)))
    assert np.all(np.isfinite(g.data))
    # a subgradient: <g, x> = ||x||_nuc would need x in g's direction; here |g|_2 <= 1
    assert np.linalg.norm(g.data, 2) <= 1 + 1e-12


def test_repeated_eigenvalues_give_finite_gradients():
    eye = np.eye(3)
    g = cr.grad(lambda a: cr.sum(cr.linalg.eigvalsh(a) ** 2))(eye)
    np.testing.assert_allclose(g.data, 2 * eye)           # d tr(A^2) = 2 A
    # the eigenvectors' terms are 0 at the repeat: a function of the eigenspace is right
    g = cr.grad(lambda a: cr.sum(cr.linalg.eigh(a)[1] ** 2))(eye)
    np.testing.assert_array_equal(g.data, np.zeros((3, 3)))


def test_repeated_and_zero_singular_values_give_finite_gradients():
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))      # all singular values 1
    g = cr.grad(lambda a: cr.sum(cr.linalg.svdvals(a)))(q)
    np.testing.assert_allclose(g.data, q, atol=1e-12)     # d tr(sqrt(A^T A)) = A (A^T A)^-1/2
    g = cr.grad(lambda a: cr.sum(cr.linalg.svd(a)[0][:, :1] * cr.linalg.svd(a)[2][:1]))(
        np.zeros((3, 3)))
    assert np.all(np.isfinite(g.data))


def test_cholesky_and_eigh_read_the_lower_triangle_as_numpy_does():
    a = SPD + np.triu(np.ones((3, 3)), 1)       # upper triangle garbage
    np.testing.assert_allclose(cr.linalg.cholesky(a).data, np.linalg.cholesky(a))
    g = cr.grad(lambda a: cr.sum(cr.linalg.cholesky(a)))(a)
    assert np.all(np.triu(g.data, 1) == 0)
    np.testing.assert_allclose(cr.linalg.eigvalsh(a, UPLO="U").data,
                               np.linalg.eigvalsh(a, UPLO="U"))


def test_svd_full_matrices_completing_columns_are_constant():
    u, s, vh = cr.linalg.svd(A43)
    assert u.shape == (4, 4) and vh.shape == (3, 3)
    g = cr.grad(lambda a: cr.sum(cr.linalg.svd(a)[0][:, 3:] ** 3))(A43)
    np.testing.assert_array_equal(g.data, np.zeros((4, 3)))


@pytest.mark.parametrize("fn", [
    cr.linalg.cholesky, cr.linalg.eigvalsh, cr.linalg.svdvals, cr.linalg.pinv,
    lambda a: cr.linalg.qr(a)[1], lambda a: cr.linalg.slogdet(a)[1],
    lambda a: cr.linalg.norm(a, "nuc"), lambda a: cr.linalg.norm(a, ord=3, axis=0),
], ids=["cholesky", "eigvalsh", "svdvals", "pinv", "qr", "slogdet", "nuc", "p3"])
def test_vmap_and_jacobians_match_the_loop(fn):
    xs = np.stack([SPD, SPD + np.diag([1.0, 2.0, 3.0])])
    batched = cr.vmap(fn)(xs)
    for i in range(2):
        np.testing.assert_allclose(batched.data[i], fn(xs[i]).data, atol=1e-12)
    np.testing.assert_allclose(cr.jacfwd(fn)(SPD).data, cr.jacrev(fn)(SPD).data, atol=1e-9)


def test_float32_stays_float32():
    a = SPD.astype(np.float32)
    for fn in (cr.linalg.cholesky, cr.linalg.eigvalsh, cr.linalg.svdvals, cr.linalg.pinv):
        assert fn(a).dtype == np.float32
        assert cr.grad(lambda a, fn=fn: cr.sum(fn(a)))(a).dtype == np.float32


def test_errors_name_the_function():
    with pytest.raises(ValueError, match="linalg.cholesky: needs square"):
        cr.linalg.cholesky(A43)
    with pytest.raises(ValueError, match="linalg.norm: invalid ord"):
        cr.linalg.norm(A43, ord=3)
    with pytest.raises(ValueError, match="linalg.norm: ord=2 over a tensor"):
        cr.linalg.norm(np.zeros((2, 2, 2)), ord=2)
    with pytest.raises(TypeError, match="matrix_power: n must be an integer"):
        cr.linalg.matrix_power(SPD, 1.5)
    with pytest.raises(ValueError, match="cholesky"):
        cr.linalg.cholesky(-SPD)


C43 = A43 + 1j * rng.standard_normal((4, 3))
HPD = C43.conj().T @ C43 + np.eye(3)


def test_complex_values_and_dtypes_match_numpy():
    np.testing.assert_allclose(cr.linalg.cholesky(HPD).data, np.linalg.cholesky(HPD))
    w, v = cr.linalg.eigh(HPD)
    assert w.dtype == np.float64 and v.dtype == np.complex128
    np.testing.assert_allclose(w.data, np.linalg.eigh(HPD)[0])
    np.testing.assert_allclose((HPD @ v).data, (v * w[None, :]).data, atol=1e-12)
    np.testing.assert_allclose(cr.linalg.eigvalsh(HPD, UPLO="U").data, np.linalg.eigvalsh(HPD))
    u, s, vh = cr.linalg.svd(C43)
    assert s.dtype == np.float64
    np.testing.assert_allclose(s.data, np.linalg.svd(C43)[1])
    np.testing.assert_allclose((u[:, :3] * s[None, :] @ vh).data, C43, atol=1e-12)
    for got, want in zip(cr.linalg.qr(C43), np.linalg.qr(C43)):
        np.testing.assert_allclose(got.data, want, atol=1e-12)
    np.testing.assert_allclose(cr.linalg.pinv(C43).data, np.linalg.pinv(C43))
    for got, want in zip(cr.linalg.slogdet(HPD + 1j * np.eye(3)),
                         np.linalg.slogdet(HPD + 1j * np.eye(3))):
        np.testing.assert_allclose(got.data, want)
    np.testing.assert_allclose(cr.linalg.norm(C43, ord=2).data, np.linalg.norm(C43, ord=2))
    lower_only = np.tril(HPD - 4 * np.eye(3)) + np.triu(np.ones((3, 3)), 1)   # indefinite
    u, s, vh = cr.linalg.svd(lower_only, hermitian=True)
    np.testing.assert_allclose(s.data, np.linalg.svd(lower_only, hermitian=True)[1])
    hermitian = np.tril(lower_only) + np.tril(lower_only, -1).conj().T
    hermitian[np.diag_indices(3)] = hermitian.diagonal().real
    np.testing.assert_allclose((u * s[None, :] @ vh).data, hermitian, atol=1e-12)
    check_grads(lambda a: cr.linalg.svd(a, hermitian=True)[1], (lower_only,))
    b = np.arange(4.0) + 1j
    for got, want in zip(cr.linalg.lstsq(C43, b), np.linalg.lstsq(C43, b)):
        np.testing.assert_allclose(np.asarray(got.data if hasattr(got, "data") else got), want,
                                   atol=1e-12)


def test_complex_lstsq_and_gauge_invariant_gradients():
    b = np.arange(4.0) + 1j
    check_grads(lambda a, b: cr.linalg.lstsq(a, b)[0], (C43, b))
    check_grads(lambda a: cr.linalg.lstsq(a, b)[1], (C43,))
    # |u_0|^2 ignores the phase LAPACK gives u_0: its gradient is a real-valued loss's
    g = cr.grad(lambda a: cr.sum(cr.abs(cr.linalg.svd(a)[0][:, 0]) ** 2 * np.arange(4.0)))(C43)
    eps, direction = 1e-6, rng.standard_normal(C43.shape) + 1j * rng.standard_normal(C43.shape)

    def loss(a):
        u = np.linalg.svd(a)[0][:, 0]
        return np.sum(np.abs(u) ** 2 * np.arange(4.0))
    numeric = (loss(C43 + eps * direction) - loss(C43 - eps * direction)) / (2 * eps)
    # chainrule's pairing Re sum(g t) (JAX's convention, docs/complex.md)
    np.testing.assert_allclose(np.real(np.sum(g.data * direction)), numeric, rtol=1e-6)
