"""The op table: every primitive, forward and reverse mode, to second order, in float64."""

import numpy as np
import pytest

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
