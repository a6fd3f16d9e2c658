"""The op table through cr.jit: value, reverse (vjp) and forward (jvp) mode of every case
agree with eager to 1e-12, on inputs other than the ones the trace was recorded with."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.symbolic.jit import ConcretizationError

from .op_cases import all_cases

OP_CASES = all_cases()


def _close(got, want):
    for g, w in zip(_leaves(got), _leaves(want)):
        np.testing.assert_allclose(np.asarray(g.data), np.asarray(w.data), rtol=1e-12,
                                   atol=1e-12)


def _leaves(x):
    return [leaf for part in x for leaf in _leaves(part)] if isinstance(x, (tuple, list)) \
        else [x]


def _programs(case, args):
    """(name, function of the case's arguments) for value, vjp and jvp."""
    rng = np.random.default_rng(1)
    out = case.fn(*args)
    cotangent = rng.standard_normal(np.shape(out.data))
    tangents = tuple(rng.standard_normal(np.shape(a)) for a in args)
    programs = [("value", case.fn)]
    if "rev" in case.modes:
        programs.append(("vjp", lambda *a: cr.vjp(case.fn, *a)[1](cotangent)))
    if "fwd" in case.modes:
        programs.append(("jvp", lambda *a: cr.jvp(case.fn, a, tangents)))
    return programs


DATA_DEPENDENT_SHAPES = {"getitem[bool-mask]"}   # x[x > 0]: the shape depends on values


@pytest.mark.parametrize("case", OP_CASES, ids=str)
def test_op_through_jit(case):
    if str(case) in DATA_DEPENDENT_SHAPES:
        x = tuple(cr.tensor(a) for a in case.sample(np.random.default_rng(0)))
        with pytest.raises(ConcretizationError, match="boolean mask index"):
            cr.jit(case.fn)(*x)
        return
    traced_on = tuple(cr.tensor(a) for a in case.sample(np.random.default_rng(0)))
    run_on = tuple(cr.tensor(a) for a in case.sample(np.random.default_rng(2)))
    for name, program in _programs(case, traced_on):
        compiled = cr.jit(program)
        _close(compiled(*traced_on), program(*traced_on))
        _close(compiled(*run_on), program(*run_on))   # a new input, the same program
        assert compiled.cache_size == 1, name
