"""More of NumPy's elementwise functions: remainders, hypot, logaddexp, inverse hyperbolics,
sinc, NaN handling, rounding (derivative 0) and their compositions.

Conventions at kinks and discontinuities are listed in docs/conventions.md.
"""

from __future__ import annotations

import numpy as np

from ..core import is_mapped
from ._define import as_tensor, coerce, constant, defop, shared
from ._public import public
from .elementwise import (
    absolute,
    divide,
    equal,
    exp,
    greater,
    less,
    logical_and,
    logical_xor,
    maximum,
    minimum,
    power,
    round_,
    safe_divide,
    sin,
    sqrt,
)
from .elementwise import where as _where
from .shape import reshape, sum_to

_LN2 = float(np.log(2.0))


def _nondiff(name, fn, doc="Piecewise constant: derivative 0."):
    return defop(name, fn, nin=getattr(fn, "nin", 1), differentiable=False, doc=doc,
                 batch="elementwise")


trunc = _nondiff("trunc", np.trunc)
floor_divide = _nondiff("floor_divide", np.floor_divide)
isnan = _nondiff("isnan", np.isnan, doc="A mask: not differentiable.")
isinf = _nondiff("isinf", np.isinf, doc="A mask: not differentiable.")


def _quotient(x, y, ans):
    """The integer n with x = n * y + ans (the remainder), rounded off its float error."""
    return round_((x - ans) / y)


def _remainder_op(name, fn, doc):
    return defop(name, fn, nin=2, doc=doc, batch="elementwise",
                 vjp=(lambda g, ans, x, y: sum_to(g, x.shape),
                      lambda g, ans, x, y: sum_to(-g * _quotient(x, y, ans), y.shape)),
                 jvp=(lambda t, ans, x, y: t, lambda t, ans, x, y: -t * _quotient(x, y, ans)))


remainder = _remainder_op("remainder", np.remainder,
                          "x - floor(x / y) * y (the sign of y), as NumPy's `%`.")
mod = remainder
fmod = _remainder_op("fmod", np.fmod, "x - trunc(x / y) * y (the sign of x), as C's fmod.")


def _hypot_vjp(g, ans, z, done):
    """z's cotangent g * z / hypot: g / hypot is shared by the two inputs' rules."""
    return sum_to(shared(ans, g, lambda: safe_divide(g, ans), done) * z, z.shape)


hypot = defop(
    "hypot", np.hypot, nin=2, batch="elementwise",
    vjp=(lambda g, ans, x, y: _hypot_vjp(g, ans, x, not y.requires_grad),
         lambda g, ans, x, y: _hypot_vjp(g, ans, y, True)),
    jvp=(lambda t, ans, x, y: t * safe_divide(x, ans),
         lambda t, ans, x, y: t * safe_divide(y, ans)),
    doc="sqrt(x**2 + y**2) without overflow; gradient 0 at the origin.")

def _log_add(name, fn, weight, doc):
    """log(b**x + b**y): its partial derivatives are the weights b**(x - out), b**(y - out)."""
    return defop(
        name, fn, nin=2, batch="elementwise", doc=doc,
        vjp=(lambda g, ans, x, y: sum_to(g * weight(x - ans), x.shape),
             lambda g, ans, x, y: sum_to(g * weight(y - ans), y.shape)),
        jvp=(lambda t, ans, x, y: t * weight(x - ans), lambda t, ans, x, y: t * weight(y - ans)))


exp2 = defop("exp2", np.exp2, batch="elementwise",
             vjp=lambda g, ans, x: g * ans * _LN2, jvp=lambda t, ans, x: t * ans * _LN2)
logaddexp = _log_add("logaddexp", np.logaddexp, exp, "log(exp(x) + exp(y)) without overflow.")
logaddexp2 = _log_add("logaddexp2", np.logaddexp2, exp2,
                      "log2(2**x + 2**y) without overflow.")

