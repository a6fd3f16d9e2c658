"""Matrix decompositions and the functions built on them: cholesky, eigh, svd, qr, pinv,
slogdet, and the composites eigvalsh, matrix_power, lstsq.

A decomposition has several outputs; its primitive returns them packed side by side in
one array (`_pack`), and the user's function unpacks them with differentiable slices, so
the engine's one-output nodes carry it. Rules follow Giles 2008 ("An extended collection
of matrix derivative results"), Murray 2016 (Cholesky) and Townsend 2016 (SVD), written
in chainrule ops so that every order works. All are batched over leading axes.
"""

from __future__ import annotations

import functools
import math
import threading

import numpy as np

from ..core import is_mapped
from ._define import as_tensor, bind_tensors, coerce, constant, defop, normalize_axis
from .elementwise import absolute, conj, exp, imag, less_equal, not_equal, real, sign, where
from .linalg import _check_square, _mT, einsum, inv, matmul, norm2_p, solve
from .reduce import _kept, _unreduce
from .reduce import max as _max
from .reduce import min as _min
from .reduce import sum as _sum
from .shape import (
    astype,
    broadcast_to,
    concatenate,
    expand_dims,
    getitem,
    materialize,
    moveaxis,
    reshape,
    squeeze,
)

# ----- packing several outputs into one --------------------------------------------------


def _pack_arrays(parts, batch):
    """ndarrays of shapes batch + s_i, flattened and joined along one last axis."""
    return np.concatenate([p.reshape(batch + (-1,)) for p in parts], axis=-1)


def _pack(parts, batch):
    """The tensors of shapes batch + s_i, flattened and joined (a packed tangent)."""
    return concatenate([reshape(p, batch + (-1,)) for p in parts], axis=-1)


def _unpack(packed, shapes):
    """The tensors that `_pack` joined, given their trailing shapes."""
    return [_part(packed, shapes, i) for i in range(len(shapes))]


def _span(shapes, i):
    """Where the i-th of the parts of these trailing shapes lies on the packed axis."""
    start = sum(math.prod(s) for s in shapes[:i])
    return start, start + math.prod(shapes[i])


def _part(packed, shapes, i):
    """The i-th tensor that `_pack` joined, alone (no slices of the others recorded)."""
    return reshape(getitem(packed, (Ellipsis, slice(*_span(shapes, i)))),
                   packed.shape[:-1] + tuple(shapes[i]))


def _only_part(g, shapes, i):
    """True when every packed part of the cotangent g but the i-th is a constant zero:
    outputs no one used (a slice's VJP fills them with zeros), whose terms a rule may skip.
    A boxed cotangent, or one that requires grad, is never skipped: its derivative need
    not vanish where its value does."""
    if g._trace is not None or g.requires_grad:
        return False
    start, stop = _span(shapes, i)
    return not g.data[..., :start].any() and not g.data[..., stop:].any()


def _leading(size, op, vals, batched, params):
    """vmap rule of an op already batched over leading axes: give every input the axis."""
    return bind_tensors(op, tuple(materialize(v, b, size) for v, b in zip(vals, batched)),
                        params)


# ----- complex matrices ----------------------------------------------------------------------
# The rules are the textbook results with conjugate transposes: adjoints under the inner
# product Re tr(X^H Y). chainrule pairs a cotangent c with a tangent t as Re sum(c t), without
# a conjugate (JAX's convention, docs/complex.md), so a VJP conjugates the cotangent on the
# way in and its result on the way out. For real matrices every conj below is skipped.

def _is_complex(x):
    return x.dtype.kind == "c"


def _conj(x):
    return conj(x) if _is_complex(x) else x


def _mH(x):
    """The conjugate transpose of the last two axes."""
    return _conj(_mT(x))


def _real_part(x):
    return real(x) if _is_complex(x) else x


def _textbook_adjoint(rule):
    """A VJP from a rule written as the adjoint under Re tr(X^H Y): conjugate in and out."""
    def vjp(g, ans, *args, **params):
        return _conj(rule(_conj(g), ans, *args, **params))
    vjp.__name__ = rule.__name__
    return vjp


def _imaginary_diagonal(x, scale=None):
    """i Im(diag x) (times `scale`) as a diagonal matrix: the phase terms of complex rules."""
    d = imag(_diagonal(x))
    if scale is not None:
        d = d * scale
    return _diag_embed(astype(d, x.dtype) * 1j)


# ----- small matrix helpers (chainrule ops) ----------------------------------------------

