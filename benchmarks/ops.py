"""Per-primitive speed: chainrule fwd+bwd and fwd+JVP against hand NumPy and PyTorch CPU.

Every built-in primitive (`chainrule.core.builtin_primitives()`) has a row in `SPECS`: how
to make its inputs at a size (0-d, 1e3, 1e6 elements; matrices of matching size), how
chainrule calls it, the NumPy floor (the forward plus the derivative products written by
hand; the JVP column is timed against the same floor) and, where torch has the op, the
PyTorch call (fwd+bwd and torch.func.jvp). Primitives without a derivative (masks,
comparisons, integer positions) are timed forward only. One thread, medians of
interleaved rounds; each timed sample loops until it lasts about 2 ms, so small sizes are
not timed cold. Times are the process's CPU time (cpu_timing.py), so the time spent
waiting for a core on a shared machine is not counted. Each row first checks chainrule's
gradient against the hand-written one.
Run: python benchmarks/ops.py [--quick] [--only exp,sum] [--dtype float32] [--sizes 1e3]
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import chainrule as cr  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402
from chainrule.core import builtin_primitives  # noqa: E402
from cpu_timing import cpu_seconds, interleaved  # noqa: E402
from timing import table  # noqa: E402

torch = None  # imported by main(): the completeness test must not need it
SIZES = {"0-d": 1, "1e3": 1000, "1e6": 1000 * 1000}
P = builtin_primitives()


@dataclass
class Spec:
    """One primitive's benchmark: inputs, chainrule call, NumPy floor, torch call."""

    make: Callable            # (rng, n, dtype) -> tuple of arrays
    cr: Callable              # tensors -> tensor
    floor: Callable           # (*arrays, g) -> gradients of the float inputs (None: skipped);
    #                           for a primitive without derivative: (*arrays) -> value
    torch: Callable | None = None
    check: bool = True        # compare chainrule's gradient with the floor's


# ----- inputs -----------------------------------------------------------------------------

