"""`cr.scipy.special`: values from SciPy, derivatives written in chainrule ops.

Every function is elementwise with NumPy broadcasting. Orders and Bessel orders (`n`,
`v`) are constants; where SciPy has no derivative formula (the first argument of
gammainc/gammaincc, betainc's a and b) differentiating by it raises NotImplementedError.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy import special as _sp

from ..core import PRIMITIVES, TensorBase
from ..ops._define import as_tensor, coerce
from ..ops.elementwise import absolute, cos, exp, log, sigmoid, sign, where
from ..ops.reduce import logsumexp as _logsumexp
from ..ops.reduce import max as _max
from ..ops.reduce import sum as _sum
from ..ops.shape import reshape, stop_gradient, sum_to
from ._define import defop, not_differentiable

_SQRT_PI = float(np.sqrt(np.pi))


def _unary(name, fn, derivative, doc=""):
    """An elementwise primitive of one input whose derivative is `derivative(x, ans, **p)`."""
    return defop(name, fn, batch="elementwise", doc=doc,
                 vjp=lambda g, ans, x, **p: g * derivative(x, ans, **p),
                 jvp=lambda t, ans, x, **p: t * derivative(x, ans, **p))


def _binary(name, fn, d_first, d_second, doc=""):
    """An elementwise primitive of two broadcast inputs; d_* are (ans, a, b) -> partial."""
    def vjp_rule(partial):
        return lambda g, ans, a, b: sum_to(g * partial(ans, a, b), (a if partial is d_first
                                                                    else b).shape)

    def jvp_rule(partial):
        return lambda t, ans, a, b: t * partial(ans, a, b)

    def wrap(partial, make):
        return partial if getattr(partial, "refuses", False) else make(partial)

    return defop(name, fn, nin=2, batch="elementwise", doc=doc,
                 vjp=(wrap(d_first, vjp_rule), wrap(d_second, vjp_rule)),
                 jvp=(wrap(d_first, jvp_rule), wrap(d_second, jvp_rule)))


def _refuses(function, argument):
    rule = not_differentiable(function, argument)
    rule.refuses = True
    return rule


def _static(value, function, what):
    """An order given as a constant number (its derivative is not defined)."""
    if isinstance(value, TensorBase):
        if value.requires_grad or value.size != 1:
            raise TypeError(f"{function}: {what} must be a constant number, got a tensor of "
                            f"shape {value.shape}")
        value = value.item()
    if not isinstance(value, numbers.Real):
        value = np.asarray(value)
        if value.size != 1:
            raise TypeError(f"{function}: {what} must be one number, got shape {value.shape}")
        value = value.item()
    return value


# ----- gamma family ---------------------------------------------------------------------

polygamma_p = _unary("polygamma", lambda x, n: _sp.polygamma(n, x),
                     lambda x, ans, n: polygamma(n + 1, x), "The n-th derivative of digamma.")


def polygamma(n, x):
    """`scipy.special.polygamma(n, x)` for a constant integer n >= 0."""
    n = _static(n, "polygamma", "n")
    if int(n) != n or n < 0:
        raise ValueError(f"polygamma: n must be an integer >= 0, got {n}")
    x = as_tensor(x)
    return digamma(x) if n == 0 else polygamma_p(x, n=int(n))


digamma = _unary("digamma", _sp.digamma, lambda x, ans: polygamma(1, x),
                 "psi(x) = d/dx log Gamma(x).")
psi = digamma
gammaln = _unary("gammaln", _sp.gammaln, lambda x, ans: digamma(x), "log |Gamma(x)|.")
gamma = _unary("gamma", _sp.gamma, lambda x, ans: ans * digamma(x))



def _drgamma(x, ans):
    """d/dx 1/Gamma(x): -psi(x)/Gamma(x) for x > 0; for x <= 0 by the reflection
    1/Gamma(x) = sin(pi x) Gamma(1 - x) / pi, finite at the poles of Gamma ((-1)^n n!)."""
    right = where(x > 0, x, 1.0)
    left = where(x > 0, 0.0, x)
    return where(x > 0, -ans * digamma(right),
                 cos(np.pi * left) * gamma(1.0 - left) - ans * digamma(1.0 - left))


rgamma = _unary("rgamma", _sp.rgamma, _drgamma, "1 / Gamma(x), entire (0 at x = 0, -1, ...).")
gammasgn = defop("gammasgn", _sp.gammasgn, differentiable=False, batch="elementwise",
                 doc="The sign of Gamma(x): piecewise constant.")
betaln = _binary("betaln", _sp.betaln,
                 lambda ans, a, b: digamma(a) - digamma(a + b),
                 lambda ans, a, b: digamma(b) - digamma(a + b), "log |B(a, b)|.")
beta = _binary("beta", _sp.beta,
               lambda ans, a, b: ans * (digamma(a) - digamma(a + b)),
               lambda ans, a, b: ans * (digamma(b) - digamma(a + b)))


def _dgammainc_dx(ans, a, x):
    """x^(a-1) e^-x / Gamma(a), the density of a Gamma(a) variable."""
    return exp(xlogy(a - 1.0, x) - x - gammaln(a))


gammainc = _binary("gammainc", _sp.gammainc, _refuses("gammainc", "a"), _dgammainc_dx,
                   "The regularized lower incomplete gamma function P(a, x).")
gammaincc = _binary("gammaincc", _sp.gammaincc, _refuses("gammaincc", "a"),
                    lambda ans, a, x: -_dgammainc_dx(ans, a, x),
                    "The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x).")


def multigammaln(a, d):
    """`scipy.special.multigammaln(a, d)`: log of the multivariate gamma function."""
    d = int(_static(d, "multigammaln", "d"))
    a = as_tensor(a)
    total = d * (d - 1) / 4.0 * np.log(np.pi)
    for j in range(d):
        total = total + gammaln(a - j / 2.0)
    return total


# ----- logs that are 0 at 0 -----------------------------------------------------------

def _safe_quotient(x, y):
    """x / y, and 0 where x == 0 (even where y == 0)."""
    zero = x == 0
    return where(zero, 0.0, x / where(zero, 1.0, y))


xlogy = _binary("xlogy", _sp.xlogy, lambda ans, x, y: log(y),
                lambda ans, x, y: _safe_quotient(x, y), "x log(y), 0 where x == 0.")
xlog1py = _binary("xlog1py", _sp.xlog1py, lambda ans, x, y: log(1.0 + y),
                  lambda ans, x, y: _safe_quotient(x, 1.0 + y), "x log(1 + y), 0 where x == 0.")


# ----- error function family --------------------------------------------------------------

def _erfc_derivative(x, ans):
    return (-2.0 / _SQRT_PI) * exp(-x * x)


erfc = _unary("erfc", _sp.erfc, _erfc_derivative, "1 - erf(x), accurate for large x.")
erfinv = _unary("erfinv", _sp.erfinv, lambda x, ans: (_SQRT_PI / 2.0) * exp(ans * ans))
erfcinv = _unary("erfcinv", _sp.erfcinv, lambda x, ans: (-_SQRT_PI / 2.0) * exp(ans * ans))
ndtr = _unary("ndtr", _sp.ndtr, lambda x, ans: exp(-0.5 * x * x) / np.sqrt(2 * np.pi),
              "The standard normal CDF.")
log_ndtr = _unary("log_ndtr", _sp.log_ndtr,
                  lambda x, ans: exp(-0.5 * x * x - ans) / np.sqrt(2 * np.pi),
                  "log of the standard normal CDF, accurate far into the left tail.")
ndtri = _unary("ndtri", _sp.ndtri, lambda x, ans: np.sqrt(2 * np.pi) * exp(0.5 * ans * ans),
               "The inverse of ndtr.")


def erf(x):
    """`scipy.special.erf`: chainrule's own erf primitive (`cr.erf`), which matches SciPy."""
    return PRIMITIVES["erf"](as_tensor(x))