@functools.lru_cache(maxsize=256)
def _pattern(kind: str, m: int, n: int, k: int, dtype):
    """A read-only 0/1 matrix made once per shape (np.tril of ones costs ~8 us): the
    identity ("eye"), or the lower ("tril") or upper ("triu") triangle from diagonal k."""
    ones = np.ones((m, n), dtype)
    out = np.eye(m, n, dtype=dtype) if kind == "eye" else \
        np.triu(ones, k) if kind == "triu" else np.tril(ones, k)
    out.flags.writeable = False
    return out


def _mask(x, k, upper=False):
    """A constant 0/1 triangle of x's matrix shape, in x's dtype."""
    m, n = x.shape[-2:]
    return constant(_pattern("triu" if upper else "tril", m, n, k, x.dtype))


def _tril(x, k=0):
    return x * _mask(x, k)


def _eye_like(x, n):
    return constant(_pattern("eye", n, n, 0, x.dtype))


def _diag_embed(v):
    """(..., n) -> (..., n, n) with v on the diagonal."""
    n = v.shape[-1]
    return reshape(v, v.shape + (1,)) * _eye_like(v, n)


def _diagonal(x):
    return einsum("...ii->...i", x)


def _row(v):
    """(..., n) -> (..., 1, n): scales columns when multiplied."""
    return reshape(v, v.shape[:-1] + (1, v.shape[-1]))


def _col(v):
    """(..., n) -> (..., n, 1): scales rows when multiplied."""
    return reshape(v, v.shape + (1,))


def _sym(x):
    """The Hermitian (for real x, symmetric) part."""
    return 0.5 * (x + _mH(x))


def _safe_reciprocal(d, tiny):
    """1/d where |d| > tiny, else 0: the rules' convention at repeated values and at 0."""
    zero = less_equal(absolute(d), tiny)
    return where(zero, 0.0, 1.0 / where(zero, 1.0, d))


def _tolerance(values):
    """What counts as a repeat among `values` (..., n): a few ulps of the largest magnitude,
    shaped (..., 1, 1) to compare with their differences."""
    scale = _max(absolute(values), axis=-1, keepdims=True)
    return reshape(scale, scale.shape + (1,)) * (8 * np.finfo(values.dtype).eps)


def _inverse_gaps(w, squared=False):
    """F[..., i, j] = 1 / (w_j - w_i) (or w_j^2 - w_i^2), 0 on the diagonal and at repeats."""
    if squared:
        w = w * w
    d = _row(w) - _col(w)
    return _safe_reciprocal(d, _tolerance(w))


def _from_lower(a):
    """The Hermitian matrix NumPy's eigh and cholesky read: a's lower triangle, mirrored
    and conjugated; LAPACK ignores the imaginary part of the diagonal, and so do we."""
    if not _is_complex(a):
        return _tril(a) + _mT(_tril(a, -1))
    low = _tril(a, -1)
    diagonal = astype(real(_diagonal(a)), a.dtype)
    return low + _mH(low) + _diag_embed(diagonal)


# ----- cholesky (Murray 2016) ---------------------------------------------------------------

def _phi(x):
    """The lower triangle with its diagonal halved."""
    return _tril(x) - 0.5 * x * _eye_like(x, x.shape[-1])


@_textbook_adjoint
def _cholesky_vjp(g, ans, a):
    lh = _mH(ans)
    p = _phi(matmul(lh, g))
    s = _mH(solve(lh, _mH(solve(lh, p))))        # L^-H P L^-1
    return _sym(s)


def _cholesky_jvp(t, ans, a):
    z = solve(ans, t)                            # L^-1 dA
    z = _mH(solve(ans, _mH(z)))                  # L^-1 dA L^-H
    return matmul(ans, _phi(z))


cholesky_p = defop("cholesky", np.linalg.cholesky, vjp=_cholesky_vjp, jvp=_cholesky_jvp,
                   batch=_leading, doc="Cholesky factor of a symmetric positive definite matrix.")


def cholesky(a):
    """`np.linalg.cholesky`: lower L with a = L L^H; reads a's lower triangle, as NumPy does."""
    a = as_tensor(a)
    _check_square("cholesky", a)
    return cholesky_p(_from_lower(a))


# ----- eigh ----------------------------------------------------------------------------------

def _eigh_impl(a):
    w, v = np.linalg.eigh(a)
    return _pack_arrays((w, v), a.shape[:-2])


def _eigh_parts(packed, n):
    return _unpack(packed, ((n,), (n, n)))


