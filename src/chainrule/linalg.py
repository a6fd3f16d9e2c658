"""`cr.linalg`: norm, inv, det, solve (NumPy 2 semantics), all differentiable."""

from .ops.linalg import det, inv, norm, solve

__all__ = ["det", "inv", "norm", "solve"]