logit = _unary("logit", _sp.logit, lambda x, ans: 1.0 / (x * (1.0 - x)), "log(x / (1 - x)).")


def expit(x):
    """`scipy.special.expit`: the logistic sigmoid (chainrule's `cr.sigmoid`)."""
    return sigmoid(x)


# ----- incomplete beta and Student's t CDF ----------------------------------------------

def _dbetainc_dx(ans, a, b, x):
    return exp(xlogy(a - 1.0, x) + xlog1py(b - 1.0, -x) - betaln(a, b))


betainc_p = defop(
    "betainc", _sp.betainc, nin=3, batch="elementwise",
    vjp=(_refuses("betainc", "a"), _refuses("betainc", "b"),
         lambda g, ans, a, b, x: sum_to(g * _dbetainc_dx(ans, a, b, x), x.shape)),
    jvp=(_refuses("betainc", "a"), _refuses("betainc", "b"),
         lambda t, ans, a, b, x: t * _dbetainc_dx(ans, a, b, x)),
    doc="The regularized incomplete beta function I_x(a, b).")


def betainc(a, b, x):
    """`scipy.special.betainc(a, b, x)`; differentiable in x."""
    return betainc_p(*coerce((a, b, x)))


def _dstdtr_dt(ans, df, t):
    """Student's t density."""
    half = 0.5 * (df + 1.0)
    return exp(gammaln(half) - gammaln(0.5 * df) - 0.5 * log(df * np.pi)
               - half * log(1.0 + t * t / df))