def vec(n):
    """0-d, a 1,000-vector or a 1000 x 1000 matrix: the elementwise shapes."""
    return {1: (), 1000: (1000,)}.get(n, (1000, n // 1000))


def mat(n):
    """A matrix of about n entries: (1, 1), (25, 40), (1000, 1000)."""
    return {1: (1, 1), 1000: (25, 40)}.get(n, (1000, n // 1000))


def square(n):
    """A square matrix of about n entries: 1 x 1, 32 x 32, 1000 x 1000."""
    m = max(1, int(round(math.sqrt(n))))
    return (m, m) if n != 1000 else (32, 32)


def image(n):
    """NCHW images of about n entries."""
    return {1: (1, 1, 2, 2), 1000: (1, 4, 16, 16)}.get(n, (16, 16, 64, 64))


def normal(*shapes_of):
    return lambda rng, n, dt: tuple(rng.standard_normal(s(n)).astype(dt) for s in shapes_of)


def uniform(lo, hi, k=1, shape=vec):
    return lambda rng, n, dt: tuple(rng.uniform(lo, hi, shape(n)).astype(dt) for _ in range(k))


def complex_normal(rng, n, dt):
    c = np.complex64 if dt == np.float32 else np.complex128
    return ((rng.standard_normal(vec(n)) + 1j * rng.standard_normal(vec(n))).astype(c),)


def spd(rng, n, dt):
    m = rng.standard_normal(square(n))
    return ((m @ m.T + m.shape[0] * np.eye(m.shape[0])).astype(dt),)


def well_conditioned(rng, n, dt):
    m = rng.standard_normal(square(n))
    return ((m + m.shape[0] * np.eye(m.shape[0])).astype(dt),)


def with_ints(make, ints):
    """Float inputs from `make`, then integer arrays from ints(rng, arrays)."""
    return lambda rng, n, dt: (lambda xs: xs + ints(rng, xs))(make(rng, n, dt))


# ----- chainrule and torch calls ----------------------------------------------------------

def prim(name, **params):
    """Call the primitive itself (for the fused derivative primitives users never call)."""
    return lambda *xs: P[name](*xs, **params)


def tfn(name, **kw):
    """torch.<name>, looked up when called (torch is optional)."""
    return lambda *xs: getattr(torch, name)(*xs, **kw)


# ----- NumPy floors -----------------------------------------------------------------------

def _times(g, slope):
    """g * slope as a hand-writer would: no multiply by +-1."""
    if isinstance(slope, float) and abs(slope) == 1.0:
        return g if slope > 0 else -g
    return g * slope


def unary(fwd, slope):
    """Floor of an elementwise op: forward, then g times the slope (x, y) by hand."""
    def floor(x, g):
        y = fwd(x)
        return [_times(g, slope(x, y))]
    return floor


def binary(fwd, slopes):
    def floor(x, y, g):
        o = fwd(x, y)
        return [None if s is None else _times(g, s) for s in slopes(x, y, o)]
    return floor


def _then(fwd, backward):
    """A floor: the forward, then the hand-written backward."""
    def floor(*args):
        fwd(*args[:-1])
        return backward(*args)
    return floor


def forward(fn):
    """Floor of a primitive without derivative: its NumPy forward."""
    return fn


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _windows(x, k):
    return np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))


def conv_fwd(x, w):
    return np.einsum("nchwij,ocij->nohw", _windows(x, w.shape[2]), w, optimize=True)


def conv_dx(g, w):
    k = w.shape[2]
    gp = np.pad(g, ((0, 0), (0, 0), (k - 1, k - 1), (k - 1, k - 1)))
    return np.einsum("nohwij,ocij->nchw", _windows(gp, k), w[:, :, ::-1, ::-1], optimize=True)


def conv_dw(x, g, k):
    return np.einsum("nchwij,nohw->ocij", _windows(x, k), g, optimize=True)


def _pool_view(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2)


def _pool_mask(x):
    v = _pool_view(x)
    return v == v.max(axis=(3, 5), keepdims=True)


def _spread(g, mask):
    return (g[:, :, :, None, :, None] * mask).reshape(mask.shape[0], mask.shape[1],
                                                      -1, mask.shape[4] * 2)


def _attention(q, k, v, g):
    s = q.shape[-1] ** -0.5
    p = _softmax(q @ k.swapaxes(-1, -2) * s)
    _ = p @ v   # the forward's output
    dv = p.swapaxes(-1, -2) @ g
    dp = g @ v.swapaxes(-1, -2)
    ds = p * (dp - (dp * p).sum(-1, keepdims=True)) * s
    return [ds @ k, ds.swapaxes(-1, -2) @ q, dv]


def _cholesky_floor(a, g):
    lo = np.linalg.cholesky(a)
    phi = np.tril(lo.T @ g)
    phi[np.diag_indices_from(phi)] *= 0.5
    li = np.linalg.inv(lo)
    s = li.T @ phi @ li
    out = np.tril(s + s.T)   # chainrule reads the lower triangle only, as NumPy does
    out[np.diag_indices_from(out)] *= 0.5
    return [out]


def _qr_floor(a, g):
    q, r = np.linalg.qr(a)
    m = r @ g.T
    m = np.tril(m) + np.tril(m, -1).T
    return [np.linalg.solve(r, (q @ m).T).T]


def _pinv_floor(a, g):
    p = np.linalg.pinv(a)
    eye = np.eye(a.shape[0], dtype=a.dtype)
    return [-p.T @ g @ p.T + (eye - a @ p) @ g.T @ p @ p.T + p.T @ p @ g.T @ (eye - p @ a)]


def _eig_floor(a, g):
    w, v = np.linalg.eig(a)
    return [np.real(np.linalg.inv(v).T @ (g[:, None] * v.T))]


def _cumprod_floor(x, g):
    y = np.cumprod(x, axis=-1)
    return [np.flip(np.cumsum(np.flip(g * y, -1), -1), -1) / x]


def _scatter_rows(g, idx, shape):
    out = np.zeros(shape, g.dtype)
    np.put_along_axis(out, idx, g, axis=-1)
    return out


def _permutations(rng, xs):
    return (np.argsort(rng.random(xs[0].shape), axis=-1),)


def _targets(rng, xs):
    return (rng.integers(0, xs[0].shape[1], xs[0].shape[0]),)


def _log_softmax(z):
    shifted = z - z.max(1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(1, keepdims=True))


def _cross_entropy(z, t):
    shifted = z - z.max(1, keepdims=True)
    return np.log(np.exp(shifted).sum(1)) - shifted[np.arange(len(t)), t]


def _onehot(logits, target):
    return np.eye(logits.shape[1], dtype=logits.dtype)[target]


def _win_share(g, x, y):
    return g * (x > y) + g * 0.5 * (x == y)


_SQRT_PI = 2 / math.sqrt(math.pi)


def _erf(x):
    from scipy.special import erf
    return erf(x)


def _shape_specs():
    def mid_rows(n):
        return (slice(None, None, 2),)

    def scatter_make(rng, n, dt):
        return (rng.standard_normal(np.empty(mat(n))[::2].shape).astype(dt),)

    return {
        "sum_to": Spec(normal(mat), lambda x: P["sum_to"](x, shape=(1, x.shape[1])),
                       _then(lambda x: x.sum(0, keepdims=True),
                             lambda x, g: [np.broadcast_to(g, x.shape)])),
        "broadcast_to": Spec(normal(lambda n: mat(n)[1:]),
                             lambda x: cr.broadcast_to(x, (_rows(x.size),) + x.shape),
                             lambda x, g: [g.sum(0)],
                             lambda x: x.expand((_rows(x.numel()),) + tuple(x.shape))),
        "reshape": Spec(normal(mat), lambda x: cr.reshape(x, (-1,)),
                        lambda x, g: [g.reshape(x.shape)], lambda x: x.reshape(-1)),
        "transpose": Spec(normal(mat), lambda x: cr.transpose(x), lambda x, g: [g.T],
                          lambda x: x.T),
        "getitem": Spec(normal(mat), lambda x: x[::2],
                        lambda x, g: [_put(np.zeros_like(x), mid_rows(0), g)],
                        lambda x: x[::2]),
        "scatter_add": Spec(scatter_make, lambda g: P["scatter_add"](
            g, index=mid_rows(0), shape=(2 * g.shape[0], g.shape[1])),
            _then(lambda g: _put(np.zeros((2 * g.shape[0], g.shape[1]), g.dtype), mid_rows(0), g),
                  lambda g, h: [h[::2]])),
        "concatenate": Spec(normal(mat, mat), lambda a, b: cr.concatenate([a, b]),
                            _then(lambda a, b: np.concatenate([a, b]),
                                  lambda a, b, g: [g[:len(a)], g[len(a):]]),
                            lambda a, b: torch.cat([a, b])),
        "pad": Spec(normal(mat), lambda x: cr.pad(x, 1),
                    _then(lambda x: np.pad(x, 1), lambda x, g: [g[1:-1, 1:-1]]),
                    lambda x: torch.nn.functional.pad(x, (1, 1, 1, 1))),
        "identity": Spec(normal(vec), prim("identity"), lambda x, g: [g], lambda x: x * 1),
        "stop_gradient": Spec(normal(vec), cr.stop_gradient, forward(lambda x: x),
                              lambda x: x.detach()),
        "cast": Spec(normal(vec), lambda x: x.astype(_other(x.dtype)),
                     _then(lambda x: x.astype(_other(x.dtype)), lambda x, g: [g.astype(x.dtype)]),
                     lambda x: x.to(torch.float32 if x.dtype == torch.float64
                                    else torch.float64)),
    }


def _rows(columns):
    """The row count of mat(n) for its column count."""
    return {1: 1, 40: 25}.get(columns, 1000)


def _put(out, index, g):
    out[index] = g
    return out


def _other(dtype):
    return np.float32 if dtype == np.float64 else np.float64


def _elementwise_specs():
    std, pos, unit = normal(vec), uniform(0.5, 2.0), uniform(-0.9, 0.9)
    std2, pos2 = normal(vec, vec), uniform(0.5, 2.0, 2)
    u = {  # name: (numpy forward, slope(x, y), torch name, sampler)
        "negative": (np.negative, lambda x, y: -1.0, "neg", std),
        "square": (np.square, lambda x, y: 2.0 * x, "square", std),
        "sqrt": (np.sqrt, lambda x, y: 0.5 / y, "sqrt", pos),
        "abs": (np.abs, lambda x, y: np.sign(x), "abs", std),
        "exp": (np.exp, lambda x, y: y, "exp", std),
        "expm1": (np.expm1, lambda x, y: y + 1.0, "expm1", std),
        "log": (np.log, lambda x, y: 1.0 / x, "log", pos),
        "log1p": (np.log1p, lambda x, y: 1.0 / (1.0 + x), "log1p", pos),
        "sin": (np.sin, lambda x, y: np.cos(x), "sin", std),
        "cos": (np.cos, lambda x, y: -np.sin(x), "cos", std),
        "tan": (np.tan, lambda x, y: 1.0 + y * y, "tan", unit),
        "arcsin": (np.arcsin, lambda x, y: 1.0 / np.sqrt(1.0 - x * x), "asin", unit),
        "arccos": (np.arccos, lambda x, y: -1.0 / np.sqrt(1.0 - x * x), "acos", unit),
        "arctan": (np.arctan, lambda x, y: 1.0 / (1.0 + x * x), "atan", std),
        "sinh": (np.sinh, lambda x, y: np.cosh(x), "sinh", std),
        "cosh": (np.cosh, lambda x, y: np.sinh(x), "cosh", std),
        "tanh": (np.tanh, lambda x, y: 1.0 - y * y, "tanh", std),
        "sigmoid": (lambda x: 1.0 / (1.0 + np.exp(-x)), lambda x, y: y * (1.0 - y),
                    "sigmoid", std),
        "softplus": (lambda x: np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x))),
                     lambda x, y: 1.0 / (1.0 + np.exp(-x)),
                     None, std),
        "relu": (lambda x: np.maximum(x, 0.0), lambda x, y: x > 0, "relu", std),
        "exp2": (np.exp2, lambda x, y: y * math.log(2.0), "exp2", std),
        "arcsinh": (np.arcsinh, lambda x, y: 1.0 / np.sqrt(x * x + 1.0), "asinh", std),
        "arccosh": (np.arccosh, lambda x, y: 1.0 / np.sqrt(x * x - 1.0), "acosh",
                    uniform(1.5, 3.0)),
        "arctanh": (np.arctanh, lambda x, y: 1.0 / (1.0 - x * x), "atanh", unit),
        "cbrt": (np.cbrt, lambda x, y: 1.0 / (3.0 * y * y), None, pos),
        "erf": (_erf, lambda x, y: _SQRT_PI * np.exp(-x * x), "erf", std),
    }
    b = {  # name: (numpy forward, slopes(x, y, out), torch name, sampler)
        "add": (np.add, lambda x, y, o: (1.0, 1.0), "add", std2),
        "subtract": (np.subtract, lambda x, y, o: (1.0, -1.0), "sub", std2),
        "multiply": (np.multiply, lambda x, y, o: (y, x), "mul", std2),
        "divide": (np.divide, lambda x, y, o: (1.0 / y, -o / y), "div", pos2),
        "power": (np.power, lambda x, y, o: (y * o / x, o * np.log(x)), "pow", pos2),
        "maximum": (np.maximum, lambda x, y, o: (x > y, x <= y), "maximum", std2),
        "minimum": (np.minimum, lambda x, y, o: (x < y, x >= y), "minimum", std2),
        "arctan2": (np.arctan2, lambda x, y, o: (y / (x * x + y * y), -x / (x * x + y * y)),
                    "atan2", std2),
        "hypot": (np.hypot, lambda x, y, o: (x / o, y / o), "hypot", std2),
        "logaddexp": (np.logaddexp, lambda x, y, o: (np.exp(x - o), np.exp(y - o)),
                      "logaddexp", std2),
        "logaddexp2": (np.logaddexp2, lambda x, y, o: (np.exp2(x - o), np.exp2(y - o)),
                       "logaddexp2", std2),
        "remainder": (np.remainder, lambda x, y, o: (1.0, -np.floor(x / y)), "remainder",
                      pos2),
        "fmod": (np.fmod, lambda x, y, o: (1.0, -np.trunc(x / y)), "fmod", pos2),
        "copysign": (np.copysign, lambda x, y, o: (
            np.where(np.signbit(x) ^ np.signbit(y), -1.0, 1.0), None), "copysign", std2),
        "tanh_grad": (lambda g, y: g * (1 - y * y), lambda g, y, o: (1 - y * y, -2 * g * y),
                      None, std2),
        "sigmoid_grad": (lambda g, y: g * y * (1 - y),
                         lambda g, y, o: (y * (1 - y), g * (1 - 2 * y)), None, std2),
        "relu_grad": (lambda g, x: g * (x > 0), lambda g, x, o: (x > 0, None), None, std2),
    }
    specs = {}
    for name, (fwd, slope, tname, make) in u.items():
        specs[name] = Spec(make, P[name], unary(fwd, slope), tname and tfn(tname))
    specs["softplus"].torch = lambda x: torch.nn.functional.softplus(x)
    for name, (fwd, slopes, tname, make) in b.items():
        specs[name] = Spec(make, P[name], binary(fwd, slopes), tname and tfn(tname))
    nd1 = {"sign": np.sign, "logical_not": np.logical_not, "isfinite": np.isfinite,
           "floor": np.floor, "ceil": np.ceil, "round": np.round, "trunc": np.trunc,
           "isnan": np.isnan, "isinf": np.isinf, "signbit": np.signbit}
    torch_names = {"round": "round", "logical_not": "logical_not", "trunc": "trunc"}
    for name, fn in nd1.items():
        specs[name] = Spec(std, P[name], forward(fn), tfn(torch_names.get(name, name)))
    nd2 = {"less": np.less, "less_equal": np.less_equal, "greater": np.greater,
           "greater_equal": np.greater_equal, "equal": np.equal, "not_equal": np.not_equal,
           "logical_and": np.logical_and, "logical_or": np.logical_or,
           "logical_xor": np.logical_xor, "floor_divide": np.floor_divide}
    for name, fn in nd2.items():
        specs[name] = Spec(pos2 if name == "floor_divide" else std2, P[name], forward(fn),
                           tfn(name))
    specs["isclose"] = Spec(std2, cr.isclose, forward(np.isclose), tfn("isclose"))
    specs["win_share"] = Spec(normal(vec, vec, vec), P["win_share"],
                              _then(_win_share, lambda g, x, y, h: [_win_share(h, x, y)]))
    specs["where"] = Spec(
        with_ints(std2, lambda rng, xs: (rng.random(xs[0].shape) > 0.5,)),
        lambda x, y, c: cr.where(c, x, y),
        _then(lambda x, y, c: np.where(c, x, y), lambda x, y, c, g: [g * c, g * ~c]),
        lambda x, y, c: torch.where(c, x, y))
    cplx = {  # complex -> real or complex; chainrule's cotangents follow JAX's convention
        "real": (lambda z, g: [g.astype(z.dtype)], "real"),
        "imag": (lambda z, g: [g * -1j], "imag"),
        "conj": (lambda z, g: [np.conj(g)], "conj_physical"),
        "angle": (lambda z, g: [g * -1j * np.conj(z) / (z * np.conj(z)).real], "angle"),
    }
    for name, (fl, tname) in cplx.items():
        fwd = getattr(np, name)
        specs[name] = Spec(complex_normal, P[name], _then(fwd, fl), tfn(tname))
    return specs


