"""Elementwise primitives: arithmetic, powers, exp/log, trigonometric and hyperbolic, masks.

Binary rules hand their cotangent to `sum_to`, the one place broadcasting is undone.
Conventions at non-differentiable points are listed in docs/conventions.md.
"""

from __future__ import annotations

import math

import numpy as np

from ..core import SCALAR_TYPES, is_mapped
from ._define import as_tensor, coerce, constant, defop
from .shape import sum_to


def _safe_log(x):
    """log(x) where x != 0 and 0 where x == 0: d/dy x**y at x = 0 is taken as 0."""
    if x._trace is None and x.data.all():
        return log(x)   # concrete and nowhere 0: the guard (two where passes) is not needed
    zero = x == 0
    return where(zero, 0.0, log(where(zero, 1.0, x)))


add = defop("add", np.add, nin=2,
            vjp=(lambda g, ans, x, y: sum_to(g, x.shape),
                 lambda g, ans, x, y: sum_to(g, y.shape)),
            jvp=(lambda t, ans, x, y: t, lambda t, ans, x, y: t), batch="elementwise")

subtract = defop("subtract", np.subtract, nin=2,
                 vjp=(lambda g, ans, x, y: sum_to(g, x.shape),
                      lambda g, ans, x, y: sum_to(-g, y.shape)),
                 jvp=(lambda t, ans, x, y: t, lambda t, ans, x, y: -t), batch="elementwise")

multiply = defop("multiply", np.multiply, nin=2,
                 vjp=(lambda g, ans, x, y: sum_to(g * y, x.shape),
                      lambda g, ans, x, y: sum_to(g * x, y.shape)),
                 jvp=(lambda t, ans, x, y: t * y, lambda t, ans, x, y: x * t), batch="elementwise")

divide = defop("divide", np.divide, nin=2,
               vjp=(lambda g, ans, x, y: sum_to(g / y, x.shape),
                    lambda g, ans, x, y: sum_to(-g * ans / y, y.shape)),
               jvp=(lambda t, ans, x, y: t / y, lambda t, ans, x, y: -t * ans / y),
               batch="elementwise")

negative = defop("negative", np.negative, vjp=lambda g, ans, x: -g, linear=True,
                 batch="elementwise")

def _power_slope(x, y, ans):
    """d/dx x**y = y * x**(y - 1), and exactly 0 where y == 0 (x**0 is the constant 1).

    The exponent is swapped for 1 where y == 0, so x**(y - 1) never makes the 0 * inf of
    0**-1 there; each higher order applies this same guard to its own exponent.
    """
    if _divides_exactly(x, ans):
        return y * ans / x   # x**(y-1) = x**y / x: no second power (the costliest pass)
    if y._trace is None and not (y.data == 0).any():
        return y * x ** (y - 1)   # a concrete exponent, nowhere 0: the guard is not needed
    return y * x ** where(y == 0, 1.0, y - 1)


def _divides_exactly(x, ans):
    """Concrete x nowhere 0 and x**y a normal number everywhere, so x**y / x loses nothing."""
    if x._trace is not None or ans._trace is not None or ans.dtype.kind != "f" or \
            x.size < 4096 or not x.data.all():   # small: the checks would cost more
        return False
    size = np.abs(ans.data)
    info = np.finfo(ans.dtype)
    return bool((size >= info.tiny).all() and (size <= info.max).all())


power = defop("power", np.power, nin=2,
              vjp=(lambda g, ans, x, y: sum_to(g * _power_slope(x, y, ans), x.shape),
                   lambda g, ans, x, y: sum_to(g * ans * _safe_log(x), y.shape)),
              jvp=(lambda t, ans, x, y: t * _power_slope(x, y, ans),
                   lambda t, ans, x, y: t * ans * _safe_log(x)), batch="elementwise")

square = defop("square", np.square,
               vjp=lambda g, ans, x: g * 2 * x, jvp=lambda t, ans, x: t * 2 * x,
               batch="elementwise")

sqrt = defop("sqrt", np.sqrt,
             vjp=lambda g, ans, x: g / (2 * ans), jvp=lambda t, ans, x: t / (2 * ans),
             doc="sqrt'(0) = +inf.", batch="elementwise")