stdtr = _binary("stdtr", _sp.stdtr, _refuses("stdtr", "df"), _dstdtr_dt,
                "Student's t CDF with df degrees of freedom.")


# ----- Bessel functions (order v constant) --------------------------------------------

def _bessel(name, fn, derivative):
    return _unary(name, lambda x, v: fn(v, x), derivative, f"scipy.special.{name}(v, x).")


jv_p = _bessel("jv", _sp.jv, lambda x, ans, v: 0.5 * (jv_p(x, v=v - 1) - jv_p(x, v=v + 1)))
yv_p = _bessel("yv", _sp.yv, lambda x, ans, v: 0.5 * (yv_p(x, v=v - 1) - yv_p(x, v=v + 1)))
iv_p = _bessel("iv", _sp.iv, lambda x, ans, v: 0.5 * (iv_p(x, v=v - 1) + iv_p(x, v=v + 1)))
ive_p = _bessel("ive", _sp.ive, lambda x, ans, v: 0.5 * (ive_p(x, v=v - 1) + ive_p(x, v=v + 1))
                - sign(x) * ans)


def _order(v, function, integer=False):
    v = _static(v, function, "the order")
    if integer and int(v) != v:
        raise ValueError(f"{function}: n must be an integer, got {v}")
    return float(v)


def _of_order(prim, name, doc, integer=False):
    """The public f(v, x) of a Bessel primitive whose order is a constant."""
    def fn(v, x):
        return prim(as_tensor(x), v=_order(v, name, integer))
    fn.__name__, fn.__doc__ = name, doc
    return fn


def _fixed_order(prim, name, v):
    """The public f(x) of a Bessel primitive at one order (j0, i1, ...)."""
    def fn(x):
        return prim(as_tensor(x), v=v)
    fn.__name__, fn.__doc__ = name, f"scipy.special.{name}(x)."
    return fn


jv = _of_order(jv_p, "jv", "Bessel function of the first kind of real order v.")
yv = _of_order(yv_p, "yv", "Bessel function of the second kind of real order v.")
iv = _of_order(iv_p, "iv", "Modified Bessel function of the first kind of real order v.")
ive = _of_order(ive_p, "ive", "iv(v, x) exp(-|x|), which does not overflow.")
jn = _of_order(jv_p, "jn", "Bessel function of the first kind of integer order n.", True)
yn = _of_order(yv_p, "yn", "Bessel function of the second kind of integer order n.", True)
j0, j1 = _fixed_order(jv_p, "j0", 0.0), _fixed_order(jv_p, "j1", 1.0)
y0, y1 = _fixed_order(yv_p, "y0", 0.0), _fixed_order(yv_p, "y1", 1.0)
i0, i1 = _fixed_order(iv_p, "i0", 0.0), _fixed_order(iv_p, "i1", 1.0)


# ----- logsumexp ----------------------------------------------------------------------

def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """`scipy.special.logsumexp`: log(sum(b * exp(a))); with return_sign, (log|s|, sign s).

    Without return_sign a negative sum gives nan, as SciPy does.
    """
    a = as_tensor(a)
    if b is None and not return_sign:
        return _logsumexp(a, axis=axis, keepdims=keepdims)
    shift = stop_gradient(_max(a, axis=axis, keepdims=True))
    shift = where(absolute(shift) < np.inf, shift, 0.0)   # an all -inf row stays -inf
    e = exp(a - shift)
    if b is not None:
        e = coerce((e, b))[1] * e
    s = _sum(e, axis=axis, keepdims=keepdims)
    if not keepdims:
        shift = reshape(shift, s.shape)
    if return_sign:
        return log(absolute(s)) + shift, sign(s)
    return log(s) + shift


__all__ = [
    "beta", "betainc", "betaln", "digamma", "erf", "erfc", "erfcinv", "erfinv", "expit",
    "gamma", "gammainc", "gammaincc", "gammaln", "gammasgn", "i0", "i1", "iv", "ive", "j0",
    "j1", "jn", "jv", "log_ndtr", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri",
    "polygamma", "psi", "rgamma", "stdtr", "xlog1py", "xlogy", "y0", "y1", "yn", "yv",
]