def _hit_share_make(rng, n, dt):
    """(g, x, max of x) for hit_share over every axis of x."""
    x = rng.standard_normal(vec(n)).astype(dt)
    return np.asarray(rng.standard_normal(), dt), x, np.asarray(x.max())


def _hit_share(g, x, a):
    hit = x == a
    return hit * (g / np.count_nonzero(hit))


def _reduce_specs():
    std = normal(vec)
    return {
        "hit_share": Spec(_hit_share_make,
                          lambda g, x, a: P["hit_share"](g, x, a, axes=tuple(range(x.ndim)),
                                                         keepdims=False),
                          _then(_hit_share, lambda g, x, a, h: [np.sum(_hit_share(h, x, a))])),
        "sum": Spec(std, lambda x: x.sum(),
                    _then(np.sum, lambda x, g: [np.broadcast_to(g, x.shape)]),
                    lambda x: x.sum()),
        "max": Spec(std, lambda x: x.max(), lambda x, g: [(x == x.max()) * g],
                    lambda x: x.max()),
        "min": Spec(std, lambda x: x.min(), lambda x, g: [(x == x.min()) * g],
                    lambda x: x.min()),
        "prod": Spec(lambda rng, n, dt: (1.0 + rng.standard_normal(vec(n)).astype(dt) / n,),
                     lambda x: x.prod(), lambda x, g: [g * x.prod() / x], lambda x: x.prod()),
        "cumsum": Spec(std, lambda x: cr.cumsum(x, axis=-1) if x.ndim else cr.cumsum(x),
                       _then(lambda x: np.cumsum(x, -1) if x.ndim else x,
                             lambda x, g: [np.flip(np.cumsum(np.flip(g, -1), -1), -1)
                                           if x.ndim else g.reshape(())]),
                       lambda x: torch.cumsum(x.reshape(x.shape or (1,)), -1)),
        "cumprod": Spec(lambda rng, n, dt: (rng.uniform(0.9, 1.1, mat(n)).astype(dt),),
                        lambda x: cr.cumprod(x, axis=-1), _cumprod_floor,
                        lambda x: torch.cumprod(x, -1)),
        "exp_shift": Spec(std, prim("exp_shift", axes=None),
                          forward(lambda x: np.where(np.isfinite(m := x.max(keepdims=True)),
                                                     m, 0.0))),
        "norm": Spec(std, cr.linalg.norm, lambda x, g: [g * x / np.linalg.norm(x)],
                     lambda x: torch.linalg.vector_norm(x)),
        "pnorm": Spec(std, lambda x: cr.linalg.norm(x.reshape(-1), ord=3),
                      lambda x, g: [g * np.abs(x) * x / np.sum(np.abs(x) ** 3) ** (2 / 3)],
                      lambda x: torch.linalg.vector_norm(x, ord=3)),
        "all": Spec(std, lambda x: cr.all(x > -10), forward(lambda x: np.all(x > -10)),
                    lambda x: torch.all(x > -10)),
        "any": Spec(std, lambda x: cr.any(x > 10), forward(lambda x: np.any(x > 10)),
                    lambda x: torch.any(x > 10)),
        "argmax": Spec(std, cr.argmax, forward(np.argmax), tfn("argmax")),
        "argmin": Spec(std, cr.argmin, forward(np.argmin), tfn("argmin")),
        "argsort": Spec(std, lambda x: cr.argsort(x, axis=-1 if x.ndim else None),
                        forward(lambda x: np.argsort(x, axis=-1 if x.ndim else None,
                                                     kind="stable")),
                        lambda x: torch.argsort(x, stable=True) if x.ndim else x),
        "argpartition": Spec(normal(mat), lambda x: cr.argpartition(x, 0, axis=-1),
                             forward(lambda x: np.argpartition(x, 0, axis=-1))),
        "take_along_axis": Spec(with_ints(normal(mat), _permutations),
                                lambda x, i: cr.take_along_axis(x, i, axis=-1),
                                _then(lambda x, i: np.take_along_axis(x, i, -1),
                                      lambda x, i, g: [_scatter_rows(g, i, x.shape)]),
                                lambda x, i: torch.take_along_dim(x, i, -1)),
        "scatter_along_axis": Spec(with_ints(normal(mat), _permutations),
                                   lambda g, i: P["scatter_along_axis"](
                                       g, i, axis=1, shape=g.shape),
                                   _then(lambda g, i: _scatter_rows(g, i, g.shape),
                                         lambda g, i, h: [np.take_along_axis(h, i, -1)])),
    }


