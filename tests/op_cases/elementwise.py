"""Elementwise primitives: arithmetic, powers, exp/log, trig, masks."""

import numpy as np

import chainrule as cr
from chainrule.ops.elementwise import relu_grad, round_, sigmoid_grad, tanh_grad, win_share

from . import OpCase, normal, positive


def unit(*shapes):
    """Arguments inside (-0.9, 0.9), the domain of arcsin/arccos."""
    return lambda rng: tuple(rng.uniform(-0.9, 0.9, s) for s in shapes)


def _away_from_ties(rng):
    x = rng.standard_normal((3, 4))
    return x, x + rng.choice([-1.0, 1.0], size=(3, 4)) * rng.uniform(0.3, 1.0, (3, 4))


CASES = [
    OpCase("add", lambda x, y: x + y, normal((3, 4), (4,)), "broadcast"),
    OpCase("add", lambda x, y: x + y, normal((2, 1, 3), (4, 1)), "both-broadcast"),
    OpCase("subtract", lambda x, y: x - y, normal((3, 4), (3, 1))),
    OpCase("multiply", lambda x, y: x * y, normal((3, 4), (4,))),
    OpCase("multiply", lambda x, y: x * y, normal((), (2, 3)), "scalar"),
    OpCase("divide", lambda x, y: x / y, lambda rng: (rng.standard_normal((2, 3)),
                                                      rng.uniform(0.5, 2, (3,)))),
    OpCase("negative", lambda x: -x, normal((5,))),
    OpCase("power", lambda x, y: x ** y, positive((3,), (3,))),
    OpCase("power", lambda x: x ** 3, normal((4,)), "integer-exponent"),
    OpCase("square", cr.square, normal((2, 3))),
    OpCase("sqrt", cr.sqrt, positive((4,))),
    OpCase("abs", cr.abs, lambda rng: (rng.uniform(0.2, 1, 5) * rng.choice([-1, 1], 5),)),
    OpCase("sign", lambda x: cr.sign(x) * x * x, lambda rng: (
        rng.uniform(0.2, 1, 5) * rng.choice([-1, 1], 5),)),
    OpCase("maximum", cr.maximum, _away_from_ties),
    OpCase("minimum", cr.minimum, _away_from_ties),
    OpCase("exp", cr.exp, normal((3,))),
    OpCase("expm1", cr.expm1, normal((3,))),
    OpCase("log", cr.log, positive((3,))),
    OpCase("log1p", cr.log1p, positive((3,))),
    OpCase("log", cr.log2, positive((3,)), "log2"),
    OpCase("log", cr.log10, positive((3,)), "log10"),
    OpCase("sin", cr.sin, normal((3,))),
    OpCase("cos", cr.cos, normal((3,))),
    OpCase("tan", cr.tan, unit((3,))),
    OpCase("arcsin", cr.arcsin, unit((3,))),
    OpCase("arccos", cr.arccos, unit((3,))),
    OpCase("arctan", cr.arctan, normal((3,))),
    OpCase("arctan2", cr.arctan2, lambda rng: (rng.standard_normal(4),
                                               rng.uniform(0.5, 2, 4))),
    OpCase("sinh", cr.sinh, normal((3,))),
    OpCase("cosh", cr.cosh, normal((3,))),
    OpCase("tanh", cr.tanh, normal((3,))),
    OpCase("sigmoid", cr.sigmoid, normal((3,))),
    OpCase("softplus", cr.softplus, normal((3,))),
    OpCase("relu", lambda x: cr.relu(x) * x, lambda rng: (
        rng.uniform(0.2, 1, 6) * rng.choice([-1, 1], 6),)),
    OpCase("tanh_grad", lambda g, y: tanh_grad(g, y), normal((3,), (3,))),
    OpCase("tanh_grad", lambda g, y: tanh_grad(g, y), normal((2, 3), (3,)), "broadcast"),
    OpCase("sigmoid_grad", lambda g, y: sigmoid_grad(g, y), normal((3,), (2, 3)), "broadcast"),
    OpCase("sigmoid_grad", lambda g, y: sigmoid_grad(g, y), normal((3,), (3,))),
    OpCase("relu_grad", lambda g, x: relu_grad(g, x) * x, lambda rng: (
        rng.standard_normal(6), rng.uniform(0.2, 1, 6) * rng.choice([-1, 1], 6))),
    OpCase("where", lambda x, y: cr.where(x > 0, x * y, y), lambda rng: (
        rng.uniform(0.2, 1, 6) * rng.choice([-1, 1], 6), rng.standard_normal(6))),
    OpCase("where", lambda x: cr.clip(x, -0.5, 0.5) * x, lambda rng: (
        np.array([-0.9, -0.2, 0.3, 0.8]),), "clip"),
]

# Piecewise-constant primitives: derivative zero. Each appears in a differentiable context.
_masks = lambda rng: (rng.uniform(0.2, 1, 6) * rng.choice([-1, 1], 6),)  # noqa: E731
CASES += [
    OpCase(name, lambda x, fn=fn: cr.where(fn(x), x * x, -x), _masks, name)
    for name, fn in {
        "less": lambda x: x < 0, "less_equal": lambda x: x <= 0,
        "greater": lambda x: x > 0, "greater_equal": lambda x: x >= 0,
        "equal": lambda x: cr.equal(x, x), "not_equal": lambda x: cr.not_equal(x, 0.0),
        "logical_and": lambda x: cr.logical_and(x > 0, x < 0.7),
        "logical_or": lambda x: cr.logical_or(x < -0.5, x > 0.5),
        "logical_xor": lambda x: (x > 0) ^ (x > 0.5),
        "logical_not": lambda x: cr.logical_not(x > 0),
        "isfinite": lambda x: cr.isfinite(x),
    }.items()
]
_TIE_X, _TIE_Y = np.array([1.0, 2.0, -1.0]), np.array([[1.0], [0.5]])  # one tie per row
CASES += [
    OpCase("floor", lambda x: x - cr.floor(x), lambda rng: (rng.uniform(0.1, 0.9, 5) + 2,)),
    OpCase("ceil", lambda x: x * cr.ceil(x), lambda rng: (rng.uniform(0.1, 0.9, 5) + 2,)),
    OpCase("round", lambda x: x * (x - round_(x)), lambda rng: (rng.uniform(2.1, 2.4, 5),)),
]
CASES += [
    OpCase("win_share", lambda x, y: cr.maximum(x, y) * cr.minimum(x, y) * x,
           lambda rng: (rng.standard_normal(6), rng.standard_normal(6)), "via max*min"),
    OpCase("win_share", lambda g: win_share(g, _TIE_X, _TIE_Y), normal((2, 3)),
           "ties and broadcasting"),
]