def _values_only(g, n):
    """The eigenvalues' cotangent when the eigenvectors got none, else None."""
    return _part(g, ((n,), (n, n)), 0) if _only_part(g, ((n,), (n, n)), 0) else None


@_textbook_adjoint
def _eigh_vjp(g, ans, a):
    n = a.shape[-1]
    gw = _values_only(g, n)
    if gw is not None:   # eigvalsh: V diag(gw) V^H (Hermitian already), one product, not three
        v = _part(ans, ((n,), (n, n)), 1)
        return matmul(v * _row(gw), _mH(v))
    w, v = _eigh_parts(ans, n)
    gw, gv = _eigh_parts(g, n)
    inner = _diag_embed(gw) + _inverse_gaps(_real_part(w)) * matmul(_mH(v), gv)
    return _sym(matmul(v, matmul(inner, _mH(v))))


def _eigh_jvp(t, ans, a):
    n = a.shape[-1]
    w, v = _eigh_parts(ans, n)
    m = matmul(_mH(v), matmul(t, v))
    return _pack((_diagonal(m), matmul(v, _inverse_gaps(_real_part(w)) * m)), a.shape[:-2])


eigh_p = defop("eigh", _eigh_impl, vjp=_eigh_vjp, jvp=_eigh_jvp, batch=_leading,
               doc="Eigenvalues and eigenvectors of a symmetric matrix, packed.")


def eigh(a, UPLO="L"):
    """`np.linalg.eigh`: (w ascending, v with eigenvectors in columns) of a symmetric or
    Hermitian matrix.

    At repeated eigenvalues the eigenvectors are not unique: the terms 1/(w_j - w_i) of
    their derivative are taken as 0 there (right for functions of the eigenspace). A
    complex eigenvector's phase is LAPACK's choice: only functions that ignore it (|v|,
    v v^H) have a derivative, which takes v^H dv with a zero diagonal.
    """
    a = as_tensor(a)
    _check_square("eigh", a)
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    sym = _from_lower(a) if UPLO == "L" else _from_lower(_mH(a))
    w, v = _eigh_parts(eigh_p(sym), a.shape[-1])
    return _real_part(w), v


def eigvalsh(a, UPLO="L"):
    """`np.linalg.eigvalsh`: the eigenvalues of a symmetric matrix, ascending."""
    return eigh(a, UPLO)[0]


# ----- eig (general matrices: complex results) ------------------------------------------

def _eig_impl(a):
    w, v = np.linalg.eig(a)
    dtype = np.result_type(a.dtype, np.complex64)
    return _pack_arrays((w.astype(dtype), v.astype(dtype)), a.shape[:-2])


def _eig_vjp(g, ans, a):
    n = a.shape[-1]
    gw = _values_only(g, n)
    if gw is not None:   # eigvals: V^-T diag(gw) V^T, one product instead of three
        v = _part(ans, ((n,), (n, n)), 1)
        return matmul(_mT(inv(v)), _col(gw) * _mT(v))
    w, v = _eigh_parts(ans, n)
    gw, gv = _eigh_parts(g, n)
    # unit-norm columns: the part of gv along Re(v^H dv) is removed first
    s = real(_sum(gv * v, axis=-2))
    gv = gv - conj(v) * _row(s)
    inner = _diag_embed(gw) + _inverse_gaps(w) * matmul(_mT(v), gv)
    return matmul(_mT(inv(v)), matmul(inner, _mT(v)))


def _eig_jvp(t, ans, a):
    n = a.shape[-1]
    w, v = _eigh_parts(ans, n)
    if t.dtype.kind != "c":
        t = astype(t, w.dtype)
    m = matmul(inv(v), matmul(t, v))
    dv = matmul(v, _inverse_gaps(w) * m)
    dv = dv - v * _row(real(_sum(conj(v) * dv, axis=-2)))
    return _pack((_diagonal(m), dv), a.shape[:-2])


eig_p = defop("eig", _eig_impl, vjp=_eig_vjp, jvp=_eig_jvp, batch=_leading,
              doc="Eigenvalues and unit eigenvectors of a general matrix, complex, packed.")


def eig(a):
    """`np.linalg.eig`: (w, v), always complex (NumPy drops a zero imaginary part; we keep
    one dtype). Each column of v has unit norm and a phase LAPACK chooses, so only functions
    that ignore the phase (|v|, v v^H) have a derivative; at repeated eigenvalues the terms
    1/(w_j - w_i) are taken as 0."""
    a = as_tensor(a)
    _check_square("eig", a)
    w, v = _eigh_parts(eig_p(a), a.shape[-1])
    return w, v