def _linalg_specs():
    sq2 = normal(square, square)
    product = _then(np.matmul, lambda a, b, g: [g @ b.T, a.T @ g])
    return {
        "matmul": Spec(sq2, lambda a, b: a @ b, product, lambda a, b: a @ b),
        "einsum": Spec(sq2, lambda a, b: cr.einsum("ij,jk->ik", a, b), product,
                       lambda a, b: torch.einsum("ij,jk->ik", a, b)),
        "inv": Spec(well_conditioned, cr.linalg.inv,
                    lambda a, g: [-(ai := np.linalg.inv(a)).T @ g @ ai.T],
                    lambda a: torch.linalg.inv(a)),
        "det": Spec(well_conditioned, lambda a: cr.linalg.det(a / a.shape[0]),
                    lambda a, g: [g * np.linalg.det(a / len(a)) * np.linalg.inv(a).T],
                    lambda a: torch.linalg.det(a / a.shape[0])),
        "solve": Spec(lambda rng, n, dt: well_conditioned(rng, n, dt) + normal(square)(rng, n, dt),
                      cr.linalg.solve, _solve_floor, lambda a, b: torch.linalg.solve(a, b)),
        "logabsdet": Spec(well_conditioned, lambda a: cr.linalg.slogdet(a)[1],
                          _then(np.linalg.slogdet, lambda a, g: [g * np.linalg.inv(a).T]),
                          lambda a: torch.linalg.slogdet(a)[1]),
        "sign_det": Spec(well_conditioned, lambda a: cr.linalg.slogdet(a)[0],
                         forward(lambda a: np.linalg.slogdet(a)[0]),
                         lambda a: torch.linalg.slogdet(a)[0]),
        "matrix_rank": Spec(normal(square), cr.linalg.matrix_rank,
                            forward(np.linalg.matrix_rank), lambda a: torch.linalg.matrix_rank(a)),
        "cholesky": Spec(spd, cr.linalg.cholesky, _cholesky_floor,
                         lambda a: torch.linalg.cholesky(a)),
        "eigh": Spec(spd, cr.linalg.eigvalsh,
                     lambda a, g: [((v := np.linalg.eigh(a)[1]) * g) @ v.T],
                     lambda a: torch.linalg.eigvalsh(a)),
        "svd": Spec(normal(square), cr.linalg.svdvals,
                    lambda a, g: [((us := np.linalg.svd(a))[0] * g) @ us[2]],
                    lambda a: torch.linalg.svdvals(a)),
        "qr": Spec(well_conditioned, lambda a: cr.linalg.qr(a)[1], _qr_floor,
                   lambda a: torch.linalg.qr(a)[1]),
        "eig": Spec(well_conditioned, cr.linalg.eigvals, _eig_floor,
                    lambda a: torch.linalg.eigvals(a)),
        "pinv": Spec(well_conditioned, cr.linalg.pinv, _pinv_floor,
                     lambda a: torch.linalg.pinv(a)),
    }