sign = defop("sign", np.sign, differentiable=False, doc="Piecewise constant: derivative 0.",
             batch="elementwise")

absolute = defop("abs", np.abs,
                 vjp=lambda g, ans, x: g * _abs_direction(x, ans),
                 jvp=lambda t, ans, x: _abs_tangent(t, x, ans), doc="abs'(0) = 0.",
                 batch="elementwise")


def _win_share_impl(g, x, y):
    # g times a mask (the comparison's bool, multiplied in g's dtype): np.where with scalar
    # branches is several times slower, and float64 weights would promote float32 g. Ties
    # are rare, so they are patched only when present.
    out = np.asarray(np.multiply(g, np.greater(x, y)))   # an array even when 0-d
    tie = np.equal(x, y)
    if tie.any():
        if out.shape != tie.shape:
            tie = np.broadcast_to(tie, out.shape)
        out[tie] = np.broadcast_to(g, out.shape)[tie] * np.asarray(0.5, out.dtype)
    return out


def _win_share(g, x, y):
    return win_share(g, x, y)


# g where x > y, g / 2 on ties, 0 elsewhere: maximum's and minimum's derivative products in
# one pass-light op (it was g * weights, weights written by a separate op: 1.6x slower).
# Linear in g (its own transpose) and piecewise constant in x and y.
win_share = defop(
    "win_share", _win_share_impl, nin=3, batch="elementwise",
    vjp=(lambda c, ans, g, x, y: sum_to(_win_share(c, x, y), g.shape),
         lambda c, ans, g, x, y: None, lambda c, ans, g, x, y: None),
    jvp=(lambda t, ans, g, x, y: _win_share(t, x, y),
         lambda t, ans, g, x, y: None, lambda t, ans, g, x, y: None),
    doc="g where x > y, g / 2 where x == y, else 0: how maximum shares its cotangent.")

maximum = defop("maximum", np.maximum, nin=2,
                vjp=(lambda g, ans, x, y: sum_to(win_share(g, x, y), x.shape),
                     lambda g, ans, x, y: sum_to(win_share(g, y, x), y.shape)),
                jvp=(lambda t, ans, x, y: win_share(t, x, y),
                     lambda t, ans, x, y: win_share(t, y, x)), batch="elementwise")

minimum = defop("minimum", np.minimum, nin=2,
                vjp=(lambda g, ans, x, y: sum_to(win_share(g, y, x), x.shape),
                     lambda g, ans, x, y: sum_to(win_share(g, x, y), y.shape)),
                jvp=(lambda t, ans, x, y: win_share(t, y, x),
                     lambda t, ans, x, y: win_share(t, x, y)), batch="elementwise")

exp = defop("exp", np.exp, vjp=lambda g, ans, x: g * ans, jvp=lambda t, ans, x: t * ans,
            batch="elementwise")
expm1 = defop("expm1", np.expm1,
              vjp=lambda g, ans, x: g * (ans + 1), jvp=lambda t, ans, x: t * (ans + 1),
              batch="elementwise")
log = defop("log", np.log, vjp=lambda g, ans, x: g / x, jvp=lambda t, ans, x: t / x,
            batch="elementwise")
log1p = defop("log1p", np.log1p,
              vjp=lambda g, ans, x: g / (1 + x), jvp=lambda t, ans, x: t / (1 + x),
              batch="elementwise")


def log2(x):
    """Base-2 logarithm."""
    return log(x) / math.log(2.0)  # a Python float keeps float32 data float32


def log10(x):
    """Base-10 logarithm."""
    return log(x) / math.log(10.0)


sin = defop("sin", np.sin, vjp=lambda g, ans, x: g * cos(x), jvp=lambda t, ans, x: t * cos(x),
            batch="elementwise")
cos = defop("cos", np.cos, vjp=lambda g, ans, x: -g * sin(x),
            jvp=lambda t, ans, x: -t * sin(x), batch="elementwise")
