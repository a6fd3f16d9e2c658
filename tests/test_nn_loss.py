"""Losses: values against NumPy formulas for every reduction, gradients by check_grads."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F
from chainrule.testing import check_grads

RNG = np.random.default_rng(2)
LOGITS = RNG.standard_normal((6, 4))
TARGET = np.array([0, 3, 1, 2, 1, 3])


def log_softmax(x, axis=1):
    m = x.max(axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis, keepdims=True))


def reduce(v, reduction):
    return {"mean": v.mean(), "sum": v.sum(), "none": v}[reduction]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_and_nll(reduction):
    per = -log_softmax(LOGITS)[np.arange(6), TARGET]
    ce = nn.CrossEntropyLoss(reduction=reduction)(cr.tensor(LOGITS), TARGET)
    np.testing.assert_allclose(ce.data, reduce(per, reduction), rtol=1e-12)
    nll = nn.NLLLoss(reduction=reduction)(cr.tensor(log_softmax(LOGITS)), cr.tensor(TARGET))
    np.testing.assert_allclose(nll.data, reduce(per, reduction), rtol=1e-12)
    check_grads(lambda x: F.cross_entropy(x, TARGET, reduction=reduction), (LOGITS,))
    check_grads(lambda x: F.nll_loss(x, TARGET, reduction=reduction), (LOGITS,))


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    x = cr.tensor(LOGITS, requires_grad=True)
    F.cross_entropy(x, TARGET).backward()
    p = np.exp(log_softmax(LOGITS))
    np.testing.assert_allclose(x.grad.data, (p - np.eye(4)[TARGET]) / 6, atol=1e-15)


def test_cross_entropy_is_stable_and_float32():
    big = np.array([[1000.0, -1000.0, 0.0]], np.float32)
    loss = F.cross_entropy(cr.tensor(big), np.array([1]))
    assert loss.dtype == np.float32 and loss.item() == pytest.approx(2000.0)


def test_cross_entropy_options():
    weight = np.array([1.0, 2.0, 0.5, 1.5])
    target = TARGET.copy()
    target[2] = -100
    keep = target != -100
    w = weight[np.where(keep, target, 0)] * keep
    per = -log_softmax(LOGITS)[np.arange(6), np.where(keep, target, 0)]
    got = F.cross_entropy(cr.tensor(LOGITS), target, weight=weight)
    np.testing.assert_allclose(got.data, (w * per).sum() / w.sum(), rtol=1e-12)
    smooth = F.cross_entropy(cr.tensor(LOGITS), TARGET, label_smoothing=0.1)
    expected = (0.9 * -log_softmax(LOGITS)[np.arange(6), TARGET]
                + 0.1 / 4 * -log_softmax(LOGITS).sum(1)).mean()
    np.testing.assert_allclose(smooth.data, expected, rtol=1e-12)
    probs = RNG.dirichlet(np.ones(4), 6)
    soft = F.cross_entropy(cr.tensor(LOGITS), probs)
    np.testing.assert_allclose(soft.data, (-(probs * log_softmax(LOGITS)).sum(1)).mean())
    check_grads(lambda x: F.cross_entropy(x, target, weight=weight, label_smoothing=0.2),
                (LOGITS,))
    spatial = RNG.standard_normal((2, 4, 3))
    t2 = RNG.integers(0, 4, (2, 3))
    ref = -np.take_along_axis(log_softmax(spatial), t2[:, None], 1)[:, 0].mean()
    np.testing.assert_allclose(F.cross_entropy(cr.tensor(spatial), t2).data, ref)
    check_grads(lambda x: F.cross_entropy(x, t2), (spatial,), order=2)


def test_cross_entropy_errors():
    with pytest.raises(ValueError, match=r"targets of shape \(6,\)"):
        F.cross_entropy(cr.tensor(LOGITS), TARGET[:3])
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        F.cross_entropy(cr.tensor(LOGITS), TARGET + 1)
    with pytest.raises(ValueError, match="reduction"):
        nn.CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match="pass class indices as integers"):
        F.cross_entropy(cr.tensor(LOGITS), TARGET.astype(float))
    with pytest.raises(TypeError, match="integers"):
        F.nll_loss(cr.tensor(LOGITS), TARGET.astype(float))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_and_binary_losses(reduction):
    x = RNG.standard_normal((3, 4))
    y = RNG.uniform(0, 1, (3, 4))
    cases = [
        (nn.MSELoss(reduction=reduction), (x - y) ** 2, x),
        (nn.L1Loss(reduction=reduction), np.abs(x - y), x),
        (nn.BCEWithLogitsLoss(reduction=reduction),
         -(y * np.log(1 / (1 + np.exp(-x))) + (1 - y) * np.log(1 - 1 / (1 + np.exp(-x)))), x),
        (nn.BCELoss(reduction=reduction),
         -(y * np.log(1 / (1 + np.exp(-x))) + (1 - y) * np.log(1 - 1 / (1 + np.exp(-x)))),
         1 / (1 + np.exp(-x))),
        (nn.HuberLoss(reduction=reduction, delta=0.5),
         np.where(np.abs(x - y) < 0.5, 0.5 * (x - y) ** 2, 0.5 * (np.abs(x - y) - 0.25)), x),
    ]
    for loss, per, inp in cases:
        np.testing.assert_allclose(loss(cr.tensor(inp), cr.tensor(y)).data,
                                   reduce(per, reduction), rtol=1e-12)
        check_grads(lambda a, b, loss=loss: loss(a, b), (inp, y))


def test_bce_with_logits_pos_weight_and_stability():
    x = np.array([[800.0, -800.0, 0.0]])
    y = np.array([[1.0, 0.0, 1.0]])
    loss = F.binary_cross_entropy_with_logits(cr.tensor(x), cr.tensor(y), reduction="none")
    np.testing.assert_allclose(loss.data, [[0.0, 0.0, np.log(2)]], atol=1e-12)
    pw = np.array([2.0, 1.0, 3.0])
    z = RNG.standard_normal((2, 3))
    t = RNG.uniform(0, 1, (2, 3))
    s = 1 / (1 + np.exp(-z))
    ref = -(pw * t * np.log(s) + (1 - t) * np.log(1 - s)).mean()
    got = nn.BCEWithLogitsLoss(pos_weight=pw)(cr.tensor(z), cr.tensor(t))
    np.testing.assert_allclose(got.data, ref, rtol=1e-12)
    check_grads(lambda a: F.binary_cross_entropy_with_logits(a, cr.tensor(t), pos_weight=pw),
                (z,), order=2)


def test_mse_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="same shape"):
        F.mse_loss(cr.tensor(np.ones((3, 1))), cr.tensor(np.ones(3)))
