"""`cr.scipy.linalg`: triangular, banded and Cholesky solves, expm, sqrtm, solve_sylvester.

The solves are compositions of `cr.linalg.solve` on the triangle SciPy reads (so their
derivatives are solve's, and the other triangle gets gradient 0). expm, sqrtm and
solve_sylvester are primitives whose rules are written with themselves: the Fréchet
derivative of expm is a block of expm of a block matrix (Al-Mohy and Higham 2009), and
the derivatives of sqrtm and solve_sylvester solve Sylvester equations (complex
matrices too: all three are holomorphic).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg as _sl

from ..ops._define import as_tensor, bind_tensors, coerce, constant
from ..ops.linalg import _check_square, _mT, matmul, solve
from ..ops.linalg_decomp import _leading, _mask
from ..ops.linalg_decomp import cholesky as _cholesky
from ..ops.shape import concatenate, getitem, scatter_add_p, sum_to
from ._define import defop


def _triangle(a, lower, unit_diagonal):
    """The matrix SciPy reads: one triangle of a, with ones on the diagonal if asked."""
    strict = a * _mask(a, -1) if lower else a * _mask(a, 1, upper=True)
    if unit_diagonal:
        return strict + constant(np.eye(a.shape[-1]), dtype=a.dtype)
    return strict + a * constant(np.eye(a.shape[-1]), dtype=a.dtype)


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False):
    """`scipy.linalg.solve_triangular`: a x = b (trans=1 or 'T': a^T x = b)."""
    a, b = coerce((a, b))
    _check_square("solve_triangular", a)
    if trans not in (0, 1, "N", "T"):
        raise ValueError(f"solve_triangular: trans must be 0, 1, 'N' or 'T', got {trans!r} "
                         "(complex 'C' needs complex tensors)")
    t = _triangle(a, lower, unit_diagonal)
    return solve(_mT(t) if trans in (1, "T") else t, b)


def cholesky(a, lower=False):
    """`scipy.linalg.cholesky`: upper U with a = U^T U (lower=True: L with a = L L^T)."""
    c = _cholesky(as_tensor(a))
    return c if lower else _mT(c)


def cho_factor(a, lower=False):
    """`scipy.linalg.cho_factor`: (c, lower) for cho_solve; c's other triangle is 0."""
    return cholesky(a, lower=lower), lower


def cho_solve(c_and_lower, b):
    """`scipy.linalg.cho_solve((c, lower), b)`: solves a x = b given a's Cholesky factor."""
    c, lower = c_and_lower
    c, b = coerce((c, b))
    y = solve_triangular(c, b, trans=0 if lower else 1, lower=lower)
    return solve_triangular(c, y, trans=1 if lower else 0, lower=lower)


def solve_banded(l_and_u, ab, b):
    """`scipy.linalg.solve_banded((l, u), ab, b)`: a x = b for the band matrix a stored in
    ab (ab[u + i - j, j] = a[i, j]); the dense a is gathered from ab differentiably, so the
    entries of ab outside the band get gradient 0, as SciPy ignores them."""
    ab, b = coerce((ab, b))
    lower, upper = (int(k) for k in l_and_u)
    n = ab.shape[-1]
    if ab.ndim != 2 or ab.shape[0] != lower + upper + 1 or b.shape[0] != n:
        raise ValueError(f"solve_banded: ab must have shape (l + u + 1, n) = "
                         f"({lower + upper + 1}, n) and b n rows, got ab {ab.shape}, "
                         f"b {b.shape}")
    rows, cols = np.array([(i, j) for j in range(n)
                           for i in range(max(0, j - upper), min(n, j + lower + 1))]).T
    band = getitem(ab, (upper + rows - cols, cols))
    a = bind_tensors(scatter_add_p, (band,), {"index": (rows, cols), "shape": (n, n)})
    return solve(a, b)


# ----- expm ----------------------------------------------------------------------------

def _expm_frechet(a, e):
    """L(a, e), the derivative of expm at a along e: the top-right block of
    expm([[a, e], [0, a]])."""
    n = a.shape[-1]
    zero = constant(np.zeros(a.shape), dtype=a.dtype)
    top = concatenate([a, e], axis=-1)
    bottom = concatenate([zero, a], axis=-1)
    big = expm(concatenate([top, bottom], axis=-2))
    return getitem(big, (Ellipsis, slice(0, n), slice(n, 2 * n)))