tan = defop("tan", np.tan, vjp=lambda g, ans, x: g * (1 + ans * ans),
            jvp=lambda t, ans, x: t * (1 + ans * ans), batch="elementwise")
arcsin = defop("arcsin", np.arcsin, vjp=lambda g, ans, x: g / sqrt(1 - x * x),
               jvp=lambda t, ans, x: t / sqrt(1 - x * x), batch="elementwise")
arccos = defop("arccos", np.arccos, vjp=lambda g, ans, x: -g / sqrt(1 - x * x),
               jvp=lambda t, ans, x: -t / sqrt(1 - x * x), batch="elementwise")
arctan = defop("arctan", np.arctan, vjp=lambda g, ans, x: g / (1 + x * x),
               jvp=lambda t, ans, x: t / (1 + x * x), batch="elementwise")
arctan2 = defop("arctan2", np.arctan2, nin=2,
                vjp=(lambda g, ans, y, x: sum_to(g * x / (x * x + y * y), y.shape),
                     lambda g, ans, y, x: sum_to(-g * y / (x * x + y * y), x.shape)),
                jvp=(lambda t, ans, y, x: t * x / (x * x + y * y),
                     lambda t, ans, y, x: -t * y / (x * x + y * y)), batch="elementwise")
sinh = defop("sinh", np.sinh, vjp=lambda g, ans, x: g * cosh(x),
             jvp=lambda t, ans, x: t * cosh(x), batch="elementwise")
cosh = defop("cosh", np.cosh, vjp=lambda g, ans, x: g * sinh(x),
             jvp=lambda t, ans, x: t * sinh(x), batch="elementwise")
# Fused derivative primitives: one op per backward step of the commonest activations.
# Each is linear in its first argument, and has rules of its own for higher orders.
tanh_grad = defop(
    "tanh_grad", lambda g, y: g * (1 - y * y), nin=2,
    vjp=(lambda c, ans, g, y: sum_to(tanh_grad(c, y), g.shape),
         lambda c, ans, g, y: sum_to(-2 * c * g * y, y.shape)),
    jvp=(lambda t, ans, g, y: tanh_grad(t, y), lambda t, ans, g, y: -2 * g * y * t),
    doc="g * (1 - y**2): the VJP of tanh in terms of its output y.", batch="elementwise")
sigmoid_grad = defop(
    "sigmoid_grad", lambda g, y: g * y * (1 - y), nin=2,
    vjp=(lambda c, ans, g, y: sum_to(sigmoid_grad(c, y), g.shape),
         lambda c, ans, g, y: sum_to(c * g * (1 - 2 * y), y.shape)),
    jvp=(lambda t, ans, g, y: sigmoid_grad(t, y), lambda t, ans, g, y: g * (1 - 2 * y) * t),
    doc="g * y * (1 - y): the VJP of sigmoid in terms of its output y.", batch="elementwise")
relu_grad = defop(
    "relu_grad", lambda g, x: g * (x > 0), nin=2,  # 3.5x faster than np.where
    vjp=(lambda c, ans, g, x: sum_to(relu_grad(c, x), g.shape), lambda c, ans, g, x: None),
    jvp=(lambda t, ans, g, x: relu_grad(t, x), lambda t, ans, g, x: None),
    doc="g where x > 0, else 0: the VJP of relu (piecewise constant in x).", batch="elementwise")

tanh = defop("tanh", np.tanh, vjp=lambda g, ans, x: tanh_grad(g, ans),
             jvp=lambda t, ans, x: tanh_grad(t, ans), batch="elementwise")


def _real_float(x, name):
    """x as a real float array: integers become float64, as in NumPy's ufuncs."""
    if x.dtype.kind == "c":
        raise TypeError(f"{name} of complex numbers is not supported; pass real values")
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def _sigmoid_impl(x):
    # 1 / (1 + exp(-x)) in one buffer, exact for either sign: exp(-x) overflows to inf only
    # where the true value is below the dtype's smallest number, and 1 / inf is that 0.
    # np.logaddexp (the textbook stable form) is 60x slower at 1e6 entries.
    x = _real_float(x, "sigmoid")
    out = np.negative(x, out=np.empty(x.shape, x.dtype))   # an array even for 0-d x
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def _softplus_impl(x):
    # max(x, 0) + log1p(exp(-|x|)): never overflows, and 20x faster than np.logaddexp.
    x = _real_float(x, "softplus")
    out = np.abs(x, out=np.empty(x.shape, x.dtype))   # an array even for 0-d x
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += np.maximum(x, 0, dtype=x.dtype)
    return out


