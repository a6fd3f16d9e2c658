"""cr.scipy.special's primitives (SciPy is a test dependency)."""

import numpy as np

import chainrule.scipy.special as sp

from . import OpCase, normal, positive


def unit(*shapes):
    return lambda rng: tuple(rng.uniform(0.1, 0.9, s) for s in shapes)


CASES = [
    OpCase("gammaln", sp.gammaln, positive((4,), low=0.5, high=5.0)),
    OpCase("digamma", sp.digamma, positive((4,), low=0.5, high=5.0)),
    OpCase("polygamma", lambda x: sp.polygamma(2, x), positive((4,), low=0.5, high=5.0)),
    OpCase("gamma", sp.gamma, positive((4,), low=0.5, high=4.0)),
    OpCase("rgamma", sp.rgamma, positive((4,), low=0.5, high=4.0)),
    OpCase("rgamma", sp.rgamma, lambda rng: (np.array([-2.6, -1.0, -0.4, 0.0]),), "poles"),
    OpCase("gammasgn", lambda x: sp.gammasgn(x) * x, lambda rng: (
        np.array([-2.6, -1.3, -0.4, 0.7]),)),
    OpCase("betaln", sp.betaln, positive((2, 3), (3,), low=0.5, high=4.0)),
    OpCase("beta", sp.beta, positive((3,), (3,), low=0.5, high=4.0)),
    OpCase("gammainc", lambda x: sp.gammainc(2.5, x), positive((4,), low=0.5, high=4.0)),
    OpCase("gammaincc", lambda x: sp.gammaincc(np.array([0.5, 1.0, 3.0, 4.0]), x),
           positive((4,), low=0.5, high=4.0)),
    OpCase("xlogy", sp.xlogy, lambda rng: (rng.standard_normal(4), rng.uniform(0.5, 2, 4))),
    OpCase("xlog1py", sp.xlog1py, lambda rng: (rng.standard_normal(4), rng.uniform(0, 2, 4))),
    OpCase("erfc", sp.erfc, normal((5,))),
    OpCase("erfinv", sp.erfinv, lambda rng: (rng.uniform(-0.8, 0.8, 5),)),
    OpCase("erfcinv", sp.erfcinv, lambda rng: (rng.uniform(0.2, 1.8, 5),)),
    OpCase("ndtr", sp.ndtr, normal((5,))),
    OpCase("log_ndtr", sp.log_ndtr, lambda rng: (rng.uniform(-10, 5, 5),)),
    OpCase("ndtri", sp.ndtri, unit((5,))),
    OpCase("logit", sp.logit, unit((5,))),
    OpCase("betainc", lambda x: sp.betainc(2.0, 3.5, x), unit((4,))),
    OpCase("betainc", lambda x: sp.betainc(np.array([1.5, 2.0]), 0.5, x), unit((2,)), "broadcast"),
    OpCase("stdtr", lambda t: sp.stdtr(3.0, t), normal((5,))),
    OpCase("jv", sp.j0, positive((4,), low=0.1, high=8.0), "j0"),
    OpCase("jv", sp.j1, normal((4,)), "j1"),
    OpCase("jv", lambda x: sp.jn(3, x), positive((4,), low=0.1, high=8.0), "jn"),
    OpCase("jv", lambda x: sp.jv(1.5, x), positive((4,), low=0.5, high=8.0), "jv"),
    OpCase("yv", sp.y0, positive((4,), low=0.5, high=8.0), "y0"),
    OpCase("yv", sp.y1, positive((4,), low=0.5, high=8.0), "y1"),
    OpCase("yv", lambda x: sp.yn(2, x), positive((4,), low=0.5, high=8.0), "yn"),
    OpCase("iv", sp.i0, normal((4,)), "i0"),
    OpCase("iv", sp.i1, normal((4,)), "i1"),
    OpCase("iv", lambda x: sp.iv(2.5, x), positive((4,), low=0.5, high=3.0), "iv"),
    OpCase("ive", lambda x: sp.ive(1.0, x), positive((4,), low=0.5, high=3.0)),
]