expm_p = defop("expm", _sl.expm, batch=_leading,
               vjp=lambda g, ans, a: _expm_frechet(_mT(a), g),
               jvp=lambda t, ans, a: _expm_frechet(a, t),
               doc="Matrix exponential (scipy.linalg.expm).")


def expm(a):
    """`scipy.linalg.expm`, batched over leading axes."""
    a = as_tensor(a)
    _check_square("expm", a)
    return expm_p(a)


# ----- solve_sylvester, sqrtm ---------------------------------------------------------

def _per_matrix(fn, *arrays):
    """fn applied to each matrix of the broadcast leading axes, results stacked."""
    batch = np.broadcast_shapes(*[x.shape[:-2] for x in arrays])
    arrays = [np.broadcast_to(x, batch + x.shape[-2:]) for x in arrays]
    if not batch:
        return fn(*arrays)
    flat = [x.reshape((-1,) + x.shape[-2:]) for x in arrays]
    out = np.stack([fn(*ms) for ms in zip(*flat)])
    return out.reshape(batch + out.shape[-2:])


def _sylvester_vjp_q(g, ans, a, b, q):
    return sum_to(solve_sylvester(_mT(a), _mT(b), g), q.shape)


def _sylvester_vjp_a(g, ans, a, b, q):
    gq = solve_sylvester(_mT(a), _mT(b), g)
    return sum_to(-matmul(gq, _mT(ans)), a.shape)


def _sylvester_vjp_b(g, ans, a, b, q):
    gq = solve_sylvester(_mT(a), _mT(b), g)
    return sum_to(-matmul(_mT(ans), gq), b.shape)


def _sylvester_jvp(tangents, ans, a, b, q):
    ta, tb, tq = tangents
    rhs = tq
    for part in (None if ta is None else matmul(ta, ans),
                 None if tb is None else matmul(ans, tb)):
        if part is not None:
            rhs = -part if rhs is None else rhs - part
    return solve_sylvester(a, b, rhs)


solve_sylvester_p = defop(
    "solve_sylvester", lambda a, b, q: _per_matrix(_sl.solve_sylvester, a, b, q), nin=3,
    vjp=(_sylvester_vjp_a, _sylvester_vjp_b, _sylvester_vjp_q), jvp_joint=_sylvester_jvp,
    batch=_leading, doc="X with a X + X b = q.")


def solve_sylvester(a, b, q):
    """`scipy.linalg.solve_sylvester`: X with a X + X b = q (batched over leading axes)."""
    a, b, q = coerce((a, b, q))
    _check_square("solve_sylvester", a)
    _check_square("solve_sylvester", b)
    if q.shape[-2:] != (a.shape[-1], b.shape[-1]):
        raise ValueError(f"solve_sylvester: q of shape {q.shape} does not fit a of shape "
                         f"{a.shape} and b of shape {b.shape}")
    return solve_sylvester_p(a, b, q)


def _sqrtm_impl(a):
    """SciPy's roots: real where a real matrix has a real principal root, else complex (a
    batch in which one root is complex is complex throughout)."""
    out = _per_matrix(_sl.sqrtm, a)
    kind = np.complex64 if out.dtype.kind == "c" else a.dtype
    return out.astype(np.result_type(a.dtype, kind), copy=False)


# sqrtm is holomorphic: the rules are the same for real and complex roots (JAX's pairing
# transposes, it does not conjugate).
sqrtm_p = defop("sqrtm", _sqrtm_impl, batch=_leading,
                vjp=lambda g, ans, a: solve_sylvester(_mT(ans), _mT(ans), g),
                jvp=lambda t, ans, a: solve_sylvester(ans, ans, t),
                doc="Principal matrix square root: X with X X = a.")


def sqrtm(a):
    """`scipy.linalg.sqrtm`: the principal square root, whose eigenvalues have nonnegative
    real parts. As SciPy, complex when a real matrix has negative eigenvalues (each root
    then lies on the branch cut: +i sqrt|lambda|) or when a is complex."""
    a = as_tensor(a)
    _check_square("sqrtm", a)
    return sqrtm_p(a)


__all__ = ["cho_factor", "cho_solve", "cholesky", "expm", "solve_banded", "solve_sylvester",
           "solve_triangular", "sqrtm"]