sigmoid = defop("sigmoid", _sigmoid_impl,
                vjp=lambda g, ans, x: sigmoid_grad(g, ans),
                jvp=lambda t, ans, x: sigmoid_grad(t, ans),
                doc="Logistic function, finite at +-1000.", batch="elementwise")
softplus = defop("softplus", _softplus_impl,
                 vjp=lambda g, ans, x: g * sigmoid(x), jvp=lambda t, ans, x: t * sigmoid(x),
                 doc="log(1 + exp(x)), computed without overflow.", batch="elementwise")
def _relu_impl(x):
    if type(x) in SCALAR_TYPES:
        # a 0-d value (the scalar fast path): NumPy's scalar comparison, 20x cheaper than
        # the ufunc; it keeps nan, and gives +0.0 for -0.0, as np.maximum(x, 0) does
        return x if x > 0 or x != x else _ZEROS[type(x)]
    return np.maximum(x, np.zeros((), x.dtype))


_ZEROS = {t: t(0) for t in SCALAR_TYPES}

relu = defop("relu", _relu_impl,
             vjp=lambda g, ans, x: relu_grad(g, x), jvp=lambda t, ans, x: relu_grad(t, x),
             doc="max(x, 0); relu'(0) = 0.", batch="elementwise")


def _where_impl(c, x, y):
    return np.where(c, x, y)


def _keep(g, c):
    """g where the bool mask c holds, 0 elsewhere: a mask multiply (np.where with a scalar
    branch is 2-20x slower), unless g is not finite (inf * 0 would be nan, where gives 0)."""
    if g._trace is None and not np.isfinite(g.data).all():
        return where(c, g, 0.0)
    return g * c


where_p = defop(
    "where", _where_impl, nin=3,
    vjp=(lambda g, ans, c, x, y: None,
         lambda g, ans, c, x, y: sum_to(_keep(g, c), x.shape),
         lambda g, ans, c, x, y: sum_to(_keep(g, logical_not(c)), y.shape)),
    jvp=(lambda t, ans, c, x, y: None,
         lambda t, ans, c, x, y: _keep(t, c),
         lambda t, ans, c, x, y: _keep(t, logical_not(c))), batch="elementwise")


def where(condition, x, y):
    """`np.where(condition, x, y)`; the condition is a bool tensor or array."""
    c = as_tensor(condition)
    if c.dtype != bool:
        c = not_equal(c, 0)
    x, y = coerce((x, y))
    return where_p(c, x, y)


_BOUND = (int, float, type(None))


def _clip_by_numbers(x, a_min, a_max):
    """clip of a concrete float x by numbers as one recorded `where`: the mask (x outside
    the bounds; nan is not) and the clipped values are constants computed by NumPy (two
    comparisons and two wheres were four recorded ops, each a pass over x)."""
    data = x.data
    outside = np.less(data, a_min) if a_min is not None else None
    if a_max is not None:
        above = np.greater(data, a_max)
        outside = above if outside is None else outside | above
    return where_p(constant(outside), constant(np.clip(data, a_min, a_max)), x)


def clip(x, a_min=None, a_max=None):
    """`np.clip`; one bound may be None. At a bound the gradient goes to x."""
    if a_min is None and a_max is None:
        raise ValueError("clip: give a_min, a_max or both")
    x = as_tensor(x)
    if x._trace is None and x.dtype.kind in "fc" and type(a_min) in _BOUND and \
            type(a_max) in _BOUND:
        return _clip_by_numbers(x, a_min, a_max)
    if a_min is not None:
        x = where(x < a_min, a_min, x)
    if a_max is not None:
        x = where(x > a_max, a_max, x)
    return x


