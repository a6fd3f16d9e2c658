"""`cr.linalg`: NumPy's linear algebra, differentiable (NumPy 2 semantics, batched)."""

from .ops.linalg import det, inv, solve
from .ops.linalg_decomp import (
    cholesky,
    eig,
    eigvals,
    eigh,
    eigvalsh,
    lstsq,
    matrix_power,
    norm,
    pinv,
    qr,
    slogdet,
    svd,
    svdvals,
)

__all__ = ["cholesky", "det", "eig", "eigvals", "eigh", "eigvalsh", "inv", "lstsq", "matrix_power", "norm",
           "pinv", "qr", "slogdet", "solve", "svd", "svdvals"]
