"""Single precision stays single through every derivative rule: no float64 temporaries leak.

float32 data keeps float32 values, gradients, second derivatives and tangents; complex64
data keeps complex64 (its real parts float32).
"""

import numpy as np
import pytest

import chainrule as cr

from .op_cases import all_cases

SINGLE = (np.dtype(np.float32), np.dtype(np.complex64))
# Cases whose function asks for double precision itself (the user's choice, not a rule's):
# cast's case converts to float64, float_power computes in float64 as NumPy does, and the
# rest mix in float64 constants (arrays, lists, `diff`'s prepend=1.0, `cr.arange(1.0, n)`,
# quantiles at a list of floats, odeint's float64 time grid, `+ np.eye(2)`, an integer
# matrix_rank times a float), where NumPy promotes too.
DOUBLE_ON_PURPOSE = {
    "power[float_power]", "subtract[diff]", "cumprod[one-zero]", "cumprod[zeros-axis0]",
    "cumprod[two-zeros]", "concatenate[list-of-tensors]", "take_along_axis[quantile]",
    "take_along_axis[nanpercentile]", "eigh", "eigh[batched]", "svd[tall]", "svd[wide]",
    "svd[full-tall]", "svd[full-wide-batched]", "odeint[decay]",
    "odeint[oscillator-and-times]", "gammaincc", "betainc[broadcast]", "mvn_cdf",
    "mvn_cdf[batched]", "matrix_rank"}
OP_CASES = [c for c in all_cases() if str(c) not in DOUBLE_ON_PURPOSE and c.op != "cast"]


def test_the_exceptions_are_cases():
    assert DOUBLE_ON_PURPOSE <= {str(c) for c in all_cases()}


def _single(a):
    a = np.asarray(a)
    return a.astype({"f": np.float32, "c": np.complex64}[a.dtype.kind]) \
        if a.dtype in (np.float64, np.complex128) else a


def _differentiable(a):
    return a.dtype in SINGLE


@pytest.mark.parametrize("case", OP_CASES, ids=str)
def test_rules_keep_single_precision(case):
    args = [_single(a) for a in case.sample(np.random.default_rng(0))]
    floats = [i for i, a in enumerate(args) if _differentiable(a)]
    leaves = [cr.tensor(a, requires_grad=_differentiable(a)) for a in args]
    out = case.fn(*leaves)
    assert out.dtype in SINGLE, f"{case}: forward gives {out.dtype}"
    if out.dtype.kind == "c":   # backward() wants a real output: pair with a unit cotangent
        out = cr.real(out) + cr.imag(out)
    seed = cr.ones(out.shape, dtype=np.float32)
    out.backward(seed, create_graph=True)
    grads = [leaves[i].grad for i in floats]
    for i, g in zip(floats, grads):
        # None: an input the op is piecewise constant in (a pool's argmax source)
        assert g is None or g.dtype == args[i].dtype, \
            f"{case}: gradient of input {i} ({args[i].dtype}) is {g.dtype}"
    if case.order >= 2:  # the gradient's own rules stay in single precision too
        second = [g for g in grads if g is not None and g.requires_grad]
        for i in floats:
            leaves[i].grad = None
        for g in second:
            (cr.real(g) + cr.imag(g) if g.dtype.kind == "c" else g).sum().backward(
                retain_graph=True)
        for i in floats:
            g2 = leaves[i].grad
            assert g2 is None or g2.dtype == args[i].dtype, \
                f"{case}: 2nd order of {i} ({args[i].dtype}) is {g2.dtype}"
    if "fwd" in case.modes:
        tangents = [np.ones_like(args[i]) for i in floats]

        def of_floats(*xs):
            full = list(args)
            for i, x in zip(floats, xs):
                full[i] = x
            return case.fn(*full)

        _, t = cr.jvp(of_floats, [args[i] for i in floats], tangents)
        assert t.dtype in SINGLE, f"{case}: JVP gives {t.dtype}"