def _compare(name, fn):
    return defop(name, fn, nin=2, differentiable=False, batch="elementwise")


less = _compare("less", np.less)
less_equal = _compare("less_equal", np.less_equal)
greater = _compare("greater", np.greater)
greater_equal = _compare("greater_equal", np.greater_equal)
equal = _compare("equal", np.equal)
not_equal = _compare("not_equal", np.not_equal)
logical_and = _compare("logical_and", np.logical_and)
logical_or = _compare("logical_or", np.logical_or)
logical_xor = _compare("logical_xor", np.logical_xor)
logical_not = defop("logical_not", np.logical_not, differentiable=False, batch="elementwise")
isfinite = defop("isfinite", np.isfinite, differentiable=False, batch="elementwise")
floor = defop("floor", np.floor, differentiable=False, doc="Piecewise constant.",
              batch="elementwise")
ceil = defop("ceil", np.ceil, differentiable=False, doc="Piecewise constant.", batch="elementwise")
round_ = defop("round", np.round, differentiable=False, doc="Piecewise constant.",
               batch="elementwise")


# ----- erf (exact GELU) -----------------------------------------------------------------
# Cephes' rational approximations (ndtr.c): erf(x) = x T(x^2) / U(x^2) for |x| <= 1, and
# 1 - exp(-x^2) P(|x|) / Q(|x|) beyond; within 2 ulp of math.erf in float64.
_ERF_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
          7.00332514112805075473e3, 5.55923013010394962768e4)
_ERF_U = (1.0, 3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
          2.26290000613890934246e4, 4.92673942608635921086e4)
_ERFC_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
           4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
           9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_ERFC_Q = (1.0, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
           9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
           1.65666309194161350182e3, 5.57535340817727675546e2)
# log(2 / sqrt(pi)): erf' = exp(log(2 / sqrt(pi)) - x^2), one recorded op fewer than
# 2 / sqrt(pi) * exp(-(x * x)) (no negate)
_LOG_TWO_OVER_SQRT_PI = math.log(2 / math.sqrt(math.pi))


def _poly(x, coefficients):
    """Horner's rule, highest power first."""
    out = np.full_like(x, coefficients[0])
    for c in coefficients[1:]:
        out *= x
        out += c
    return out


def _complex_erf(z):
    """erf of complex z by SciPy (Faddeeva's algorithm): the rational approximations below
    are for real x only, and the core needs no SciPy for real inputs."""
    try:
        from scipy.special import erf as scipy_erf
    except ImportError:
        raise TypeError("erf of complex numbers needs SciPy: pip install 'chainrule[scipy]' "
                        "(real inputs need nothing more)") from None
    return scipy_erf(z)


def _erf_impl(x):
    if x.dtype.kind == "c":
        return _complex_erf(x)
    v = np.asarray(x, dtype=np.float64)
    fast = _scipy_erf()
    if fast is not None:   # one ufunc call; the ~45 NumPy passes below cost ~40 us at 1e3
        out = fast(v)
        return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out
    flat = v.reshape(-1)   # 1-d: the in-place passes need arrays, not NumPy scalars
    if flat.size <= _ERF_BLOCK:
        out = _erf_block(flat).reshape(v.shape)
    else:   # blocks that stay in cache through the ~50 passes: 1.5x faster at 1e6
        out = np.empty(v.shape)
        flat_out = out.reshape(-1)
        for start in range(0, flat.size, _ERF_BLOCK):
            flat_out[start:start + _ERF_BLOCK] = _erf_block(flat[start:start + _ERF_BLOCK])
    # Float input keeps its dtype; integer input becomes float, as in NumPy's ufuncs.
    return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out


_ERF_BLOCK = 1 << 15
_SCIPY_ERF: list = []


def _scipy_erf():
    """SciPy's erf ufunc (the same Cephes approximations) when SciPy is installed, else
    None; looked up on the first call, since importing chainrule never needs SciPy."""
    if not _SCIPY_ERF:
        try:
            from scipy.special import erf as scipy_erf
        except ImportError:
            scipy_erf = None
        _SCIPY_ERF.append(scipy_erf)
    return _SCIPY_ERF[0]