def eigvals(a):
    """`np.linalg.eigvals`, complex."""
    return eig(a)[0]


# ----- svd (Townsend 2016 for the reverse rule, its transpose for the forward) ---------------

def _svd_impl(a, full_matrices):
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return _pack_arrays((u, s, vh), a.shape[:-2])


def _svd_shapes(a, full_matrices):
    m, n = a.shape[-2:]
    k = min(m, n)
    return ((m, m if full_matrices else k), (k,), (n if full_matrices else k, n))


def _svd_reduced(packed, a, full_matrices):
    """U, s, V of the reduced decomposition (the extra columns of a full one are dropped)."""
    shapes = _svd_shapes(a, full_matrices)
    u, v = _svd_vectors(packed, shapes, full_matrices)
    return u, _real_part(_part(packed, shapes, 1)), v


def _svd_vectors(packed, shapes, full_matrices):
    """U and V of the reduced decomposition alone."""
    u, vh = _part(packed, shapes, 0), _part(packed, shapes, 2)
    k = shapes[1][0]
    if full_matrices:
        u, vh = getitem(u, (Ellipsis, slice(0, k))), getitem(vh, (Ellipsis, slice(0, k),
                                                                  slice(None)))
    return u, _mH(vh)


@_textbook_adjoint
def _svd_vjp(g, ans, a, full_matrices):
    m, n = a.shape[-2:]
    shapes = _svd_shapes(a, full_matrices)
    if _only_part(g, shapes, 1):   # svdvals: U diag(gs) V^H, one product instead of five
        u, v = _svd_vectors(ans, shapes, full_matrices)
        return matmul(u * _row(_real_part(_part(g, shapes, 1))), _mH(v))
    u, s, v = _svd_reduced(ans, a, full_matrices)
    gu, gs, gv = _svd_reduced(g, a, full_matrices)
    f = _inverse_gaps(s, squared=True)
    s_inv = _safe_reciprocal(s, 0.0)
    uh_gu, vh_gv = matmul(_mH(u), gu), matmul(_mH(v), gv)
    j = f * (uh_gu - _mH(uh_gu))
    kk = f * (vh_gv - _mH(vh_gv))
    inner = j * _row(s) + _diag_embed(gs) + _col(s) * kk
    if _is_complex(u):   # the phase of U's columns (the gauge the JVP takes)
        inner = inner + _imaginary_diagonal(uh_gu, s_inv)
    out = matmul(u, matmul(inner, _mH(v)))
    k = s.shape[-1]
    if m > k:       # the part of U's cotangent outside U's span
        out = out + matmul((gu - matmul(u, uh_gu)) * _row(s_inv), _mH(v))
    if n > k:
        out = out + matmul(u * _row(s_inv), _mH(gv - matmul(v, vh_gv)))
    return out


def _svd_jvp(t, ans, a, full_matrices):
    m, n = a.shape[-2:]
    u, s, v = _svd_reduced(ans, a, full_matrices)
    k = s.shape[-1]
    ds = matmul(_mH(u), matmul(t, v))
    f = _inverse_gaps(s, squared=True)
    s_inv = _safe_reciprocal(s, 0.0)
    ds_s = ds * _row(s)
    s_ds = _col(s) * ds
    du = matmul(u, f * (ds_s + _mH(ds_s)))
    dv = matmul(v, f * (s_ds + _mH(s_ds)))
    diagonal = _diagonal(ds)
    if _is_complex(ds):   # the gauge: the phase of U's columns moves, V^H dV has a 0 diagonal
        du = du + matmul(u, _imaginary_diagonal(ds, s_inv))
        diagonal = astype(real(diagonal), ds.dtype)
    if m > k:
        tv = matmul(t, v)
        du = du + (tv - matmul(u, matmul(_mH(u), tv))) * _row(s_inv)
    if n > k:
        tu = matmul(_mH(t), u)
        dv = dv + (tu - matmul(v, matmul(_mH(v), tu))) * _row(s_inv)
    dvh = _mH(dv)
    batch = a.shape[:-2]
    if full_matrices:   # the completing columns are held constant (see docs/linalg.md)
        if m > k:
            du = concatenate([du, constant(np.zeros(batch + (m, m - k)), t.dtype)], axis=-1)
        if n > k:
            dvh = concatenate([dvh, constant(np.zeros(batch + (n - k, n)), t.dtype)], axis=-2)
    return _pack((du, diagonal, dvh), batch)


