"""`cr.linalg`: NumPy's linear algebra, differentiable (NumPy 2 semantics, batched)."""

from .ops.linalg import det, inv, solve
from .ops.linalg_decomp import (
    cholesky,
    eig,
    eigh,
    eigvals,
    eigvalsh,
    lstsq,
    matrix_power,
    matrix_rank,
    norm,
    pinv,
    qr,
    slogdet,
    svd,
    svdvals,
)

__all__ = ["cholesky", "det", "eig", "eigh", "eigvals", "eigvalsh", "inv", "lstsq",
           "matrix_power", "matrix_rank", "norm", "pinv", "qr", "slogdet", "solve", "svd",
           "svdvals"]
