"""Neural-network primitives and composites: linear, softmax, log_softmax, cross-entropy.

`linear` is x @ w.T + b in one primitive. `cross_entropy` (per-sample, integer targets)
has a fused VJP, softmax - onehot, computed by `cross_entropy_grad`. log_softmax is one
stable primitive; softmax a stable composition.
"""

from __future__ import annotations

import math

import numpy as np

from ..core import bind
from ._define import as_tensor, bind_tensors, coerce, defop, normalize_axis, shared
from .elementwise import add as add_p
from .elementwise import exp, sqrt
from .linalg import matmul, matmul_batch, matmul_p
from .reduce import _finite_max, softmax_cotangent
from .reduce import mean as _mean_op
from .reduce import sum as _sum
from .shape import expand_dims, materialize, reshape, swapaxes, transpose, transpose_p
from .vmap_rules import elementwise_rule, fold_into_samples

__all__ = ["linear", "softmax", "log_softmax", "cross_entropy_per_sample", "normalize"]


def _log_softmax_impl(x, axes):
    z = x - _finite_max(x, axes)
    lse = np.log(np.add.reduce(np.exp(z), axis=axes, keepdims=True))
    z -= lse
    return z


# One primitive, not six: (x - max) - log(sum(exp(x - max))) recorded as a composition cost
# six nodes forward and eight backward, most of the time of a small classifier's loss.
log_softmax_p = defop(
    "log_softmax", _log_softmax_impl,
    vjp=lambda g, ans, x, axes: g - exp(ans) * _sum(g, axes, keepdims=True),
    jvp=lambda t, ans, x, axes: t - _sum(exp(ans) * t, axes, keepdims=True),
    doc="(x - max) - log(sum(exp(x - max))) over `axes`: the shift is never added back, so "
        "no precision is lost to it.", batch="axes")


def log_softmax(x, axis=-1):
    """(x - max) - log(sum(exp(x - max))): the shift is never added back, so no precision
    is lost to it (log_softmax([1e16, 1e16]) is [-log 2, -log 2])."""
    x = as_tensor(x)
    return bind_tensors(log_softmax_p, (x,), {"axes": normalize_axis(axis, x.ndim,
                                                                     "log_softmax")})


def _softmax_impl(x, axes):
    e = np.exp(x - _finite_max(x, axes))
    e /= np.add.reduce(e, axis=axes, keepdims=True)
    return e


# One primitive, as log_softmax: the composition exp(x - max) / sum recorded five nodes
# forward and about twelve backward.
softmax_p = defop(
    "softmax", _softmax_impl,
    vjp=lambda g, ans, x, axes: softmax_cotangent(g, ans, axes),
    jvp=lambda t, ans, x, axes: softmax_cotangent(t, ans, axes),
    doc="exp(x - max) / sum(exp(x - max)) over `axes` (the max taken as 0 where it is not "
        "finite).", batch="axes")


def softmax(x, axis=-1):
    """exp(x - max) / sum(exp(x - max)): sums to 1 along `axis`, finite for any input."""
    x = as_tensor(x)
    return bind_tensors(softmax_p, (x,), {"axes": normalize_axis(axis, x.ndim, "softmax")})


# ----- linear ---------------------------------------------------------------------------

def _linear_impl(x, w, b):
    if x.ndim > 2:  # (..., in) as one (rows, in) matrix: one GEMM, not one per leading index
        out = np.matmul(x.reshape(-1, x.shape[-1]), w.T)
        out += b
        return out.reshape(x.shape[:-1] + w.shape[:1])
    out = np.matmul(x, w.T)
    out += b
    return out


def _rows(a):
    """(..., k) as a (rows, k) matrix (a view when a is contiguous)."""
    return a.reshape(-1, a.shape[-1])


def _input_grad_impl(g, w):
    return np.matmul(_rows(g), w).reshape(g.shape[:-1] + w.shape[1:])


def _weight_grad_impl(g, x):
    return np.matmul(_rows(g).T, _rows(x))


def _input_grad(g, w):
    return bind_tensors(linear_input_grad_p, (g, w))