svd_p = defop("svd", _svd_impl, vjp=_svd_vjp, jvp=_svd_jvp, batch=_leading,
              doc="Singular value decomposition (U, s, Vh), packed.")


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """`np.linalg.svd`: (U, s, Vh), or s alone with compute_uv=False.

    At repeated singular values the terms 1/(s_j^2 - s_i^2) are taken as 0, at zero ones
    1/s is taken as 0; with full_matrices the columns completing U and Vh are constants.
    Complex singular vectors carry a phase LAPACK chooses: only functions that ignore it
    (s, |U|, u_i v_i^H) have a derivative. hermitian=True decomposes the Hermitian matrix
    of a's lower triangle, as NumPy does (its vectors' signs may differ from NumPy's).
    """
    a = as_tensor(a)
    if a.ndim < 2:
        raise ValueError(f"linalg.svd: needs matrices (..., m, n), got shape {a.shape}")
    if hermitian:   # NumPy reads only the lower triangle then (through eigh)
        _check_square("svd", a)
        a = _from_lower(a)
    full = bool(full_matrices) and compute_uv
    u, s, vh = _unpack(bind_tensors(svd_p, (a,), {"full_matrices": full}),
                       _svd_shapes(a, full))
    s = _real_part(s)
    return (u, s, vh) if compute_uv else s


def svdvals(a):
    """The singular values, descending (`np.linalg.svdvals`)."""
    return svd(a, compute_uv=False)


# ----- qr --------------------------------------------------------------------------------

def _qr_impl(a, complete):
    q, r = np.linalg.qr(a, mode="complete" if complete else "reduced")
    return _pack_arrays((q, r), a.shape[:-2])


def _qr_shapes(a, complete):
    m, n = a.shape[-2:]
    return ((m, m), (m, n)) if complete else ((m, n), (n, n))


def _qr_reduced(packed, a, complete):
    q, r = _unpack(packed, _qr_shapes(a, complete))
    n = a.shape[-1]
    if complete:
        q, r = getitem(q, (Ellipsis, slice(0, n))), getitem(r, (Ellipsis, slice(0, n),
                                                                slice(None)))
    return q, r


@_textbook_adjoint
def _qr_vjp(g, ans, a, complete):
    q, r = _qr_reduced(ans, a, complete)
    gq, gr = _qr_reduced(g, a, complete)
    m = matmul(r, _mH(gr)) - matmul(_mH(gq), q)
    low = _tril(m, -1)        # copied to the upper triangle; the diagonal's real part
    hermitian = low + _mH(low) + _diag_embed(_real_part(_diagonal(m)))
    return _mH(solve(r, _mH(gq + matmul(q, hermitian))))


def _qr_jvp(t, ans, a, complete):
    q, r = _qr_reduced(ans, a, complete)
    dx_rinv = _mH(solve(_mH(r), _mH(t)))        # dA R^-1
    qt = matmul(_mH(q), dx_rinv)
    low = _tril(qt, -1)
    skew = low - _mH(low)
    if _is_complex(qt):   # keeps R's diagonal real, as LAPACK's is
        skew = skew + _imaginary_diagonal(qt)
    dq = matmul(q, skew - qt) + dx_rinv
    dr = matmul(qt - skew, r)
    m, n = a.shape[-2:]
    batch = a.shape[:-2]
    if complete and m > n:
        dq = concatenate([dq, constant(np.zeros(batch + (m, m - n)), t.dtype)], axis=-1)
        dr = concatenate([dr, constant(np.zeros(batch + (m - n, n)), t.dtype)], axis=-2)
    return _pack((dq, dr), batch)


qr_p = defop("qr", _qr_impl, vjp=_qr_vjp, jvp=_qr_jvp, batch=_leading,
             doc="QR of a tall (m >= n) matrix, packed; R needs a nonzero diagonal.")


def qr(a, mode="reduced"):
    """`np.linalg.qr` (modes 'reduced', 'complete', 'r'); wide matrices go through the
    square part. With mode='complete' the columns completing Q are constants."""
    a = as_tensor(a)
    if a.ndim < 2:
        raise ValueError(f"linalg.qr: needs matrices (..., m, n), got shape {a.shape}")
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    m, n = a.shape[-2:]
    if m < n:   # A = [X | Y] = Q [R_X | Q^T Y]
        x = getitem(a, (Ellipsis, slice(0, m)))
        q, rx = qr(x)
        r = concatenate([rx, matmul(_mH(q), getitem(a, (Ellipsis, slice(m, n))))], axis=-1)
    else:
        complete = mode == "complete"
        q, r = _unpack(bind_tensors(qr_p, (a,), {"complete": complete}),
                       _qr_shapes(a, complete))
    return r if mode == "r" else (q, r)


