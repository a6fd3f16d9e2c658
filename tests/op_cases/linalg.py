"""Products and cr.linalg."""

import numpy as np

import chainrule as cr

from . import OpCase, normal


def well_conditioned(*batch, n=3):
    return lambda rng: (rng.standard_normal(batch + (n, n)) + 3 * np.eye(n),)


CASES = [
    OpCase("matmul", lambda a, b: a @ b, normal((3, 4), (4, 2)), "2d"),
    OpCase("matmul", lambda a, b: a @ b, normal((4,), (4,)), "1d-1d"),
    OpCase("matmul", lambda a, b: a @ b, normal((3, 4), (4,)), "2d-1d"),
    OpCase("matmul", lambda a, b: a @ b, normal((4,), (2, 4, 3)), "1d-batched"),
    OpCase("matmul", lambda a, b: a @ b, normal((2, 3, 4), (4, 2)), "batched-2d"),
    OpCase("matmul", lambda a, b: a @ b, normal((2, 1, 3, 4), (3, 4, 2)), "batch-broadcast"),
    OpCase("matmul", lambda a, b: a @ b, normal((2, 3, 4), (4,)), "batched-1d"),
    OpCase("einsum", lambda a, b: cr.einsum("ij,jk->ik", a, b), normal((2, 3), (3, 2))),
    OpCase("einsum", lambda a: cr.einsum("ii->i", a), normal((3, 3)), "diagonal"),
    OpCase("einsum", lambda a: cr.einsum("ii", a), normal((3, 3)), "trace"),
    OpCase("einsum", lambda a, b: cr.einsum("bij,bj->bi", a, b), normal((2, 3, 4), (2, 4)),
           "batched"),
    OpCase("einsum", lambda a, b, c: cr.einsum("i,ij,j->", a, b, c),
           normal((2,), (2, 3), (3,)), "three"),
    OpCase("einsum", lambda a: cr.einsum("...ij->...j", a), normal((2, 3, 2)), "ellipsis"),
    OpCase("einsum", lambda a, b: cr.dot(a, b), normal((2, 3), (3, 4)), "dot"),
    OpCase("einsum", lambda a, b: cr.dot(a, b), normal((2, 3), (3,)), "dot-vector"),
    OpCase("einsum", lambda a, b: cr.outer(a, b), normal((3,), (2,)), "outer"),
    OpCase("einsum", lambda a, b: cr.tensordot(a, b, axes=([1, 0], [0, 2])),
           normal((3, 2, 4), (2, 5, 3)), "tensordot"),
    OpCase("inv", cr.linalg.inv, well_conditioned()),
    OpCase("inv", cr.linalg.inv, well_conditioned(2), "batched"),
    OpCase("det", cr.linalg.det, well_conditioned()),
    OpCase("det", cr.linalg.det, well_conditioned(2), "batched"),
    OpCase("solve", cr.linalg.solve, lambda rng: (well_conditioned()(rng)[0],
                                                  rng.standard_normal(3)), "vector"),
    OpCase("solve", cr.linalg.solve, lambda rng: (well_conditioned()(rng)[0],
                                                  rng.standard_normal((3, 2))), "matrix"),
    OpCase("solve", cr.linalg.solve, lambda rng: (well_conditioned(2)(rng)[0],
                                                  rng.standard_normal((2, 3, 1))), "batched"),
    OpCase("norm", cr.linalg.norm, normal((4,))),
    OpCase("norm", lambda x: cr.linalg.norm(x, axis=1), normal((2, 3)), "axis"),
    OpCase("norm", lambda x: cr.linalg.norm(x, ord=3), normal((3,)), "p3"),
]
