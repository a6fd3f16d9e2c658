"""The op table: every primitive, forward and reverse mode, to second order, in float64."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import builtin_primitives
from chainrule.testing import check_grads

from .op_cases import all_cases

OP_CASES = all_cases()


@pytest.mark.parametrize("case", OP_CASES, ids=str)
def test_op(case):
    rng = np.random.default_rng(0)
    check_grads(case.fn, case.sample(rng), order=case.order, modes=case.modes,
                **case.tolerances)


def test_every_primitive_is_in_the_table():
    covered = {c.op for c in OP_CASES}
    missing = sorted(set(builtin_primitives()) - covered)
    assert not missing, f"primitives with no op-table case: {missing}"


def test_every_differentiable_primitive_has_both_rules():
    for name, prim in builtin_primitives().items():
        if prim.differentiable:
            assert prim.vjp is not None, name
            assert prim.jvp is not None or prim.jvp_joint is not None, name


def test_erf_is_vectorized_and_matches_math_erf():
    import math
    x = np.concatenate([np.linspace(-7, 7, 2001), [0.0, -0.0, 1e-300, np.inf, -np.inf]])
    got = cr.erf(x).data
    np.testing.assert_allclose(got, [math.erf(v) for v in x], rtol=1e-15, atol=3e-16)
    assert np.isnan(cr.erf(np.array([np.nan])).data).all()
    assert cr.erf(np.ones(3, np.float32)).dtype == np.float32