def _weight_grad(g, x):
    return bind_tensors(linear_weight_grad_p, (g, x))


def _per_example_rows(v, batched, size):
    v = materialize(v, batched, size)
    return reshape(v, (size, -1, v.shape[-1]))


def _input_grad_batch(size, op, vals, batched, params):
    (g, w), (bg, bw) = vals, batched
    if not bw:  # leading axes of g already work
        return bind(op, (g, w), params)
    out = matmul(_per_example_rows(g, bg, size), w)
    lead = g.shape[:-1] if bg else (size,) + g.shape[:-1]
    return reshape(out, lead + w.shape[-1:])


def _weight_grad_batch(size, op, vals, batched, params):
    (g, x), (bg, bx) = vals, batched
    return matmul(swapaxes(_per_example_rows(g, bg, size), 1, 2),
                  _per_example_rows(x, bx, size))


# Both are bilinear and linear's VJPs; each one's derivatives are linear or one of the two.
linear_input_grad_p = defop(
    "linear_input_grad", _input_grad_impl, nin=2,
    vjp=(lambda c, ans, g, w: matmul(c, transpose(w)), lambda c, ans, g, w: _weight_grad(g, c)),
    jvp=(lambda t, ans, g, w: _input_grad(t, w), lambda t, ans, g, w: _input_grad(g, t)),
    doc="g @ w for g of shape (..., out), w (out, in): linear's VJP for x, one GEMM.",
    batch=_input_grad_batch)

linear_weight_grad_p = defop(
    "linear_weight_grad", _weight_grad_impl, nin=2,
    vjp=(lambda c, ans, g, x: matmul(x, transpose(c)), lambda c, ans, g, x: _input_grad(g, c)),
    jvp=(lambda t, ans, g, x: _weight_grad(t, x), lambda t, ans, g, x: _weight_grad(g, t)),
    doc="sum over rows of g^T x for g (..., out), x (..., in): linear's VJP for w, one GEMM.",
    batch=_weight_grad_batch)


def _linear_vjp_b(g, ans, x, w, b):
    return _sum(g, tuple(range(g.ndim - 1))) if g.ndim > 1 else g


def _linear_batch(size, op, vals, batched, params):
    (x, w, b), (bx, bw, bb) = vals, batched
    if not (bw or bb):  # x of shape (..., in): any leading axes already work
        return bind(op, tuple(vals), params)
    wt = bind(transpose_p, (w,), {"axes": (0, 2, 1) if bw else (1, 0)})
    out = matmul_batch(size, matmul_p, (x, wt), (bx, bw), {})
    return elementwise_rule(size, add_p, (out, b), (bx or bw, bb), {})


linear_p = defop(
    "linear", _linear_impl, nin=3,
    vjp=(lambda g, ans, x, w, b: _input_grad(g, w), lambda g, ans, x, w, b: _weight_grad(g, x),
         _linear_vjp_b),
    jvp=(lambda t, ans, x, w, b: matmul(t, transpose(w)),
         lambda t, ans, x, w, b: matmul(x, transpose(t)),
         lambda t, ans, x, w, b: t),
    doc="x @ w.T + b for x of shape (..., in), w (out, in), b (out,).", batch=_linear_batch)


def linear(x, weight, bias=None):
    """`x @ weight.T + bias` (PyTorch's layout: weight is (out_features, in_features))."""
    x, weight = coerce((x, weight))
    if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} does not fit a weight of shape "
                         f"{weight.shape}: the last axis of the input must be "
                         f"{weight.shape[1] if weight.ndim == 2 else 'in_features'}")
    if bias is None:
        return matmul(x, transpose(weight))
    bias = as_tensor(bias)
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias of shape {bias.shape} does not fit a weight of shape "
                         f"{weight.shape}; expected ({weight.shape[0]},)")
    return bind_tensors(linear_p, (x, weight, bias), {})