# ----- pinv (Golub and Pereyra 1973), slogdet ------------------------------------------------

def _pinv_parts(ans, a):
    eye_m = _eye_like(a, a.shape[-2])
    eye_n = _eye_like(a, a.shape[-1])
    return eye_m - matmul(a, ans), eye_n - matmul(ans, a)   # I - A A+, I - A+ A


@_textbook_adjoint
def _pinv_vjp(g, ans, a, rcond):
    p, pt = ans, _mH(ans)
    left, right = _pinv_parts(ans, a)
    gt = _mH(g)
    return (-matmul(pt, matmul(g, pt)) + matmul(left, matmul(gt, matmul(p, pt)))
            + matmul(pt, matmul(p, matmul(gt, right))))


def _pinv_jvp(t, ans, a, rcond):
    p, pt = ans, _mH(ans)
    left, right = _pinv_parts(ans, a)
    tt = _mH(t)
    return (-matmul(p, matmul(t, p)) + matmul(p, matmul(pt, matmul(tt, left)))
            + matmul(right, matmul(tt, matmul(pt, p))))


pinv_p = defop("pinv", lambda a, rcond: np.linalg.pinv(a, rcond=rcond),
               vjp=_pinv_vjp, jvp=_pinv_jvp, batch=_leading,
               doc="Moore-Penrose pseudo-inverse; derivative of constant rank.")


def pinv(a, rcond=None, hermitian=False):
    """`np.linalg.pinv`; its derivative holds where the rank does not change."""
    a = as_tensor(a)
    if a.ndim < 2:
        raise ValueError(f"linalg.pinv: needs matrices (..., m, n), got shape {a.shape}")
    rcond = 1e-15 if rcond is None else float(rcond)
    return bind_tensors(pinv_p, (a,), {"rcond": rcond})


# slogdet() asks for both from one LU factorization: while it runs, logabsdet's impl
# leaves the sign it computed for sign_det's impl on the same array.
_slogdet_pair = threading.local()


def _logdet_impl(x):
    sign, logabs = np.linalg.slogdet(x)
    if getattr(_slogdet_pair, "on", False):
        _slogdet_pair.sign = (x, sign)
    return logabs if x.dtype.kind != "c" else logabs + 1j * np.angle(sign)


def _sign_impl(x):
    kept = getattr(_slogdet_pair, "sign", None)
    return kept[1] if kept is not None and kept[0] is x else np.linalg.slogdet(x)[0]


# Holomorphic for complex x (the complex log det, whose real part is log |det x|), so the
# one rule tr(x^-1 dx) serves both.
logabsdet_p = defop(
    "logabsdet", _logdet_impl, batch=_leading,
    vjp=lambda g, ans, x: reshape(g, g.shape + (1, 1)) * _mT(inv(x)),
    jvp=lambda t, ans, x: einsum("...ij,...ji->...", inv(x), t),
    doc="log |det x| without overflow; for complex x, log |det x| + i arg det x.")
sign_det_p = defop("sign_det", _sign_impl, differentiable=False,
                   batch=_leading, doc="The sign of det x: piecewise constant.")


def slogdet(a):
    """`np.linalg.slogdet`: (sign, log |det a|); a real sign is piecewise constant, a
    complex one, exp(i arg det a), is differentiable."""
    a = as_tensor(a)
    _check_square("slogdet", a)
    if _is_complex(a):
        logdet = logabsdet_p(a)
        return exp(astype(imag(logdet), a.dtype) * 1j), real(logdet)
    _slogdet_pair.on = True
    try:
        logabs = logabsdet_p(a)
        return sign_det_p(a), logabs
    finally:
        _slogdet_pair.on, _slogdet_pair.sign = False, None


# ----- composites ----------------------------------------------------------------------

def matrix_power(a, n):
    """`np.linalg.matrix_power` by repeated squaring; negative n inverts first."""
    a = as_tensor(a)
    _check_square("matrix_power", a)
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"linalg.matrix_power: n must be an integer, got {n!r}")
    if n == 0:
        return broadcast_to(_eye_like(a, a.shape[-1]), a.shape)
    if n < 0:
        a, n = inv(a), -n
    result, base = None, a
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