def _solve_floor(a, b, g):
    x = np.linalg.solve(a, b)
    gb = np.linalg.solve(a.T, g)
    return [-gb @ x.T, gb]


def _nn_specs():
    def lin_make(rng, n, dt):
        m = square(n)[0]
        return tuple(rng.standard_normal(s).astype(dt) for s in ((m, m), (m, m), (m,)))

    def logits(n):
        return {1: (1, 2), 1000: (100, 10)}.get(n, (10000, 100))

    def qkv(n):
        return {1: (1, 1, 1), 1000: (1, 32, 32)}.get(n, (4, 512, 512))

    def conv_make(rng, n, dt):
        x = rng.standard_normal(image(n))
        c, k = x.shape[1], min(3, x.shape[2])
        return tuple(a.astype(dt) for a in (x, rng.standard_normal((c, c, k, k)) / 3,
                                            rng.standard_normal(c)))

    def conv_grad_make(rng, n, dt):   # (g, w) of conv2d_input_grad
        x, w, _ = conv_make(rng, n, dt)
        return (rng.standard_normal(conv_fwd(x, w).shape).astype(dt), w)

    def conv_wgrad_make(rng, n, dt):  # (x, g) of conv2d_weight_grad
        x, w, _ = conv_make(rng, n, dt)
        return (x, rng.standard_normal(conv_fwd(x, w).shape).astype(dt))

    def in_shape(g, w):
        return (g.shape[0], w.shape[1], g.shape[2] + w.shape[2] - 1, g.shape[3] + w.shape[3] - 1)

    conv_p = {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "groups": 1}
    pool_p = {"kernel": (2, 2), "stride": (2, 2), "padding": (0, 0)}

    def pooled(rng, n, dt):
        x = rng.standard_normal(image(n)).astype(dt)
        return (rng.standard_normal(_pool_view(x).max(axis=(3, 5)).shape).astype(dt), x)

    def spread(rng, n, dt):
        x = rng.standard_normal(image(n)).astype(dt)
        return (x, rng.standard_normal(x.shape).astype(dt))

    return {
        "linear": Spec(lin_make, F.linear,
                       _then(lambda x, w, b: x @ w.T + b,
                             lambda x, w, b, g: [g @ w, g.T @ x, g.sum(0)]),
                       lambda x, w, b: torch.nn.functional.linear(x, w, b)),
        "cross_entropy": Spec(
            with_ints(normal(logits), _targets),
            lambda z, t: P["cross_entropy"](z, target=t),
            _then(_cross_entropy, lambda z, t, g: [g[:, None] * (_softmax(z, 1) - _onehot(z, t))]),
            lambda z, t: torch.nn.functional.cross_entropy(z, t, reduction="none")),
        "log_softmax": Spec(
            normal(logits), lambda z: cr.log_softmax(z, axis=1),
            lambda z, g: [g - np.exp(_log_softmax(z)) * g.sum(1, keepdims=True)],
            lambda z: torch.log_softmax(z, 1)),
        "softmax": Spec(
            normal(logits), lambda z: cr.softmax(z, axis=1),
            lambda z, g: [(p := _softmax(z, 1)) * (g - (g * p).sum(1, keepdims=True))],
            lambda z: torch.softmax(z, 1)),
        "cross_entropy_grad": Spec(
            with_ints(normal(logits), _targets),
            lambda z, t: P["cross_entropy_grad"](z, target=t),
            _then(lambda z, t: _softmax(z, 1) - _onehot(z, t),
                  lambda z, t, h: [(s := _softmax(z, 1)) * (h - (h * s).sum(1, keepdims=True))])),
        "scaled_dot_product_attention": Spec(
            normal(qkv, qkv, qkv), F.scaled_dot_product_attention,
            lambda q, k, v, g: _attention(q, k, v, g),
            lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v)),
        "conv2d": Spec(conv_make, F.conv2d,
                       _then(lambda x, w, b: conv_fwd(x, w) + b[:, None, None],
                             lambda x, w, b, g: [conv_dx(g, w), conv_dw(x, g, w.shape[2]),
                                                 g.sum((0, 2, 3))]),
                       lambda x, w, b: torch.nn.functional.conv2d(x, w, b)),
        "conv2d_input_grad": Spec(
            conv_grad_make, lambda g, w: P["conv2d_input_grad"](
                g, w, x_shape=in_shape(g, w), **conv_p),
            _then(conv_dx, lambda g, w, h: [conv_fwd(h, w), conv_dw(h, g, w.shape[2])]),
            lambda g, w: torch.nn.functional.conv_transpose2d(g, w)),
        "conv2d_weight_grad": Spec(
            conv_wgrad_make, lambda x, g: P["conv2d_weight_grad"](
                x, g, kernel=(x.shape[2] - g.shape[2] + 1,) * 2, **conv_p),
            _then(lambda x, g: conv_dw(x, g, x.shape[2] - g.shape[2] + 1),
                  lambda x, g, h: [conv_dx(g, h), conv_fwd(x, h)])),
        "max_pool2d": Spec(normal(image), lambda x: F.max_pool2d(x, 2),
                           lambda x, g: [_spread(g, _pool_mask(x))],
                           lambda x: torch.nn.functional.max_pool2d(x, 2)),
        "max_pool2d_gather": Spec(
            spread, lambda t, x: P["max_pool2d_gather"](t, x, **pool_p),
            _then(lambda t, x: (_pool_view(t) * _pool_mask(x)).sum(axis=(3, 5)),
                  lambda t, x, g: [_spread(g, _pool_mask(x)), None])),
        "max_pool2d_scatter": Spec(
            pooled, lambda g, x: P["max_pool2d_scatter"](g, x, **pool_p),
            _then(lambda g, x: _spread(g, _pool_mask(x)),
                  lambda g, x, h: [(_pool_view(h) * _pool_mask(x)).sum(axis=(3, 5)), None])),
        "avg_pool2d": Spec(normal(image), lambda x: F.avg_pool2d(x, 2),
                           _then(lambda x: _pool_view(x).mean(axis=(3, 5)),
                                 lambda x, g: [np.repeat(np.repeat(g * 0.25, 2, 2), 2, 3)]),
                           lambda x: torch.nn.functional.avg_pool2d(x, 2)),
        "avg_pool2d_transpose": Spec(
            lambda rng, n, dt: (rng.standard_normal(_pool_view(np.empty(image(n)))
                                                    .max(axis=(3, 5)).shape).astype(dt),),
            lambda g: P["avg_pool2d_transpose"](
                g, x_shape=g.shape[:2] + (2 * g.shape[2], 2 * g.shape[3]), **pool_p),
            _then(lambda g: np.repeat(np.repeat(g * 0.25, 2, 2), 2, 3),
                  lambda g, h: [_pool_view(h).mean(axis=(3, 5))])),
        "linear_input_grad": Spec(
            normal(square, square), prim("linear_input_grad"),
            _then(lambda g, w: g @ w, lambda g, w, h: [h @ w.T, g.T @ h])),
        "linear_weight_grad": Spec(
            normal(square, square), prim("linear_weight_grad"),
            _then(lambda g, x: g.T @ x, lambda g, x, h: [x @ h.T, g @ h])),
        "normalize": Spec(normal(mat), prim("normalize", naxes=1, eps=1e-5),
                          lambda x, g: [_layer_norm_vjp(g, *_layer_norm(x))],
                          lambda x: torch.nn.functional.layer_norm(x, x.shape[-1:])),
        "normalize_jacobian": Spec(normal(mat, mat), prim("normalize_jacobian", naxes=1,
                                                          eps=1e-5),
                                   _normalize_jacobian_floor),
        "attention_probs": Spec(
            normal(qkv, qkv), lambda q, k: P["attention_probs"](
                q, k, mask=None, causal=False, scale=q.shape[-1] ** -0.5),
            _attention_probs_floor,
            lambda q, k: torch.softmax(q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5, -1)),
        "dropout": Spec(normal(vec), lambda x: P["dropout"](x, p=0.5, seed=0),
                        _dropout_floor, lambda x: torch.nn.functional.dropout(x, 0.5),
                        check=False),
    }