# ----- normalization over trailing axes (layer, group, instance norm) ------------------------
#
# N(x) = (x - mean(x)) * s with s = 1 / sqrt(var(x) + eps) over the last `naxes` axes. Its
# Jacobian J = s (I - 11^T / n - x^ x^T / n) is symmetric, so one primitive,
# `normalize_jacobian(v, x)` = J v = s (v - mean(v) - x^ mean(x^ v)), is both N's VJP and
# its JVP (one node per backward step instead of the composite's ~25). Its own derivative
# in x (for higher orders), with w = J v and a = mean(x^ v), in the direction t:
#   -s (w mean(x^ t) + a J t + x^ mean(v J t)),  and its adjoint applied to c:
#   -s (x^ mean(w c) + a J c + w mean(x^ c)).

def _trailing(x, naxes):
    return tuple(range(x.ndim - naxes, x.ndim))


def _normalize_impl(x, naxes, eps):
    out = x - _mean(x, naxes)
    out /= np.sqrt(_mean_of_product(out, out, naxes) + eps)
    return out


def _normalize_jacobian_impl(v, x, naxes, eps):
    xh = x - _mean(x, naxes)
    s = 1 / np.sqrt(_mean_of_product(xh, xh, naxes) + eps)
    xh *= s
    out = v - _mean(v, naxes)
    out -= xh * _mean_of_product(xh, v, naxes)
    out *= s
    return out


def _mean(x, naxes):
    """x's mean over its trailing naxes, kept as length-1 axes (NumPy's reduce, no wrapper)."""
    axes = _trailing(x, naxes)
    return np.add.reduce(x, axis=axes, keepdims=True) / math.prod(x.shape[a] for a in axes)


def _mean_of_product(a, b, naxes):
    """mean(a * b) over the trailing naxes (a and b of one shape), kept as length-1 axes:
    for real values by np.vecdot on rows, without the product's temporary array."""
    if a.dtype.kind != "f" or b.dtype.kind != "f":
        return _mean(a * b, naxes)
    lead = a.shape[:a.ndim - naxes]
    n = math.prod(a.shape[a.ndim - naxes:])
    rows = np.vecdot(a.reshape(lead + (n,)), b.reshape(lead + (n,)))
    return (rows / n).reshape(lead + (1,) * naxes)


def _row_mean(x, naxes):
    return _mean_op(x, _trailing(x, naxes), keepdims=True)


def _row_stats(x, naxes, eps):
    """x - mean and 1 / sqrt(var + eps) per row, in chainrule ops (differentiable to any
    order); x^ is their product: four passes over x, not normalize's recomputation too."""
    c = x - _row_mean(x, naxes)
    return c, 1 / sqrt(_row_mean(c * c, naxes) + eps)


def _jacobian(v, x, naxes, eps):
    return bind_tensors(normalize_jacobian_p, (v, x), {"naxes": naxes, "eps": eps})


def _jacobian_of_cotangent(c, w, x, naxes, eps, done):
    """J c: normalize_jacobian's VJP for v, and a term of its VJP for x, made once for both
    (see `shared`)."""
    return shared(w, c, lambda: _jacobian(c, x, naxes, eps), done)


def _jacobian_x_jvp(t, w, v, x, naxes, eps):
    cx, s = _row_stats(x, naxes, eps)
    xh = cx * s
    jt = _jacobian(t, x, naxes, eps)
    a = _row_mean(xh * v, naxes)
    return -s * (w * _row_mean(xh * t, naxes) + a * jt + xh * _row_mean(v * jt, naxes))


def _jacobian_x_vjp(c, w, v, x, naxes, eps):
    cx, s = _row_stats(x, naxes, eps)
    xh = cx * s
    a = _row_mean(xh * v, naxes)
    jc = _jacobian_of_cotangent(c, w, x, naxes, eps, done=True)
    return -s * (xh * _row_mean(w * c, naxes) + a * jc + w * _row_mean(xh * c, naxes))


def _same_batch(size, op, vals, batched, params):
    """Both inputs get the batch axis in front; the normalized axes trail, so they stay."""
    return bind(op, tuple(materialize(v, b, size) for v, b in zip(vals, batched)), params)


normalize_p = defop(
    "normalize", _normalize_impl,
    vjp=lambda g, ans, x, naxes, eps: _jacobian(g, x, naxes, eps),
    jvp=lambda t, ans, x, naxes, eps: _jacobian(t, x, naxes, eps),
    doc="(x - mean) / sqrt(var + eps) over the last `naxes` axes.", batch=_same_batch)