arcsinh = defop("arcsinh", np.arcsinh, batch="elementwise",
                vjp=lambda g, ans, x: g / sqrt(x * x + 1),
                jvp=lambda t, ans, x: t / sqrt(x * x + 1))
arccosh = defop("arccosh", np.arccosh, batch="elementwise",
                vjp=lambda g, ans, x: g / sqrt(x * x - 1),
                jvp=lambda t, ans, x: t / sqrt(x * x - 1), doc="arccosh'(1) = +inf.")
arctanh = defop("arctanh", np.arctanh, batch="elementwise",
                vjp=lambda g, ans, x: g / (1 - x * x),
                jvp=lambda t, ans, x: t / (1 - x * x), doc="arctanh'(+-1) = +inf.")


# ----- compositions -------------------------------------------------------------------------

@public
def reciprocal(x):
    """`np.reciprocal` of a float tensor: 1 / x."""
    x = as_tensor(x)
    return divide(constant(np.ones((), x.dtype if x.dtype.kind == "f" else float)), x)


@public
def fabs(x):
    """`np.fabs`: the absolute value of a real tensor."""
    return absolute(x)


def _nan_aware(best, name, word):
    def pick(x, y):
        x, y = coerce((x, y))
        # NaN loses: the other argument is returned (and gets the gradient).
        return _where(isnan(y), x, _where(isnan(x), y, best(x, y)))
    pick.__name__ = name
    pick.__doc__ = f"`np.{name}`: {word} ignoring NaN; ties split the gradient."
    return public(pick)


fmax = _nan_aware(maximum, "fmax", "maximum")
fmin = _nan_aware(minimum, "fmin", "minimum")

# sinc(x) = sum_k (-u)^k / (2k + 1)!, u = (pi x)^2: used for |x| < 0.1, where sin(pi x)/(pi x)
# loses digits in its derivatives; 9 terms are exact to rounding there.
_SINC_SERIES = [(-1.0) ** k / float(np.prod(np.arange(1, 2 * k + 2))) for k in range(9)]


@public
def sinc(x):
    """`np.sinc`: sin(pi x) / (pi x), 1 at 0; smooth (every order finite) at 0."""
    x = as_tensor(x)
    small = absolute(x) < 0.1
    px = np.pi * _where(small, 1.0, x)
    u = (np.pi * x) * (np.pi * x)
    series = constant(np.asarray(_SINC_SERIES[-1], x.dtype))
    for c in reversed(_SINC_SERIES[:-1]):
        series = series * u + c
    return _where(small, series, sin(px) / px)


@public
def deg2rad(x):
    """`np.deg2rad`."""
    return as_tensor(x) * (np.pi / 180.0)


@public
def rad2deg(x):
    """`np.rad2deg`."""
    return as_tensor(x) * (180.0 / np.pi)


radians, degrees = deg2rad, rad2deg


@public
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """`np.nan_to_num`: derivative 1 at finite entries, 0 at the replaced ones."""
    x = as_tensor(x)
    info = np.finfo(x.dtype) if x.dtype.kind == "f" else None
    if info is None:
        return x
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    out = _where(isnan(x), nan, x)
    out = _where(logical_and(isinf(x), greater(x, 0)), posinf, out)
    return _where(logical_and(isinf(x), less(x, 0)), neginf, out)


@public
def fix(x):
    """`np.fix`: round towards zero (derivative 0)."""
    return trunc(x)


@public
def rint(x):
    """`np.rint`: round to the nearest integer (derivative 0)."""
    return round_(x)


@public
def around(x, decimals=0):
    """`np.round` / `np.around` (derivative 0)."""
    return round_(x, decimals=int(decimals)) if decimals else round_(x)


@public
def isposinf(x):
    """`np.isposinf` (a mask)."""
    return logical_and(isinf(x), greater(x, 0))


