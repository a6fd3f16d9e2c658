"""Float32 stays float32 through every derivative rule: no float64 temporaries leak out."""

import numpy as np
import pytest

import chainrule as cr

from .op_cases import attention, conv, elementwise, linalg, reduce, shape

# The core families, all float32-clean. The families added later (special functions, FFTs,
# complex, eig, quantiles) are not yet: several of their rules build float64 slopes.
# cast's case converts to float64 on purpose (the user's choice, not a rule's).
FAMILIES = (attention, conv, elementwise, linalg, reduce, shape)
OP_CASES = [c for family in FAMILIES for c in family.CASES if c.op != "cast"]


def _f32(a):
    a = np.asarray(a)
    return a.astype(np.float32) if a.dtype == np.float64 else a


@pytest.mark.parametrize("case", OP_CASES, ids=str)
def test_rules_keep_float32(case):
    args = [_f32(a) for a in case.sample(np.random.default_rng(0))]
    floats = [i for i, a in enumerate(args) if a.dtype == np.float32]
    leaves = [cr.tensor(a, requires_grad=a.dtype == np.float32) for a in args]
    out = case.fn(*leaves)
    assert out.dtype == np.float32, f"{case}: forward gives {out.dtype}"
    seed = cr.ones(out.shape, dtype=np.float32)
    out.backward(seed, create_graph=True)
    grads = [leaves[i].grad for i in floats]
    for i, g in zip(floats, grads):
        # None: an input the op is piecewise constant in (a pool's argmax source)
        assert g is None or g.dtype == np.float32, f"{case}: gradient of input {i} is {g.dtype}"
    if case.order >= 2:  # the gradient's own rules stay in float32 too
        second = [g for g in grads if g is not None and g.requires_grad]
        for i in floats:
            leaves[i].grad = None
        for g in second:
            g.sum().backward(retain_graph=True)
        for i in floats:
            g2 = leaves[i].grad
            assert g2 is None or g2.dtype == np.float32, f"{case}: 2nd order of {i} is {g2.dtype}"
    if "fwd" in case.modes:
        tangents = [np.ones_like(a) for a in args]
        _, t = cr.jvp(case.fn, [a for a in args], tangents)
        assert t.dtype == np.float32, f"{case}: JVP gives {t.dtype}"
