"""New layers (norms, adaptive pools, attention, transformer): values against NumPy
formulas, gradients against central differences in float64, PyTorch's parameter layout."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.testing import check_grads

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def float64():
    previous = cr.nn.init.get_default_dtype()
    cr.nn.init.set_default_dtype(np.float64)
    yield
    cr.nn.init.set_default_dtype(previous)


def _np_norm(x, axes, eps=1e-5):
    m = x.mean(axes, keepdims=True)
    return (x - m) / np.sqrt(((x - m) ** 2).mean(axes, keepdims=True) + eps)


def test_group_instance_and_rms_norm_values():
    x = RNG.standard_normal((2, 6, 3, 4))
    g = _np_norm(x.reshape(2, 3, -1), (2,)).reshape(x.shape)
    np.testing.assert_allclose(F.group_norm(x, 3).data, g, atol=1e-12)
    np.testing.assert_allclose(F.instance_norm(x).data, _np_norm(x, (2, 3)), atol=1e-12)
    r = x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6)
    np.testing.assert_allclose(F.rms_norm(x, 4, eps=1e-6).data, r, atol=1e-12)


@pytest.mark.parametrize("fn", [
    lambda x, w, b: F.group_norm(x, 2, w, b),
    lambda x, w, b: F.instance_norm(x, w, b),
    lambda x, w, b: F.rms_norm(x, 4, None) * w.sum() + b.sum(),
], ids=["group_norm", "instance_norm", "rms_norm"])
def test_norm_gradients(fn):
    check_grads(fn, (RNG.standard_normal((2, 4, 2, 4)), RNG.uniform(0.5, 2, 4),
                     RNG.standard_normal(4)), order=2)


def test_adaptive_pools_match_the_window_definition():
    x = RNG.standard_normal((1, 2, 5, 7))
    out = F.adaptive_avg_pool2d(x, (3, 2)).data
    # PyTorch's windows for 5 -> 3: [0,2), [1,4), [3,5); for 7 -> 2: [0,4), [3,7)
    assert np.isclose(out[0, 1, 1, 1], x[0, 1, 1:4, 3:7].mean())
    assert np.isclose(F.adaptive_max_pool2d(x, (3, 2)).data[0, 0, 2, 0], x[0, 0, 3:5, 0:4].max())
    even = F.adaptive_avg_pool2d(x[..., :6], (5, 3)).data
    np.testing.assert_allclose(even, x[..., :6].reshape(1, 2, 5, 1, 3, 2).mean((3, 5)))
    check_grads(lambda t: F.adaptive_avg_pool2d(t, (3, 2)), (x,), order=1)
    check_grads(lambda t: F.adaptive_max_pool2d(t, 2), (RNG.standard_normal((1, 1, 4, 5)),),
                order=1)


def _np_attention(q, k, v, keep=None):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if keep is not None:
        s = np.where(keep, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)) @ v


def test_sdpa_values_and_masks():
    q, k, v = RNG.standard_normal((3, 2, 4, 3))
    np.testing.assert_allclose(F.scaled_dot_product_attention(q, k, v).data,
                               _np_attention(q, k, v), atol=1e-12)
    causal = np.tril(np.ones((4, 4), bool))
    np.testing.assert_allclose(F.scaled_dot_product_attention(q, k, v, is_causal=True).data,
                               _np_attention(q, k, v, causal), atol=1e-12)
    np.testing.assert_allclose(F.scaled_dot_product_attention(q, k, v, attn_mask=causal).data,
                               _np_attention(q, k, v, causal), atol=1e-12)


def test_sdpa_batches_under_vmap_and_names_bad_shapes():
    q, k, v = RNG.standard_normal((3, 5, 4, 3))
    got = cr.vmap(lambda a: F.scaled_dot_product_attention(a, k[0], v[0]))(q)
    np.testing.assert_allclose(got.data, _np_attention(q, k[0], v[0]), atol=1e-12)
    with pytest.raises(ValueError, match="scaled_dot_product_attention: query"):
        F.scaled_dot_product_attention(q, k[..., :2], v)


def test_multihead_attention_has_pytorchs_parameters_and_gradients():
    mha = cr.nn.MultiheadAttention(4, 2, batch_first=True)
    assert list(mha.state_dict()) == ["in_proj_weight", "in_proj_bias", "out_proj.weight",
                                      "out_proj.bias"]
    x = RNG.standard_normal((2, 3, 4))
    kp = np.array([[False, False, True], [False, False, False]])
    out, weights = mha(x, x, x, key_padding_mask=kp)
    assert out.shape == (2, 3, 4) and weights.shape == (2, 3, 3)
    np.testing.assert_allclose(weights.data[0, :, 2], 0.0)     # the padded key is ignored
    np.testing.assert_allclose(weights.data.sum(-1), 1.0)
    w = mha.in_proj_weight
    check_grads(lambda x, w_in: F.multi_head_attention_forward(
        x, x, x, 2, w_in, mha.in_proj_bias, mha.out_proj.weight, mha.out_proj.bias,
        need_weights=False, is_causal=True)[0], (x, w.data.copy()), order=1)


def test_self_attention_packed_projection_equals_three_projections():
    mha = cr.nn.MultiheadAttention(4, 2)                      # (L, N, E) inputs
    x0 = RNG.standard_normal((3, 2, 4))
    results = []
    for packed in (True, False):
        x = cr.tensor(x0, requires_grad=True)
        mha.zero_grad()
        kv = (x, x) if packed else (x * 1.0, x * 1.0)           # one tensor, or equal copies
        out, weights = mha(x, *kv, is_causal=True, attn_mask=np.triu(np.ones((3, 3), bool), 1))
        (cr.sum(out ** 2) + cr.sum(weights ** 3)).backward()
        results.append((out.data, weights.data, x.grad.data, mha.in_proj_weight.grad.data,
                        mha.in_proj_bias.grad.data))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert np.abs(results[0][3]).min() > 0                       # q, k and v rows all learn


def test_transformer_encoder_layout_and_a_training_step():
    layer = cr.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True)
    encoder = cr.nn.TransformerEncoder(layer, 2, norm=cr.nn.LayerNorm(4))
    keys = list(encoder.state_dict())
    assert keys[:4] == ["layers.0.self_attn.in_proj_weight", "layers.0.self_attn.in_proj_bias",
                        "layers.0.self_attn.out_proj.weight", "layers.0.self_attn.out_proj.bias"]
    assert "layers.1.linear2.bias" in keys and keys[-2:] == ["norm.weight", "norm.bias"]
    # the copies are independent
    assert encoder.layers[0].linear1.weight is not encoder.layers[1].linear1.weight
    x = cr.tensor(RNG.standard_normal((2, 5, 4)))
    opt = cr.optim.SGD(encoder.parameters(), lr=0.05)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = cr.mean(encoder(x) ** 2 - encoder(x))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_embedding_max_norm_renormalizes_the_rows_it_reads():
    emb = cr.nn.Embedding(4, 3, max_norm=1.0)
    emb.weight.data[...] = [[3.0, 4.0, 0.0], [0.1, 0.0, 0.0], [0.0, 2.0, 0.0], [1, 1, 1]]
    out = emb(np.array([0, 1]))
    np.testing.assert_allclose(np.linalg.norm(emb.weight.data[0]), 1.0, rtol=1e-6)
    np.testing.assert_allclose(emb.weight.data[1], [0.1, 0.0, 0.0])   # small rows untouched
    np.testing.assert_allclose(emb.weight.data[2], [0.0, 2.0, 0.0])   # unread rows untouched
    np.testing.assert_allclose(out.data[0], [0.6, 0.8, 0.0], rtol=1e-6)


def test_the_transformer_model_of_the_zoo_counts_its_parameters_and_learns():
    from chainrule.nn.models import RowTransformer, build_model, parameter_count

    config = {"model": "transformer", "height": 8, "width": 8, "classes": 10, "hidden": 16}
    model = build_model(config)
    assert isinstance(model, RowTransformer)
    assert model.num_parameters() == parameter_count(config)
    x = RNG.standard_normal((12, 8, 8))
    y = np.arange(12) % 10
    opt = cr.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(15):
        opt.zero_grad()
        loss = F.cross_entropy(model(cr.tensor(x)), y)
        loss.backward()
        opt.step()
        first = first or loss.item()
    assert loss.item() < 0.5 * first
    with pytest.raises(ValueError, match="divisible by 4 heads"):
        build_model({**config, "hidden": 18})