@public
def isneginf(x):
    """`np.isneginf` (a mask)."""
    return logical_and(isinf(x), less(x, 0))


# ----- positions (integer results, not differentiable) --------------------------------------

@public
def nonzero(a) -> tuple:
    """`np.nonzero`: a tuple of integer tensors (not differentiable; no vmap: the number of
    entries depends on the values)."""
    a = as_tensor(a)
    if is_mapped(a):
        raise TypeError("nonzero: under cr.vmap each example has its own number of nonzero "
                        "entries (a data-dependent shape); use cr.where(cond, x, y) instead")
    return tuple(constant(i) for i in np.nonzero(a.data))


@public
def flatnonzero(a):
    """`np.flatnonzero`: positions of the nonzero entries of the flattened tensor."""
    return nonzero(reshape(as_tensor(a), -1))[0]


@public
def argwhere(a):
    """`np.argwhere`: one row of positions per nonzero entry."""
    a = as_tensor(a)
    if a.ndim == 0:
        return constant(np.argwhere(a.data))
    return constant(np.stack([p.data for p in nonzero(a)], axis=-1))


@public
def where(condition, x=None, y=None):
    """`np.where(condition, x, y)`; with the condition alone, `np.nonzero(condition)`."""
    if x is None and y is None:
        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("where: give both x and y, or neither (then it is nonzero)")
    return _where(condition, x, y)


# ----- more of NumPy's elementwise names -----------------------------------------------------

true_divide = divide
signbit = _nondiff("signbit", np.signbit, doc="The sign bit: not differentiable.")
cbrt = defop("cbrt", np.cbrt, batch="elementwise",
             vjp=lambda g, ans, x: g / (3 * ans * ans), jvp=lambda t, ans, x: t / (3 * ans * ans),
             doc="The real cube root; cbrt'(0) = +inf.")


def _sign_differs(x, y):
    """Where copysign(x, y) flips x (the sign bits differ): there d/dx is -1, elsewhere +1."""
    return logical_xor(signbit(x), signbit(y))


# Rules pick -g or g (not g * where(m, -1.0, 1.0)): no float64 slope for float32 data.
copysign = defop(
    "copysign", np.copysign, nin=2, batch="elementwise",
    vjp=(lambda g, ans, x, y: sum_to(_where(_sign_differs(x, y), -g, g), x.shape),
         lambda g, ans, x, y: None),
    jvp=(lambda t, ans, x, y: _where(_sign_differs(x, y), -t, t), lambda t, ans, x, y: None),
    doc="|x| with the sign of y: derivative +-1 in x (the sign bit decides at 0), 0 in y.")

isclose_p = defop("isclose", lambda a, b, rtol, atol, equal_nan: np.isclose(
    a, b, rtol=rtol, atol=atol, equal_nan=equal_nan), nin=2, differentiable=False,
    batch="elementwise", doc="A mask: not differentiable.")


@public
def positive(x):
    """`np.positive`: x itself."""
    return as_tensor(x)


@public
def float_power(x, y):
    """`np.float_power`: the power computed in float64."""
    x, y = coerce((x, y))
    wide = np.complex128 if "c" in (x.dtype.kind, y.dtype.kind) else np.float64
    return power(x.astype(wide), y.astype(wide))


@public
def heaviside(x1, x2):
    """`np.heaviside`: 0 below 0, x2 at 0, 1 above; derivative 0 in x1, 1 in x2 where x1 == 0."""
    x1, x2 = coerce((x1, x2))
    return _where(equal(x1, 0), x2, greater(x1, 0).astype(x2.dtype))


@public
def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """`np.isclose` (a mask)."""
    a, b = coerce((a, b))
    return isclose_p(a, b, rtol=float(rtol), atol=float(atol), equal_nan=bool(equal_nan))


@public
def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """`np.allclose`: a Python bool."""
    return bool(np.all(isclose(a, b, rtol, atol, equal_nan).data))
