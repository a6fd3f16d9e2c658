"""Complex inputs, checked by finite differences in the complex plane (complex128): the
complex primitives, and complex cases of the elementwise ops, products and reductions."""

import numpy as np

import chainrule as cr

from . import OpCase


def cnormal(*shapes):
    """Complex arguments with independent standard normal real and imaginary parts."""
    return lambda rng: tuple(rng.standard_normal(s) + 1j * rng.standard_normal(s)
                             for s in shapes)


def away_from_zero(*shapes):
    def make(rng):
        return tuple((rng.uniform(0.5, 2.0, s) * np.exp(1j * rng.uniform(-3, 3, s)))
                     for s in shapes)
    return make


CASES = [
    OpCase("real", cr.real, cnormal((3,))),
    OpCase("real", lambda x: cr.real(x * (1 + 2j)), lambda rng: (rng.standard_normal(3),),
           "real-input"),
    OpCase("imag", cr.imag, cnormal((3,))),
    OpCase("conj", lambda z: cr.conj(z) * z, cnormal((3,))),
    OpCase("angle", cr.angle, away_from_zero((4,))),
    OpCase("abs", cr.abs, away_from_zero((4,)), "complex"),
    OpCase("multiply", lambda a, b: a * b, cnormal((3,), (2, 3)), "complex"),
    OpCase("divide", lambda a, b: a / b, lambda rng: (cnormal((3,))(rng)[0],
                                                      away_from_zero((3,))(rng)[0]), "complex"),
    OpCase("power", lambda z: z ** 3, cnormal((3,)), "complex"),
    OpCase("exp", cr.exp, cnormal((3,)), "complex"),
    OpCase("log", cr.log, away_from_zero((3,)), "complex"),
    OpCase("sqrt", cr.sqrt, away_from_zero((3,)), "complex"),
    OpCase("sin", cr.sin, cnormal((3,)), "complex"),
    OpCase("tanh", cr.tanh, cnormal((3,)), "complex"),
    OpCase("erf", cr.erf, cnormal((3,)), "complex"),
    OpCase("matmul", lambda a, b: a @ b, cnormal((2, 3), (3, 2)), "complex"),
    OpCase("einsum", lambda a, b: cr.einsum("ij,j->i", a, b), cnormal((2, 3), (3,)), "complex"),
    OpCase("sum", lambda z: cr.sum(z * z, axis=0), cnormal((2, 3)), "complex"),
    OpCase("prod", cr.prod, cnormal((3,)), "complex"),
    OpCase("sum", lambda z: cr.var(z, axis=1), cnormal((2, 3)), "complex-var"),
    OpCase("cast", lambda x: cr.astype(x, np.complex128) * (1 - 1j),
           lambda rng: (rng.standard_normal(3),), "to-complex"),
]