def _rank_impl(a, tol, rtol, hermitian):
    """NumPy 2's matrix_rank (rtol is not in NumPy 1.26): singular values above tol."""
    s = np.linalg.svd(a, compute_uv=False, hermitian=hermitian)
    if tol is None:
        rtol = max(a.shape[-2:]) * np.finfo(s.dtype).eps if rtol is None else rtol
        tol = s.max(axis=-1, keepdims=True, initial=0.0) * rtol
    return np.count_nonzero(s > tol, axis=-1)


matrix_rank_p = defop("matrix_rank", _rank_impl, differentiable=False, batch=_leading,
                      doc="The rank of matrices (integers): piecewise constant.")


def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    """`np.linalg.matrix_rank` of matrices (..., m, n): integers, with no derivative."""
    a = as_tensor(A)
    if a.ndim < 2:
        raise ValueError(f"linalg.matrix_rank: needs matrices (..., m, n), got shape {a.shape}")
    tol = None if tol is None else float(tol)
    rtol = None if rtol is None else float(rtol)
    return bind_tensors(matrix_rank_p, (a,), {"tol": tol, "rtol": rtol,
                                               "hermitian": bool(hermitian)})


def lstsq(a, b, rcond=None):
    """`np.linalg.lstsq`: (x, residuals, rank, s); x, residuals and s are differentiable.

    x = pinv(a) b, whose derivative holds where the rank does not change. Under vmap over
    `a` the rank is an integer tensor and the residuals are |b - a x|^2 whenever m > n
    (NumPy's empty array for a rank-deficient example has no batched shape).
    """
    a, b = coerce((a, b))
    if a.ndim != 2 or b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ValueError(f"linalg.lstsq: needs a of shape (m, n) and b of shape (m,) or "
                         f"(m, k), got {a.shape} and {b.shape}")
    m, n = a.shape
    rcond = np.finfo(a.dtype).eps * max(m, n) if rcond is None else float(rcond)
    s = svdvals(a)
    if is_mapped(a):   # one rank per example: decided without reading values
        rank = bind_tensors(matrix_rank_p, (a,), {"tol": None, "rtol": rcond,
                                                   "hermitian": False})
        with_residuals = m > n
    else:
        rank = int(np.sum(s.data > rcond * s.data.max())) if s.size else 0
        with_residuals = rank == n and m > n
    x = matmul(bind_tensors(pinv_p, (a,), {"rcond": rcond}), b)
    if with_residuals:
        r = b - matmul(a, x)
        residuals = _sum(_real_part(r * _conj(r)), axis=0)
        if b.ndim == 1:
            residuals = reshape(residuals, (1,))
    else:
        residuals = constant(np.zeros((0,)), dtype=s.dtype)
    return x, residuals, rank, s


# ----- norm, every ord ------------------------------------------------------------------

def _pnorm_ratio_power(x, ans, axes, keepdims, p):
    """sign(x) (|x| / ||x||_p)^(p-1), the p-norm's derivative; 0 where x or the norm is 0."""
    ans = _kept(ans, x, axes, keepdims)
    ax = absolute(x)
    off = less_equal(ax, 0.0) | less_equal(ans, 0.0)
    ratio = where(off, 1.0, ax / where(off, 1.0, ans))
    return where(off, 0.0, sign(x) * ratio ** (p - 1.0))


def _pnorm_split(x, ans, axes, keepdims, p):
    """The derivative as (x |x|^(p-2), ||x||^(1-p) on the reduced shape): one pass over x
    (with |x| itself for p = 3) and a scale on the small norm, as a hand-written rule does.
    None where that form is not exact: a boxed value, a norm that is 0 or not finite, or a
    power of |x| that is fractional (its derivative at an entry 0 is infinite) and x has a 0."""
    if x._trace is not None or ans._trace is not None or p <= 1.0:
        return None
    norm = ans.data
    if not (np.isfinite(norm).all() and (norm > 0).all()):
        return None
    k = p - 2.0
    if not (k >= 0 and k == int(k)) and not x.data.all():
        return None
    slope = x if k == 0 else x * (absolute(x) if k == 1 else absolute(x) ** k)
    return slope, _kept(ans, x, axes, keepdims) ** (1.0 - p)


def _pnorm_vjp(g, ans, x, axes, keepdims, p):
    split = _pnorm_split(x, ans, axes, keepdims, p)
    if split is None:
        return _unreduce(g, x, axes, keepdims) * _pnorm_ratio_power(x, ans, axes, keepdims, p)
    slope, scale = split
    return broadcast_to(_kept(g, x, axes, keepdims) * scale, x.shape) * slope