normalize_jacobian_p = defop(
    "normalize_jacobian", _normalize_jacobian_impl, nin=2,
    vjp=(lambda c, ans, v, x, naxes, eps: _jacobian_of_cotangent(
             c, ans, x, naxes, eps, done=not x.requires_grad),
         lambda c, ans, v, x, naxes, eps: _jacobian_x_vjp(c, ans, v, x, naxes, eps)),
    jvp=(lambda t, ans, v, x, naxes, eps: _jacobian(t, x, naxes, eps),
         lambda t, ans, v, x, naxes, eps: _jacobian_x_jvp(t, ans, v, x, naxes, eps)),
    doc="normalize's (symmetric) Jacobian at x applied to v: its VJP and its JVP.",
    batch=_same_batch)


def normalize(x, naxes=1, eps=1e-5):
    """(x - mean) / sqrt(var + eps), mean and (biased) variance over the last `naxes` axes."""
    x = as_tensor(x)
    if not 0 < naxes <= x.ndim:
        raise ValueError(f"normalize: cannot normalize the last {naxes} axes of an input of "
                         f"shape {x.shape}")
    return bind_tensors(normalize_p, (x,), {"naxes": int(naxes), "eps": float(eps)})


# ----- cross-entropy on logits with integer targets -----------------------------------

def _picked(x, target):
    """x[n, target[n], ...] along axis 1, keeping that axis."""
    if x.ndim == 2:
        return x[np.arange(x.shape[0]), target][:, None]
    return np.take_along_axis(x, np.expand_dims(target, 1), axis=1)


def _cross_entropy_impl(logits, target):
    shifted = logits - logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return (lse - _picked(shifted, target))[:, 0]


def _cross_entropy_grad_impl(logits, target):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    if e.ndim == 2:
        e[np.arange(e.shape[0]), target] -= 1
    else:
        np.put_along_axis(e, np.expand_dims(target, 1), _picked(e, target) - 1, axis=1)
    return e


def _ce_grad(logits, target):
    return bind_tensors(cross_entropy_grad_p, (logits,), {"target": target})


def _softmax_jacobian_apply(v, logits):
    s = softmax(logits, axis=1)
    return s * (v - _sum(v * s, 1, keepdims=True))


cross_entropy_p = defop(
    "cross_entropy", _cross_entropy_impl,
    vjp=lambda g, ans, logits, target: expand_dims(g, 1) * _ce_grad(logits, target),
    jvp=lambda t, ans, logits, target: _sum(t * _ce_grad(logits, target), 1),
    doc="Per-sample -log softmax(logits)[target] along axis 1 (targets are integers).",
    batch=fold_into_samples((0,), tiled_param="target"))

cross_entropy_grad_p = defop(
    "cross_entropy_grad", _cross_entropy_grad_impl,
    vjp=lambda h, ans, logits, target: _softmax_jacobian_apply(h, logits),
    jvp=lambda t, ans, logits, target: _softmax_jacobian_apply(t, logits),
    doc="softmax(logits) - onehot(target) along axis 1: cross_entropy's gradient.",
    batch=fold_into_samples((0,), tiled_param="target"))


def cross_entropy_per_sample(logits, target):
    """-log_softmax(logits, axis=1) at the integer `target`: shape of `target`."""
    logits = as_tensor(logits)
    target = np.asarray(target)
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype "
                        f"{target.dtype}")
    if logits.ndim < 1 or target.shape != logits.shape[:1] + logits.shape[2:]:
        raise ValueError(f"cross_entropy: logits of shape {logits.shape} need targets of shape "
                         f"{logits.shape[:1] + logits.shape[2:]}, got {target.shape}")
    if target.size and (target.min() < 0 or target.max() >= logits.shape[1]):
        raise ValueError(f"cross_entropy: targets must lie in [0, {logits.shape[1]}), got "
                         f"values from {target.min()} to {target.max()}")
    return bind_tensors(cross_entropy_p, (logits,), {"target": target})
