"""Regression tests for results that used to be wrong without an error (issue 12)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

_F32_LOSSES = {
    "maximum": lambda x: cr.maximum(x, 0.0).sum(),
    "minimum": lambda x: cr.minimum(x, 0.5).sum(),
    "max": lambda x: cr.max(x),
    "min": lambda x: cr.min(x),
    "elu": lambda x: F.elu(x).sum(),
    "log2": lambda x: cr.log2(x * x).sum(),
    "log10": lambda x: cr.log10(x * x).sum(),
    "float64 constant": lambda x: (x * np.float64(2.0)).sum(),
    "softmax": lambda x: (cr.softmax(x) * cr.arange(3.0)).sum(),
}


@pytest.mark.parametrize("name", _F32_LOSSES)
def test_a_gradient_has_its_primals_dtype(name):
    f = _F32_LOSSES[name]
    x = cr.tensor(np.array([0.5, -1.0, 2.0], np.float32), requires_grad=True)
    g = cr.grad(f)(x)
    f(x).backward()
    assert g.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(g.data, x.grad.data)


def test_log2_and_log10_of_float32_stay_float32():
    x = np.array([2.0, 8.0], np.float32)
    assert cr.log2(x).dtype == np.float32 and cr.log10(x).dtype == np.float32
    np.testing.assert_allclose(cr.log2(x).data, [1.0, 3.0])


def test_softmax_keeps_precision_where_the_shift_dominates():
    np.testing.assert_allclose(cr.softmax(np.array([-1e30, -1e30])).data, [0.5, 0.5])
    np.testing.assert_allclose(cr.log_softmax(np.array([1e16, 1e16])).data,
                               [-np.log(2.0)] * 2)
    x = np.float32(1000) + np.random.default_rng(0).standard_normal(10).astype(np.float32)
    x64 = x.astype(np.float64)
    ref = (x64 - x64.max()) - np.log(np.exp(x64 - x64.max()).sum())
    got = cr.log_softmax(x)
    assert got.dtype == np.float32
    assert np.abs(got.data - ref).max() < 1e-6


def test_softmax_errors_name_softmax():
    with pytest.raises(ValueError, match="softmax: axis -1"):
        cr.softmax(cr.tensor(1.0))


def test_cross_entropy_differentiates_probability_targets():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((4, 3))
    p = rng.dirichlet(np.ones(3), size=4)
    g = cr.grad(lambda t: F.cross_entropy(cr.tensor(logits), t), argnums=0)(p)
    # loss = -mean_n sum_c p[n, c] log_softmax(logits)[n, c]
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    np.testing.assert_allclose(g.data, -logp / 4, rtol=1e-12)
    cr.testing.check_grads(lambda t: F.cross_entropy(cr.tensor(logits), t), (p,), order=2)
