"""cr.scipy.integrate.odeint: adjoint (reverse) and sensitivity (forward) rules."""

import numpy as np

import chainrule as cr
from chainrule.scipy.integrate import odeint

from . import OpCase

T = np.array([0.0, 0.4, 0.8])


def _decay(y0, k):
    return odeint(lambda y, t, k: -k * y + cr.sin(t) * y * y * 0.1, y0, T, k,
                  rtol=1e-10, atol=1e-10)


def _oscillator(y0, t, w):
    def f(y, t, w):
        return cr.stack([y[1], -w * w * y[0] - 0.1 * y[1]])
    return odeint(f, y0, t, w, rtol=1e-9, atol=1e-9)


CASES = [
    OpCase("odeint", _decay, lambda rng: (rng.uniform(0.5, 1.0, 2), 0.7), "decay"),
    OpCase("odeint", _oscillator, lambda rng: (np.array([1.0, 0.0]), np.array([0.0, 0.3, 0.6]),
                                               np.array(1.3)), "oscillator-and-times"),
]