def _layer_norm(x, eps=1e-5):
    """x normalized over its last axis, and the inverse standard deviation per row."""
    c = x - x.mean(-1, keepdims=True)
    s = 1 / np.sqrt((c * c).mean(-1, keepdims=True) + eps)
    return c * s, s


def _layer_norm_vjp(g, xh, s):
    """The (symmetric) Jacobian of layer norm applied to g."""
    return s * (g - g.mean(-1, keepdims=True) - xh * (xh * g).mean(-1, keepdims=True))


def _normalize_jacobian_floor(v, x, c):
    xh, s = _layer_norm(x)
    w = _layer_norm_vjp(v, xh, s)   # the forward
    a = (xh * v).mean(-1, keepdims=True)
    dx = -s * (xh * (w * c).mean(-1, keepdims=True) + a * _layer_norm_vjp(c, xh, s)
               + w * (xh * c).mean(-1, keepdims=True))
    return [_layer_norm_vjp(c, xh, s), dx]


def _attention_probs_floor(q, k, c):
    s = q.shape[-1] ** -0.5
    p = _softmax(q @ k.swapaxes(-1, -2) * s)
    ds = p * (c - (c * p).sum(-1, keepdims=True)) * s
    return [ds @ k, ds.swapaxes(-1, -2) @ q]