def _erf_block(v):
    """erf of float64 v, both branches evaluated everywhere, in place where possible."""
    a = np.abs(v)
    z = v * v
    np.minimum(z, 1.0, out=z)   # clipped: the branch is only used where |x| <= 1
    inner = _poly(z, _ERF_T)
    inner *= v
    inner /= _poly(z, _ERF_U)
    b = np.clip(a, 1.0, 8.0)    # erfc(8) is below float64's resolution of 1
    e = b * b
    np.negative(e, out=e)
    np.exp(e, out=e)
    outer = _poly(b, _ERFC_P)
    outer *= e
    outer /= _poly(b, _ERFC_Q)
    np.subtract(1.0, outer, out=outer)
    np.copysign(outer, v, out=outer)
    np.copyto(outer, inner, where=a <= 1.0)
    return outer


erf = defop(
    "erf", _erf_impl,
    vjp=lambda g, ans, x: g * exp(_LOG_TWO_OVER_SQRT_PI - x * x),
    jvp=lambda t, ans, x: t * exp(_LOG_TWO_OVER_SQRT_PI - x * x),
    doc="The error function, vectorized (Cephes' rational approximations).",
    batch="elementwise")


# ----- complex numbers (JAX's convention: a cotangent c pairs with a tangent t as Re(c t)) --

def safe_divide(x, d):
    """x / d where d != 0, 0 where d == 0 (with the double where, so no nan at any order)."""
    if d._trace is None and d.data.all():
        return x / d   # concrete and nowhere 0: the guard (four recorded ops) is not needed
    zero = equal(d, 0)
    return where(zero, 0.0, x / where(zero, 1.0, d))


def _abs_direction(x, ans):
    """d|x| paired with the cotangent: sign(x) for real x, conj(x)/|x| for complex x."""
    if x.dtype.kind != "c":
        return sign(x)
    return safe_divide(conj(x), ans)


def _abs_tangent(t, x, ans):
    if x.dtype.kind != "c":
        return t * sign(x)
    return safe_divide(real(conj(x) * t), ans)


def _complex_unit(g, value):
    """g * value for a complex constant value, in g's precision."""
    return g * constant(value, dtype=np.result_type(g.dtype, np.complex64))


# real and imag are NumPy's views of a complex input, as torch.real is: writes through one
# are writes into x, whose version they advance (core.versions follows memory).
real = defop("real", np.real,
             vjp=lambda g, ans, x: g, jvp=lambda t, ans, x: real(t), batch="elementwise",
             doc="The real part (a real tensor).")
imag = defop("imag", np.imag,
             vjp=lambda g, ans, x: _complex_unit(g, -1j), jvp=lambda t, ans, x: imag(t),
             batch="elementwise", doc="The imaginary part (a real tensor; 0 for real x).")
conj = defop("conj", np.conjugate, vjp=lambda g, ans, x: conj(g), jvp=lambda t, ans, x: conj(t),
             batch="elementwise", doc="The complex conjugate (the identity on real x).")


def _angle_direction(x):
    """-i conj(x)/|x|^2: the angle's cotangent direction (0 at x = 0)."""
    return _complex_unit(safe_divide(conj(x), real(x * conj(x))), -1j)


angle = defop("angle", np.angle,
              vjp=lambda g, ans, x: g * _angle_direction(x),
              jvp=lambda t, ans, x: safe_divide(imag(conj(x) * t), real(x * conj(x))),
              batch="elementwise",
              doc="The argument in (-pi, pi]; its branch cut is the negative real axis.")


def real_if_close(x, tol=100):
    """`np.real_if_close`: the real part when every imaginary part is within tol machine
    epsilons of 0 (a decision made on the values, so not under vmap)."""
    x = as_tensor(x)
    if x.dtype.kind != "c":
        return x
    if is_mapped(x):
        raise ValueError("real_if_close: the decision differs per example under vmap; use "
                         "cr.real")
    eps = np.finfo(x.dtype).eps
    limit = tol * eps if tol > 1 else tol
    return real(x) if np.all(np.abs(np.imag(x.data)) < limit) else x
