"""More elementwise functions: remainders, hypot, logaddexp, inverse hyperbolics, sinc, NaN
handling and rounding (piecewise constant: derivative 0)."""

import numpy as np

import chainrule as cr

from . import OpCase, normal, positive


def _signed(low, high, *shapes):
    return lambda rng: tuple(rng.uniform(low, high, s) * rng.choice([-1, 1], s) for s in shapes)


def _away_from_multiples(rng):
    # x / y stays away from integers, where the remainder jumps
    y = rng.uniform(0.5, 1.5, 4) * rng.choice([-1, 1], 4)
    return (rng.integers(-3, 4, (3, 4)) + rng.uniform(0.2, 0.8, (3, 4))) * y, y


def _with_nans(rng):
    x = rng.standard_normal((3, 4))
    x[0, 1] = x[2, 3] = np.nan
    return x, rng.standard_normal((3, 4))


def _masked(x):
    """Entries of x where x is NaN set to 1, so that functions of it stay finite."""
    return cr.where(cr.isnan(x), 1.0, x)


CASES = [
    OpCase("remainder", lambda x, y: x % y, _away_from_multiples, "operator"),
    OpCase("remainder", lambda x, y: cr.mod(x * x, y), _away_from_multiples),
    OpCase("fmod", lambda x, y: cr.fmod(x, y) * y, _away_from_multiples),
    OpCase("hypot", cr.hypot, normal((3, 4), (4,))),
    OpCase("logaddexp", cr.logaddexp, normal((3, 4), (4,))),
    OpCase("logaddexp2", cr.logaddexp2, normal((2, 3), (2, 3))),
    OpCase("exp2", cr.exp2, normal((4,))),
    OpCase("arcsinh", cr.arcsinh, normal((4,))),
    OpCase("arccosh", cr.arccosh, positive((4,), low=1.2, high=3.0)),
    OpCase("arctanh", cr.arctanh, lambda rng: (rng.uniform(-0.8, 0.8, 4),)),
    OpCase("trunc", lambda x: x * cr.trunc(x) + cr.fix(x), _signed(1.1, 1.9, 5)),
    OpCase("floor_divide", lambda x, y: (x // y) * x * y, lambda rng: (
        rng.uniform(2.2, 2.8, 4), np.full(4, 1.0))),
    OpCase("isnan", lambda x, y: cr.nan_to_num(x) * y, _with_nans, "nan_to_num"),
    OpCase("isinf", lambda x, y: cr.nan_to_num(x + y, posinf=5.0, neginf=-7.0) * x,
           lambda rng: (rng.standard_normal(4), np.array([1.0, np.inf, -np.inf, 2.0])),
           "nan_to_num-inf"),
    OpCase("isnan", lambda x, y: cr.fmax(x, y) + cr.fmin(y, x) * cr.nan_to_num(x), _with_nans,
           "fmax-fmin"),
    OpCase("round", lambda x: x * cr.rint(x) + cr.around(x, 1) * x, lambda rng: (
        rng.uniform(2.11, 2.14, 4),), "rint-around"),
    OpCase("divide", cr.reciprocal, positive((4,)), "reciprocal"),
    OpCase("abs", cr.fabs, _signed(0.2, 1.0, 5), "fabs"),
    OpCase("sin", cr.sinc, lambda rng: (np.array([0.0, 1e-3, 0.05, -0.3, 1.7, -2.5]),),
           "sinc"),
    OpCase("multiply", lambda x: cr.deg2rad(x) + cr.rad2deg(x), normal((3,)), "deg-rad"),
    OpCase("where", lambda x: cr.where(cr.isnan(x), 0.0, x) * _masked(x), lambda rng: (
        np.array([1.0, np.nan, -2.0]),), "isnan-where"),
    OpCase("cbrt", cr.cbrt, _signed(0.3, 2.0, 5)),
    OpCase("copysign", lambda x, y: cr.copysign(x, y) * x, lambda rng: (
        rng.standard_normal(4), np.array([1.0, -1.0, 2.0, -0.5]))),
    OpCase("signbit", lambda x: cr.where(cr.signbit(x), x, x * x), _signed(0.2, 1.0, 6)),
    OpCase("isclose", lambda x, y: cr.where(cr.isclose(x, y, atol=0.5), x, y),
           lambda rng: (np.array([0.0, 1.0, 2.0]), np.array([0.2, 3.0, 2.1]))),
    OpCase("where", lambda h: cr.heaviside(np.array([-1.0, 0.0, 2.0]), h) * h, normal((3,)),
           "heaviside"),
    OpCase("power", lambda x, y: cr.float_power(x, y), positive((3,), (3,)), "float_power"),
]