def _dropout_floor(x, g):
    keep = np.random.default_rng(0).random(x.shape) >= 0.5
    scale = np.asarray(2.0, x.dtype)
    _ = x * keep * scale
    return [g * keep * scale]


def _fft_specs():
    def nd(n):
        return vec(n) or (1,)

    return {
        "fftn": Spec(lambda rng, n, dt: (complex_normal(rng, n, dt)[0].reshape(nd(n)),),
                     cr.fft.fftn, _then(np.fft.fftn, lambda z, g: [np.fft.fftn(g)]),
                     lambda z: torch.fft.fftn(z)),
        "rfftn": Spec(normal(nd), cr.fft.rfftn, _rfftn_floor, lambda x: torch.fft.rfftn(x)),
        "irfftn": Spec(lambda rng, n, dt: (np.fft.rfftn(rng.standard_normal(nd(n)))
                                           .astype(complex_normal(rng, 1, dt)[0].dtype),),
                       lambda z: cr.fft.irfftn(z, s=_even(z.shape)), _irfftn_floor,
                       lambda z: torch.fft.irfftn(z, s=_even(z.shape))),
    }


def _even(shape):
    return tuple(shape[:-1]) + (2 * (shape[-1] - 1) or 1,)


def _rfftn_floor(x, g):
    np.fft.rfftn(x)
    full = np.zeros(x.shape, g.dtype)
    full[..., :g.shape[-1]] = g
    return [np.fft.fftn(full).real]


def _irfftn_floor(z, g):
    np.fft.irfftn(z, s=_even(z.shape), axes=tuple(range(z.ndim)))
    part = np.fft.ifftn(g)[..., :z.shape[-1]]
    w = np.full(z.shape[-1], 2.0)
    w[0] = 1.0
    if g.shape[-1] % 2 == 0:
        w[-1] = 1.0
    return [part * w]


SPECS = {**_shape_specs(), **_elementwise_specs(), **_reduce_specs(), **_linalg_specs(),
         **_nn_specs(), **_fft_specs()}


# ----- timing -----------------------------------------------------------------------------

def _is_float(a):
    return np.asarray(a).dtype.kind in "fc"


def _cr_fwd_bwd(fn, leaves, seed):
    for x in leaves:
        x.grad = None
    fn(*leaves).backward(seed)
    return [None if x.grad is None else x.grad.data for x in leaves]


def _cr_vjp(fn, primals, seed):
    """fwd+bwd of a complex-valued fn (backward() wants a real output): cr.vjp."""
    return [g.data for g in cr.vjp(fn, *primals)[1](seed)]


def _closed_over(fn, arrays):
    """fn as a function of the float inputs alone (the others fixed)."""
    floats = [i for i, a in enumerate(arrays) if _is_float(a)]

    def of_floats(*xs):
        args = list(arrays)
        for i, x in zip(floats, xs):
            args[i] = x
        return fn(*args)
    return of_floats, [arrays[i] for i in floats]


def _looped(fn, target=2e-3):
    """fn repeated so that one timed sample lasts about `target` seconds, and its count."""
    fn()
    number = max(1, int(target / max(cpu_seconds(fn), 1e-7)))

    def loop():
        for _ in range(number):
            fn()
    return loop, number


def _delivering(floor):
    """The floor, its gradients delivered as `.grad` holds them (and PyTorch's
    AccumulateGrad): each a writable array of its own. A result that is the caller's seed,
    another input's gradient or a view of an array (a pass-through rule: add, reshape,
    transpose, sum's broadcast) is copied, as chainrule's leaf accumulation copies it;
    a zero-cost hand-written pass-through would otherwise hand the caller its own seed."""
    def delivered(*args):
        g = args[-1]
        out, seen = [], {id(g)}
        for w in floor(*args):
            if isinstance(w, np.ndarray) and (id(w) in seen or w.base is not None or
                                              not w.flags.writeable):
                w = w.copy()
            seen.add(id(w))
            out.append(w)
        return out
    return delivered


