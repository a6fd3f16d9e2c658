"""`check_grads`: compare every mode and order of differentiation with central differences."""

from __future__ import annotations

import numpy as np

from .core import TensorBase, no_grad
from .ops.shape import concatenate, reshape
from .tensor import Tensor
from .transforms.api import jvp, vjp


class GradientCheckError(AssertionError):
    """A derivative disagreed with finite differences."""


def _wide(dtype):
    """complex128 for complex data, float64 otherwise: the precision differences need."""
    return np.complex128 if np.dtype(dtype).kind == "c" else np.float64


def _as_array_args(args):
    out = []
    for a in args:
        a = np.asarray(a.data if isinstance(a, TensorBase) else a)
        out.append(a.astype(_wide(a.dtype)))
    return out


def _value(f, arrays):
    with no_grad():
        out = f(*[Tensor(a) for a in arrays])
    out = np.asarray(out.data if isinstance(out, TensorBase) else out)
    return out.astype(_wide(out.dtype))


def _numeric_directional(f, arrays, directions, eps):
    """Central difference of f along `directions` (one per argument)."""
    plus = [a + eps * d for a, d in zip(arrays, directions)]
    minus = [a - eps * d for a, d in zip(arrays, directions)]
    return (_value(f, plus) - _value(f, minus)) / (2 * eps)


def _random_like(rng, arrays):
    """Directions (cotangents) like `arrays`: complex ones explore the complex plane."""
    out = []
    for a in arrays:
        d = rng.standard_normal(a.shape)
        out.append(d + 1j * rng.standard_normal(a.shape) if a.dtype.kind == "c" else d)
    return out


def _pairing(cotangent, value):
    """<c, v> = Re(sum(c v)): the pairing of JAX's convention (docs/complex.md)."""
    return float(np.real(np.sum(cotangent * value)))


def _report(mode, order, what, expected, got, atol, rtol):
    expected, got = np.broadcast_arrays(np.asarray(expected), np.asarray(got))
    err = np.abs(expected - got) - (atol + rtol * np.abs(expected))
    worst = tuple(int(i) for i in np.unravel_index(
        np.nanargmax(np.where(np.isnan(err), np.inf, err)), err.shape)) \
        if err.size else ()
    raise GradientCheckError(
        f"check_grads: {mode} mode, order {order}, {what}: worst entry at index {worst}: "
        f"finite differences give {expected[worst] if err.size else expected}, "
        f"the engine gives {got[worst] if err.size else got} (atol={atol}, rtol={rtol})")


def _close(expected, got, atol, rtol):
    expected = np.asarray(expected)
    got = np.asarray(got)
    return expected.shape == got.shape and np.allclose(got, expected, atol=atol, rtol=rtol,
                                                       equal_nan=False)


def _check_fwd(f, arrays, rng, eps, atol, rtol, order):
    directions = _random_like(rng, arrays)
    expected = _numeric_directional(f, arrays, directions, eps)
    _, got = jvp(f, [Tensor(a) for a in arrays], [Tensor(d) for d in directions])
    if not _close(expected, got.data, atol, rtol):
        _report("fwd", order, "directional derivative along a random tangent", expected,
                got.data, atol, rtol)


def _check_rev(f, arrays, rng, eps, atol, rtol, order):
    out = _value(f, arrays)
    cotangent = _random_like(rng, [out])[0]
    _, vjp_fn = vjp(f, *[Tensor(a) for a in arrays])
    grads = vjp_fn(Tensor(cotangent))
    # <cotangent, J v> by differences must equal <J^T cotangent, v> from the sweep; only
    # on a mismatch is the whole J^T cotangent differenced, to name the worst entry.
    directions = _random_like(rng, arrays)
    for i, (g, d) in enumerate(zip(grads, directions)):
        if g.shape != arrays[i].shape:
            raise GradientCheckError(f"check_grads: rev mode, order {order}, argument {i}: "
                                     f"gradient has shape {g.shape}, argument {arrays[i].shape}")
        single = [np.zeros_like(x) for x in directions]
        single[i] = d
        expected = _pairing(cotangent, _numeric_directional(f, arrays, single, eps))
        if not _close(expected, _pairing(g.data, d), atol, rtol * max(1.0, abs(expected))):
            full = np.zeros(arrays[i].shape, arrays[i].dtype)
            units = (1.0, 1j) if full.dtype.kind == "c" else (1.0,)
            for idx in np.ndindex(full.shape):
                for unit in units:   # <g, e> = Re(g), <g, i e> = -Im(g)
                    single[i] = np.zeros_like(d)
                    single[i][idx] = unit
                    part = _pairing(cotangent, _numeric_directional(f, arrays, single, eps))
                    full[idx] += part if unit == 1.0 else -1j * part
            _report("rev", order, f"argument {i}", full, g.data, atol, rtol)


def _derivative_fn(f, mode, rng, arrays):
    """A function of the same arguments returning a first derivative, for the next order."""
    if mode == "fwd":
        directions = [Tensor(d) for d in _random_like(rng, arrays)]
        return lambda *xs: jvp(f, xs, directions)[1]
    out = _value(f, arrays)
    cotangent = Tensor(_random_like(rng, [out])[0])

    def grads_dot(*xs):
        _, vjp_fn = vjp(f, *xs)
        gs = vjp_fn(cotangent)
        total = None
        for g, w in zip(gs, weights):
            term = (g * w).sum()
            total = term if total is None else total + term
        return total

    weights = [Tensor(w) for w in _random_like(rng, arrays)]
    return grads_dot


def _one_output(f):
    """f with a tuple or list of outputs (cr.split, cr.gradient, ...) joined into one flat
    tensor, so that every output is checked."""
    def joined(*xs):
        out = f(*xs)
        if not isinstance(out, (tuple, list)):
            return out
        leaves, stack = [], [out]
        while stack:
            item = stack.pop()
            if isinstance(item, (tuple, list)):
                stack.extend(reversed(item))
            else:
                leaves.append(reshape(item, -1))
        return concatenate(leaves) if leaves else out
    return joined


def check_grads(f, args, order=2, modes=("fwd", "rev"), eps=1e-6, atol=1e-5, rtol=1e-4,
                seed=0):
    """Check f's derivatives of every order up to `order` in every mode against central
    differences in float64; raise GradientCheckError naming argument, mode, order and the
    worst entry. Higher orders check each mode of the derivative of every mode's derivative.
    """
    rng = np.random.default_rng(seed)
    arrays = _as_array_args(args if isinstance(args, (tuple, list)) else (args,))
    funcs = [(_one_output(f), ())]
    for k in range(1, order + 1):
        next_funcs = []
        for fn, path in funcs:
            for mode in modes:
                label = "/".join(path + (mode,))
                checker = _check_fwd if mode == "fwd" else _check_rev
                try:
                    checker(fn, arrays, rng, eps, atol, rtol, k)
                except GradientCheckError as err:
                    raise GradientCheckError(f"{err} [derivative path: {label}]") from None
                if k < order:
                    next_funcs.append((_derivative_fn(fn, mode, rng, arrays), path + (mode,)))
        funcs = next_funcs
    return True


__all__ = ["check_grads", "GradientCheckError"]