def _pnorm_jvp(t, ans, x, axes, keepdims, p):
    split = _pnorm_split(x, ans, axes, keepdims, p)
    if split is None:
        return _sum(t * _pnorm_ratio_power(x, ans, axes, keepdims, p), axes, keepdims)
    slope, scale = split
    scale = scale if keepdims else reshape(scale, ans.shape)
    return _sum(t * slope, axes, keepdims) * scale


pnorm_p = defop(
    "pnorm", lambda x, axes, keepdims, p: np.sum(np.abs(x) ** p, axis=axes,
                                                 keepdims=keepdims) ** (1.0 / p),
    vjp=_pnorm_vjp, jvp=_pnorm_jvp,
    batch="axes", doc="Vector p-norm (sum |x|^p)^(1/p); gradient 0 at 0.")


def _vector_norm(x, ord, axes, keepdims):
    if ord is None or ord == 2:
        return bind_tensors(norm2_p, (x,), {"axes": axes, "keepdims": keepdims})
    if ord == np.inf:
        return _max(absolute(x), axes, keepdims)
    if ord == -np.inf:
        return _min(absolute(x), axes, keepdims)
    if ord == 0:   # the count of nonzero entries: piecewise constant
        return _sum(astype(not_equal(x, 0.0), x.dtype), axes, keepdims)
    if ord == 1:
        return _sum(absolute(x), axes, keepdims)
    if isinstance(ord, str):
        raise ValueError(f"linalg.norm: ord={ord!r} needs a matrix (two axes)")
    return bind_tensors(pnorm_p, (x,), {"axes": axes, "keepdims": keepdims, "p": float(ord)})


def _matrix_norm(x, ord, axes, keepdims):
    row, col = axes
    if ord in (None, "fro"):
        return bind_tensors(norm2_p, (x,), {"axes": tuple(sorted(axes)), "keepdims": keepdims})
    if ord in (1, -1, np.inf, -np.inf):
        summed, pick = (row, col) if ord in (1, -1) else (col, row)
        sums = _sum(absolute(x), summed, keepdims=True)
        out = (_max if ord > 0 else _min)(sums, pick, keepdims=True)
    elif ord in (2, -2, "nuc"):
        s = svdvals(moveaxis(x, (row, col), (-2, -1)))
        out = _sum(s, -1) if ord == "nuc" else (_max if ord == 2 else _min)(s, -1)
        out = expand_dims(expand_dims(out, row if row < col else row - 1), col)
        out = reshape(out, tuple(1 if i in axes else n for i, n in enumerate(x.shape)))
    else:
        raise ValueError(f"linalg.norm: invalid ord {ord!r} for a matrix; use None, 'fro', "
                         "'nuc', 1, -1, 2, -2, inf or -inf")
    return out if keepdims else squeeze(out, tuple(sorted(axes)))


def norm(x, ord=None, axis=None, keepdims=False):
    """`np.linalg.norm`: every vector and matrix `ord`; the gradient of a norm at 0 is 0."""
    x = as_tensor(x)
    keepdims = bool(keepdims)
    spectral = ord in (2, -2, "nuc") and (axis is None and x.ndim == 2 or axis is not None
                                          and np.ndim(axis) and len(axis) == 2)
    if _is_complex(x) and not spectral:   # these are norms of |x|; the spectral ones use svd
        x = absolute(x)
    if axis is None:
        if ord is not None and x.ndim not in (1, 2):
            raise ValueError(f"linalg.norm: ord={ord!r} over a tensor of shape {x.shape}; "
                             "give axis= (one axis for a vector norm, two for a matrix norm)")
        if ord is None or x.ndim == 1:
            return _vector_norm(x, ord, normalize_axis(None, x.ndim, "linalg.norm"),
                                keepdims)
        return _matrix_norm(x, ord, (0, 1), keepdims)
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    axes = tuple(int(a) for a in axis)
    normalize_axis(axes, x.ndim, "linalg.norm")   # checks the range and repeats
    axes = tuple(a % x.ndim for a in axes)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes, keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    if ord is None:
        return _vector_norm(x, None, tuple(sorted(axes)), keepdims)
    raise ValueError(f"linalg.norm: axis={axis} names {len(axes)} axes; ord={ord!r} needs "
                     "one (vector) or two (matrix)")


__all__ = ["cholesky", "eig", "eigh", "eigvals", "eigvalsh", "lstsq", "matrix_power",
           "matrix_rank", "norm", "pinv", "qr", "slogdet", "svd", "svdvals"]