def contenders(name, spec, arrays):
    """The timed functions of one row (after checking chainrule against the floor)."""
    prim_ = P[name]
    tensors = [cr.tensor(a, requires_grad=prim_.differentiable and _is_float(a))
               for a in arrays]
    if not prim_.differentiable:
        fns = {"numpy": lambda: spec.floor(*arrays), "cr": lambda: spec.cr(*tensors)}
        if torch is not None and spec.torch is not None:
            t_in = [torch.from_numpy(np.array(a, order="C")) for a in arrays]
            fns["torch"] = lambda: spec.torch(*t_in)
        return fns
    out = spec.cr(*tensors)
    seed = np.ones(out.shape, out.dtype)
    cr_seed = cr.tensor(seed)
    of_floats, primals = _closed_over(spec.cr, arrays)
    floats = [i for i, a in enumerate(arrays) if _is_float(a)]
    if out.dtype.kind == "c":
        # the float inputs as the tensors made above, as the backward() rows use them (an
        # ndarray primal would be copied by cr.vjp first: docs/reliability.md)
        float_tensors = [tensors[i] for i in floats]

        def cr_bwd():
            return dict(zip(floats, _cr_vjp(of_floats, float_tensors, cr_seed)))
    else:
        def cr_bwd():
            return _cr_fwd_bwd(spec.cr, tensors, cr_seed)
    got = cr_bwd()
    want = spec.floor(*arrays, seed)
    if spec.check:
        for i, w in zip(floats, want):
            if w is None:
                continue
            np.testing.assert_allclose(got[i], np.broadcast_to(w, got[i].shape),
                                       rtol=2e-3 if arrays[0].dtype == np.float32 else 1e-5,
                                       atol=1e-4, err_msg=f"{name}: input {i}")
    tangents = [np.ones_like(a) for a in primals]
    floor = spec.floor if out.dtype.kind == "c" else _delivering(spec.floor)
    fns = {"numpy": lambda: floor(*arrays, seed), "cr": cr_bwd,
           "cr_jvp": lambda: cr.jvp(of_floats, primals, tangents)[1].data}
    if torch is not None and spec.torch is not None:
        t_in = [torch.from_numpy(np.array(a, order="C")) for a in arrays]
        t_seed = torch.from_numpy(seed)
        t_floats, t_primals = _closed_over(spec.torch, t_in)
        t_tangents = [torch.ones_like(a) for a in t_primals]

        def torch_bwd():
            leaves = [a.requires_grad_() if a.is_floating_point() or a.is_complex() else a
                      for a in (x.detach() for x in t_in)]
            spec.torch(*leaves).backward(t_seed)

        fns["torch"] = torch_bwd
        fns["torch_jvp"] = lambda: torch.func.jvp(t_floats, tuple(t_primals),
                                                  tuple(t_tangents))
    return fns


def time_row(name, spec, arrays, budget):
    """Median µs per call of every contender, interleaved, within about `budget` seconds."""
    fns = contenders(name, spec, arrays)
    looped = {k: _looped(f) for k, f in fns.items()}
    per_round = sum(2e-3 * 1.2 if n > 1 else cpu_seconds(f) for f, n in looped.values())
    rounds = int(min(21, max(3, budget / max(per_round, 1e-6))))
    t = interleaved({k: f for k, (f, _) in looped.items()}, rounds)
    return {k: t[k] / looped[k][1] * 1e6 for k in t}, rounds


def _fmt(v):
    return "" if v is None else (f"{v:.1f}" if v < 1e4 else f"{v:.0f}")


def _ratio(a, b):
    return "" if a is None or b is None else f"{a / b:.2f}"


def run(only, dtype, sizes, budget):
    rng = np.random.default_rng(0)
    rows, failed = [], []
    for label in sizes:
        n = SIZES[label]
        for name in sorted(SPECS) if not only else [o for o in sorted(SPECS) if o in only]:
            spec = SPECS[name]
            arrays = [np.asarray(a) for a in spec.make(rng, n, dtype)]
            try:
                us, rounds = time_row(name, spec, arrays, budget)
            except Exception as err:  # noqa: BLE001 - report every broken row, then fail
                failed.append(f"{name} {label}: {type(err).__name__}: {err}")
                print(failed[-1][:2000], flush=True)
                continue
            kind = "fwd+bwd" if P[name].differentiable else "fwd only"
            row = (name, label, kind, _fmt(us["numpy"]), _fmt(us["cr"]), _fmt(us.get("cr_jvp")),
                   _fmt(us.get("torch")), _fmt(us.get("torch_jvp")),
                   _ratio(us["cr"], us["numpy"]), _ratio(us.get("cr_jvp"), us["numpy"]),
                   _ratio(us["cr"], us.get("torch")), _ratio(us.get("cr_jvp"), us.get("torch_jvp")))
            rows.append(row)
            print(" | ".join(row), f"({rounds} rounds)", flush=True)
    if failed:
        raise SystemExit(f"{len(failed)} rows failed:\n" + "\n".join(failed))
    return rows


HEADERS = ["op", "size", "timed", "NumPy µs", "cr µs", "cr JVP µs", "torch µs", "torch JVP µs",
           "cr/NumPy", "JVP/NumPy", "cr/torch", "JVP/torch JVP"]


def misses(rows):
    """Rows over the targets: 1.3x NumPy at 1e6, 2x at 1e3."""
    limit = {"1e6": 1.3, "1e3": 2.0}
    return [r for r in rows if r[1] in limit and float(r[8]) > limit[r[1]]]


def main():
    global torch
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short rounds, 0-d and 1e3 only")
    parser.add_argument("--only", default="", help="comma-separated primitive names")
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--sizes", default="", help="comma-separated: 0-d,1e3,1e6")
    args = parser.parse_args()
    try:
        import torch as torch_module
        torch_module.set_num_threads(1)
        torch = torch_module
    except ImportError:  # the bench extra is optional
        pass
    from threadpoolctl import threadpool_limits
    gc.collect()
    gc.freeze()   # the imported modules' objects are not rescanned by every collection
    sizes = args.sizes.split(",") if args.sizes else (
        ["0-d", "1e3"] if args.quick else list(SIZES))
    only = set(filter(None, args.only.split(",")))
    with threadpool_limits(1):
        rows = run(only, np.dtype(args.dtype), sizes, 0.2 if args.quick else 0.8)
    print()
    print(table(rows, HEADERS))
    slow = misses(rows)
    print(f"\n{len(slow)} of {len(rows)} rows miss the target (1.3x at 1e6, 2x at 1e3):",
          ", ".join(f"{r[0]}@{r[1]}" for r in slow) or "none")


if __name__ == "__main__":
    main()
