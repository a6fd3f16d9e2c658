"""`cr.scipy.integrate.odeint`: an adaptive Dormand-Prince (RK45) solver, differentiable in
y0, t and the extra arguments.

Reverse mode uses the adjoint method (Chen et al. 2018, "Neural Ordinary Differential
Equations"): one backward solve of the augmented system [y, a, a_args] instead of
differentiating through the solver's steps. Forward mode integrates the sensitivity
system (y, ydot). Both are solved with the same integrator written in chainrule ops, so
the rules are themselves differentiable (second derivatives go through the adjoint
solve). Values agree with the exact solution to the tolerances rtol/atol.
"""

from __future__ import annotations

import weakref

import numpy as np

from ..core import TensorBase, _new_tensor, is_mapped, no_grad
from ..ops._define import as_tensor, coerce
from ..ops.reduce import sum as _sum
from ..ops.shape import Variadic, concatenate, getitem, reshape, stack
from ..transforms.api import jvp as _jvp
from ..transforms.api import vjp as _vjp
from ._define import defop

# Dormand and Prince (1980): nodes, stages, 5th-order weights and the error weights.
_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
_A = ((), (1 / 5,), (3 / 40, 9 / 40), (44 / 45, -56 / 15, 32 / 9),
      (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
      (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
      (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84))
_B = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0)
_E = (71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40)


def _combine(state, h, weights, ks):
    """state + h * sum_i weights_i * ks_i, component by component."""
    out = []
    for j, y in enumerate(state):
        total = y
        for w, k in zip(weights, ks):
            if w:
                total = total + (h * w) * k[j]
        out.append(total)
    return out


def _error_ratio(state, new, ks, h, rtol, atol):
    """The RMS of the local error estimate over its tolerance (accept the step if <= 1)."""
    total, count = 0.0, 0
    for j, y in enumerate(state):
        err = h * sum(e * k[j].data for e, k in zip(_E, ks) if e)
        scale = atol + rtol * np.maximum(np.abs(y.data), np.abs(new[j].data))
        total += float(np.sum((err / scale) ** 2))
        count += err.size
    return np.sqrt(total / max(count, 1))


def _initial_step(state, f0, span, rtol, atol):
    d0 = max(float(np.sqrt(np.mean((y.data / (atol + rtol * np.abs(y.data))) ** 2)))
             for y in state)
    d1 = max(float(np.sqrt(np.mean((k.data / (atol + rtol * np.abs(y.data))) ** 2)))
             for y, k in zip(state, f0))
    h = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    return min(h, abs(span))


def _solve(dynamics, state, ts, rtol, atol, mxstep, name="odeint"):
    """The states at each time of `ts` (floats, monotonic), from `state` at ts[0]."""
    out = [state]
    t = ts[0]
    k1 = dynamics(state, t)
    h = _initial_step(state, k1, ts[-1] - ts[0], rtol, atol) if len(ts) > 1 else 0.0
    steps = 0
    for t_next in ts[1:]:
        direction = 1.0 if t_next >= t else -1.0
        while direction * (t_next - t) > 0:
            if steps >= mxstep:
                raise RuntimeError(f"{name}: more than mxstep={mxstep} steps; raise mxstep "
                                   "or loosen rtol/atol (is the system stiff?)")
            step = direction * min(h, direction * (t_next - t))
            ks = [k1]
            for i in range(1, 7):
                ks.append(dynamics(_combine(state, step, _A[i], ks), t + _C[i] * step))
            new = _combine(state, step, _B, ks)
            ratio = _error_ratio(state, new, ks, step, rtol, atol)
            steps += 1
            if ratio <= 1.0:
                landed = abs(step) >= abs(t_next - t)
                t = t_next if landed else t + step
                state, k1 = new, ks[6]
            factor = 10.0 if ratio == 0 else min(10.0, max(0.2, 0.9 * ratio ** -0.2))
            h = abs(step) * factor
        out.append(state)
    return out


def _times(t):
    return [float(v) for v in np.asarray(t.data, dtype=np.float64)]


def _forward(func, y0, t, args, rtol, atol, mxstep):
    states = _solve(lambda s, tt: [func(s[0], tt, *args)], [y0], _times(t), rtol, atol,
                    mxstep)
    return stack([s[0] for s in states])


def _impl(y0, t, *args, func, rtol, atol, mxstep):
    with no_grad():
        ys = _forward(func, _new_tensor(y0), _new_tensor(t), [_new_tensor(a) for a in args],
                      rtol, atol, mxstep)
    return ys.data


# ----- the rules: augmented systems solved by odeint itself ------------------------------
# Each rule solves a larger ODE with the odeint primitive over (a slice of) the same times
# tensor, so a derivative of a rule differentiates through t as well: every order works.

def _vdot(a, b):
    return _sum(a * b)


def _pack(parts):
    return concatenate([reshape(p, (-1,)) for p in parts])


def _unpack(flat, shapes):
    out, start = [], 0
    for shape in shapes:
        n = int(np.prod(shape, dtype=int))
        out.append(reshape(getitem(flat, (slice(start, start + n),)), shape))
        start += n
    return out


def _zeros(x):
    return as_tensor(np.zeros(x.shape, x.dtype))


def _adjoint(g, ys, y0, t, args, func, rtol, atol, mxstep):
    """Cotangents of (y0, t, *args) given the cotangent g of ys, by backward solves of
    [y, a, a_args]' = [f, -a df/dy, -a df/dargs] between consecutive times."""
    n = t.shape[0]
    shapes = [y0.shape, y0.shape] + [x.shape for x in args]

    def augmented(state, tt, *args):
        y, a = _unpack(state, shapes)[:2]
        dy, pullback = _vjp(lambda y, *args: func(y, tt, *args), y, *args)
        return _pack([dy] + [-c for c in pullback(a)])

    a, a_args = getitem(g, (n - 1,)), [_zeros(x) for x in args]
    t_bars = [None] * n
    for i in range(n - 1, 0, -1):
        t_i, y_i = getitem(t, (i,)), getitem(ys, (i,))
        t_bars[i] = _vdot(getitem(g, (i,)), func(y_i, t_i, *args))
        segment = stack([t_i, getitem(t, (i - 1,))])
        back = odeint_p(_pack([y_i, a] + a_args), segment, *args, func=augmented,
                        rtol=rtol, atol=atol, mxstep=mxstep)
        _, a, *a_args = _unpack(getitem(back, (1,)), shapes)
        if i > 1:
            a = a + getitem(g, (i - 1,))
    if n == 1:
        return [getitem(g, (0,)), None] + a_args
    t_bars[0] = -_vdot(a, func(y0, getitem(t, (0,)), *args))
    return [a + getitem(g, (0,)), stack(t_bars)] + a_args


# The sweep asks for each input's cotangent in turn; one adjoint solve serves them all.
_last_adjoint: list = [None, None, None]


def _vjp_rule(i, g, ans, y0, t, *args, func, rtol, atol, mxstep):
    g_ref, ans_ref, result = _last_adjoint
    if g_ref is None or g_ref() is not g or ans_ref() is not ans:
        result = _adjoint(g, ans, y0, t, args, func, rtol, atol, mxstep)
        _last_adjoint[:] = [weakref.ref(g), weakref.ref(ans), result]
    return result[i]


def _jvp_rule(tangents, ans, y0, t, *args, func, rtol, atol, mxstep):
    """Forward sensitivities: [y, ydot]' = [f, df/dy ydot + df/dargs argsdot]."""
    ty0, tt, targs = tangents[0], tangents[1], list(tangents[2:])
    targs = [_zeros(x) if d is None else d for x, d in zip(args, targs)]
    ydot = _zeros(y0) if ty0 is None else ty0
    if tt is not None:   # moving t0 shifts the start: dy(t)/dt0 = -Phi(t, t0) f(y0, t0)
        ydot = ydot - func(y0, getitem(t, (0,)), *args) * getitem(tt, (0,))
    k = len(args)

    def augmented(state, tc, *both):
        f = lambda y, *a: func(y, tc, *a)  # noqa: E731
        dy, dydot = _jvp(f, (getitem(state, (0,)), *both[:k]),
                         (getitem(state, (1,)), *both[k:]))
        return stack([dy, dydot])

    sens = odeint_p(stack([y0, ydot]), t, *args, *targs, func=augmented, rtol=rtol,
                    atol=atol, mxstep=mxstep)
    out = getitem(sens, (slice(None), 1))
    if tt is not None:   # the output at t_i moves with t_i at speed f(y_i, t_i)
        moves = [func(getitem(ans, (i,)), getitem(t, (i,)), *args) * getitem(tt, (i,))
                 for i in range(t.shape[0])]
        out = out + stack(moves)
    return out


odeint_p = defop("odeint", _impl, nin=2, vjp=Variadic(_vjp_rule), jvp_joint=_jvp_rule,
                 doc="The solution of dy/dt = func(y, t, *args) at the times t.")


def odeint(func, y0, t, *args, rtol=1.4e-8, atol=1.4e-8, mxstep=np.inf, hmax=np.inf,
           **kwargs):
    """y(t) for dy/dt = func(y, t, *args), y(t[0]) = y0, as an array of shape (len(t),) +
    y0.shape; t is monotonic. The extra arguments come as JAX passes them (`*args`) or as
    SciPy does (one tuple, or `args=(...)`)."""
    if "args" in kwargs:
        args = tuple(args) + tuple(kwargs.pop("args"))
    elif len(args) == 1 and isinstance(args[0], tuple):
        args = args[0]
    if kwargs:
        raise TypeError(f"odeint: unexpected arguments {sorted(kwargs)}")
    if hmax != np.inf:
        raise NotImplementedError("odeint: hmax is not supported")
    y0, t, *args = coerce((y0, t) + tuple(args))
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"odeint: t must be a 1-D array of times, got shape {t.shape}")
    if not is_mapped(t):   # under vmap each example's times are checked by the solve
        diffs = np.diff(t.data)
        if not (np.all(diffs > 0) or np.all(diffs < 0)):
            raise ValueError("odeint: t must be strictly increasing or strictly decreasing")
    out = func(y0, getitem(t, (0,)), *args)
    if not isinstance(out, TensorBase) or out.shape != y0.shape:
        raise ValueError(f"odeint: func(y, t, *args) must return a tensor of y0's shape "
                         f"{y0.shape}, got {getattr(out, 'shape', type(out).__name__)}")
    return odeint_p(y0, t, *args, func=func, rtol=float(rtol), atol=float(atol),
                    mxstep=mxstep)


__all__ = ["odeint"]
