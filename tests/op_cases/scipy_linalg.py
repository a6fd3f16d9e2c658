"""cr.scipy.linalg's primitives, and its solves (compositions of solve)."""

import numpy as np

from chainrule.scipy import linalg as sl

from . import OpCase, normal
from .linalg_decomp import spd


def _scaled(*shape, scale=0.5):
    return lambda rng: (scale * rng.standard_normal(shape),)


def _triangular_system(rng):
    return rng.standard_normal((3, 3)) + 3 * np.eye(3), rng.standard_normal((3, 2))


def _sylvester(rng):
    a = rng.standard_normal((3, 3)) + 4 * np.eye(3)
    return a, rng.standard_normal((2, 2)) + 4 * np.eye(2), rng.standard_normal((3, 2))


def _negative_eigenvalue(rng):
    """A real matrix with eigenvalues -1, 2, 3: its principal root is complex."""
    q = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    return (q @ np.diag([-1.0, 2.0, 3.0]) @ np.linalg.inv(q),)


def _complex_matrix(rng):
    return (rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)) + 3 * np.eye(3),)


CASES = [
    OpCase("expm", sl.expm, _scaled(3, 3)),
    OpCase("expm", sl.expm, _scaled(2, 2, 2), "batched"),
    OpCase("sqrtm", sl.sqrtm, spd()),
    OpCase("sqrtm", sl.sqrtm, spd(2), "batched"),
    OpCase("sqrtm", sl.sqrtm, _negative_eigenvalue, "complex-root"),
    OpCase("sqrtm", sl.sqrtm, _complex_matrix, "complex"),
    OpCase("solve_sylvester", sl.solve_sylvester, lambda rng: tuple(
        x + 1j * rng.standard_normal(x.shape) for x in _sylvester(rng)), "complex"),
    OpCase("solve_sylvester", sl.solve_sylvester, _sylvester),
    OpCase("solve", lambda a, b: sl.solve_triangular(a, b, lower=True), _triangular_system,
           "triangular-lower"),
    OpCase("solve", lambda a, b: sl.solve_triangular(a, b, trans="T", unit_diagonal=True),
           _triangular_system, "triangular-upper-T-unit"),
    OpCase("solve", lambda a, b: sl.cho_solve(sl.cho_factor(a), b),
           lambda rng: (spd()(rng)[0], rng.standard_normal(3)), "cho_solve"),
    OpCase("solve", lambda c, b: sl.cho_solve((c, True), b), _triangular_system,
           "cho_solve-lower"),
    OpCase("cholesky", lambda a: sl.cholesky(a), spd(), "scipy-upper"),
    OpCase("solve", lambda ab, b: sl.solve_banded((2, 1), ab, b), lambda rng: (
        rng.standard_normal((4, 5)) + 4 * (np.arange(4) == 1)[:, None],
        rng.standard_normal((5, 2))), "banded"),
    OpCase("expm", lambda a: sl.expm(a * 0.0 + a), normal((1, 1)), "1x1"),
]
