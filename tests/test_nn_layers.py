"""Layers of cr.nn: values against NumPy references and gradients by check_grads (float64),
with respect to both the input and every parameter."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F
from chainrule.testing import check_grads

RNG = np.random.default_rng(0)


def _flat(out):
    """One tensor from a tensor or a nested tuple of tensors (check_grads wants one)."""
    if isinstance(out, (tuple, list)):
        return cr.concatenate([_flat(o) for o in out if o is not None])
    return cr.reshape(out, -1)


def check_module(module, *inputs, order=1, **tolerances):
    """check_grads of module(*inputs) with respect to the inputs and all parameters."""
    module.double()
    names = [n for n, _ in module.named_parameters()]
    values = [p.data for _, p in module.named_parameters()]
    n_in = len(inputs)

    def f(*args):
        params = dict(zip(names, args[n_in:]))
        return _flat(nn.functional_call(module, params, *args[:n_in]))

    check_grads(f, tuple(inputs) + tuple(values), order=order, modes=("fwd", "rev"),
                **tolerances)


# ----- NumPy references -----------------------------------------------------------------

def conv_ref(x, w, b, stride, padding):
    sh, sw = stride
    ph, pw = padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    o, _, kh, kw = w.shape
    oh = (xp.shape[2] - kh) // sh + 1
    ow = (xp.shape[3] - kw) // sw + 1
    out = np.zeros((x.shape[0], o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w) + b
    return out


def pool_ref(x, k, s, p, reduce):
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)),
                constant_values=-np.inf if reduce is np.max else 0)
    oh = (xp.shape[2] - k) // s + 1
    ow = (xp.shape[3] - k) // s + 1
    out = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = reduce(xp[:, :, i * s:i * s + k, j * s:j * s + k], axis=(2, 3))
    return out


def distinct(*shape):
    """Values with no ties (so max pooling is differentiable at the sample)."""
    n = int(np.prod(shape))
    return (RNG.permutation(n) / n * 4 - 2).reshape(shape)


# ----- linear, conv, pooling, shapes ---------------------------------------------------

def test_linear_values_and_grads():
    fc = nn.Linear(3, 2)
    x = RNG.standard_normal((4, 3))
    out = fc(cr.tensor(x.astype(np.float32)))
    assert out.shape == (4, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out.data, x @ fc.weight.data.T + fc.bias.data, rtol=1e-5)
    check_module(fc, x, order=2)
    check_module(nn.Linear(3, 2, bias=False), RNG.standard_normal((2, 5, 3)))
    with pytest.raises(ValueError, match="last axis of the input must be 3"):
        fc(cr.tensor(np.ones((2, 4))))


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), ((1, 2), (1, 0))])
def test_conv2d_matches_loops_and_grads(stride, padding):
    conv = nn.Conv2d(2, 3, (3, 2), stride=stride, padding=padding).double()
    x = RNG.standard_normal((2, 2, 5, 6))
    expected = conv_ref(x, conv.weight.data, conv.bias.data, conv.stride, conv.padding)
    np.testing.assert_allclose(conv(cr.tensor(x)).data, expected, atol=1e-12)
    check_module(conv, RNG.standard_normal((1, 2, 5, 4)))


def test_conv2d_second_order_and_errors():
    conv = nn.Conv2d(1, 2, 2, padding=1, bias=False)
    check_module(conv, RNG.standard_normal((1, 1, 3, 3)), order=2)
    assert nn.Conv2d(1, 1, 3, padding="same")(cr.tensor(np.ones((1, 1, 5, 5)))).shape == \
        (1, 1, 5, 5)
    with pytest.raises(ValueError, match="input has 3 channels"):
        nn.Conv2d(2, 1, 3)(cr.tensor(np.ones((1, 3, 5, 5))))
    with pytest.raises(ValueError, match="larger than the padded input"):
        nn.Conv2d(1, 1, 5)(cr.tensor(np.ones((1, 1, 3, 3))))
    unbatched = nn.Conv2d(1, 2, 3)(cr.tensor(np.ones((1, 4, 4), np.float32)))
    assert unbatched.shape == (2, 2, 2)


@pytest.mark.parametrize("k,s,p", [(2, None, 0), (3, 2, 1), (2, 1, 0)])
def test_pooling_matches_loops_and_grads(k, s, p):
    x = distinct(2, 2, 5, 6)
    stride = k if s is None else s
    mp, ap = nn.MaxPool2d(k, s, p), nn.AvgPool2d(k, s, p)
    np.testing.assert_array_equal(mp(cr.tensor(x)).data, pool_ref(x, k, stride, p, np.max))
    np.testing.assert_allclose(ap(cr.tensor(x)).data, pool_ref(x, k, stride, p, np.mean),
                               atol=1e-12)
    check_module(mp, x, order=2)
    check_module(ap, x, order=2)


def test_max_pool_gradient_goes_to_the_first_maximum():
    x = cr.tensor(np.array([[[[1.0, 3.0], [3.0, 0.0]]]]), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[[[0.0, 1.0], [0.0, 0.0]]]])


def test_flatten_unflatten_identity():
    x = cr.tensor(RNG.standard_normal((2, 3, 4, 5)))
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Unflatten(1, (3, 20))(nn.Flatten()(x)).shape == (2, 3, 20)
    assert nn.Identity()(x) is x
    check_module(nn.Flatten(), RNG.standard_normal((2, 2, 3)))


# ----- activations, dropout, embedding, normalization ------------------------------

ACTIVATIONS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.Tanh(), np.tanh),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.GELU(), None),
    (nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi)
                                                       * (x + 0.044715 * x ** 3)))),
    (nn.SiLU(), lambda x: x / (1 + np.exp(-x))),
    (nn.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (nn.ELU(), lambda x: np.where(x > 0, x, np.expm1(x))),
    (nn.Softplus(), lambda x: np.log1p(np.exp(x))),
    (nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    (nn.LogSoftmax(dim=1), lambda x: x - np.log(np.exp(x).sum(1, keepdims=True))),
]


@pytest.mark.parametrize("layer,ref", ACTIVATIONS, ids=lambda a: type(a).__name__)
def test_activations(layer, ref):
    x = RNG.uniform(0.1, 2, (3, 4)) * RNG.choice([-1, 1], (3, 4))
    if ref is not None:
        np.testing.assert_allclose(layer(cr.tensor(x)).data, ref(x), rtol=1e-12, atol=1e-14)
    check_module(layer, x, order=2)


def test_gelu_exact_value():
    import math
    x = np.array([-1.5, 0.0, 0.7])
    expected = [v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x]
    np.testing.assert_allclose(nn.GELU()(cr.tensor(x)).data, expected, rtol=1e-14)


def test_dropout_is_seeded_scaled_and_off_in_eval():
    x = cr.tensor(np.ones((200, 50)))
    a = nn.Dropout(0.3, generator=7)(x).data
    b = nn.Dropout(0.3, generator=7)(x).data
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) == {0.0, 1 / 0.7}
    assert abs((a == 0).mean() - 0.3) < 0.02
    nn.init.manual_seed(3)
    c = nn.Dropout(0.3)(x).data
    nn.init.manual_seed(3)
    np.testing.assert_array_equal(c, nn.Dropout(0.3)(x).data)
    drop = nn.Dropout(0.3).eval()
    assert drop(x) is x
    check_grads(lambda x: F.dropout(x, 0.5, generator=1), (RNG.standard_normal((4, 5)),))


def test_embedding_lookup_and_grads():
    emb = nn.Embedding(5, 3, padding_idx=0)
    assert np.all(emb.weight.data[0] == 0)
    idx = np.array([[1, 0, 4], [4, 4, 2]])
    out = emb(idx)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.data, emb.weight.data[idx])
    out.sum().backward()
    counts = np.bincount(idx.ravel(), minlength=5)
    counts[0] = 0  # padding row gets no gradient
    np.testing.assert_array_equal(emb.weight.grad.data, np.repeat(counts[:, None], 3, 1))
    emb64 = nn.Embedding(4, 2).double()
    check_grads(lambda w: nn.functional_call(emb64, {"weight": w}, idx % 4) ** 2,
                (emb64.weight.data,))
    with pytest.raises(IndexError, match=r"\[0, 5\)"):
        emb(np.array([5]))


@pytest.mark.parametrize("cls,shape", [(nn.BatchNorm1d, (5, 3)), (nn.BatchNorm1d, (4, 3, 2)),
                                       (nn.BatchNorm2d, (3, 3, 2, 2))])
def test_batchnorm_train_eval_and_grads(cls, shape):
    bn = cls(3).double()
    x = RNG.standard_normal(shape) * 2 + 1
    axes = (0,) + tuple(range(2, len(shape)))
    out = bn(cr.tensor(x)).data
    mean, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-5), atol=1e-12)
    n = x.size // 3
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * mean.ravel(), atol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, 0.9 + 0.1 * var.ravel() * n / (n - 1),
                               atol=1e-12)
    assert bn.num_batches_tracked.item() == 1
    bn.eval()
    stat = (1, 3) + (1,) * (len(shape) - 2)
    expected = (x - bn.running_mean.data.reshape(stat)) / np.sqrt(
        bn.running_var.data.reshape(stat) + 1e-5)
    np.testing.assert_allclose(bn(cr.tensor(x)).data, expected, atol=1e-12)
    check_module(bn, x)                       # eval: running statistics
    check_module(bn.train(), x, order=2)      # train: batch statistics
    with pytest.raises(ValueError, match="channels"):
        bn(cr.tensor(np.ones((2, 4) + shape[2:])))


def test_layernorm_values_and_grads():
    ln = nn.LayerNorm((3, 4))
    x = RNG.standard_normal((2, 3, 4))
    ln.double()
    ln.weight.data = RNG.standard_normal((3, 4))
    ref = (x - x.mean((1, 2), keepdims=True)) / np.sqrt(x.var((1, 2), keepdims=True) + 1e-5)
    np.testing.assert_allclose(ln(cr.tensor(x)).data, ref * ln.weight.data, atol=1e-12)
    check_module(ln, x, order=2)
    check_module(nn.LayerNorm(4, elementwise_affine=False), RNG.standard_normal((3, 4)))
