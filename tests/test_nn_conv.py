"""The conv family (dilation, groups, 1-D/3-D, transposed), pooling's ceil_mode and
dropout under vmap: values against direct NumPy loops and hand-worked numbers."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F


def _direct_conv2d(x, w, stride, padding, dilation, groups):
    """Cross-correlation by explicit loops over outputs (the definition)."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    ow = (wd + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for k in range(o):
        g = k // og
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, g * cg:(g + 1) * cg,
                           i * stride:i * stride + dilation * (kh - 1) + 1:dilation,
                           j * stride:j * stride + dilation * (kw - 1) + 1:dilation]
                out[:, k, i, j] = np.einsum("nchw,chw->n", patch, w[k])
    return out


@pytest.mark.parametrize("stride, padding, dilation, groups",
                         [(1, 1, 1, 4), (2, 1, 2, 2), (1, 2, 3, 1), (3, 0, 1, 4)])
def test_conv2d_dilation_groups_equal_the_definition(stride, padding, dilation, groups):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((8, 4 // groups, 3, 2))
    got = F.conv2d(x, w, None, stride, padding, dilation, groups)
    np.testing.assert_allclose(got.data, _direct_conv2d(x, w, stride, padding, dilation,
                                                         groups), atol=1e-12)


def test_conv1d_and_conv3d_equal_conv2d_on_embedded_signals():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 4, 11)), rng.standard_normal((6, 2, 3))
    got = F.conv1d(x, w, None, 2, 1, 2, 2)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1)))  # conv1d pads only the length axis
    want = _direct_conv2d(padded[:, :, None], w[:, :, None], 2, 0, 2, 2)
    np.testing.assert_allclose(got.data, want[:, :, 0], atol=1e-12)
    x3, w3 = rng.standard_normal((2, 4, 5, 6, 6)), rng.standard_normal((4, 2, 3, 2, 2))
    got3 = F.conv3d(x3, w3, None, 1, 0, 1, 2)
    want3 = np.zeros(got3.shape)
    for d in range(got3.shape[2]):  # depth taps summed: each a 2-D conv of a slice
        for i in range(3):
            want3[:, :, d] += _direct_conv2d(x3[:, :, d + i], w3[:, :, i], 1, 0, 1, 2)
    np.testing.assert_allclose(got3.data, want3, atol=1e-12)


@pytest.mark.parametrize("stride, padding, output_padding, groups, dilation",
                         [(2, 1, 1, 2, 1), (3, 0, 2, 1, 2), (1, 1, 0, 4, 1)])
def test_conv_transpose2d_is_the_adjoint_of_conv2d(stride, padding, output_padding, groups,
                                                   dilation):
    rng = np.random.default_rng(2)
    y, w = rng.standard_normal((2, 4, 4, 3)), rng.standard_normal((4, 2, 3, 3))
    out = F.conv_transpose2d(y, w, None, stride, padding, output_padding, groups, dilation)
    x = rng.standard_normal(out.shape)
    forward = F.conv2d(x, w, None, stride, padding, dilation, groups)
    assert forward.shape == y.shape
    np.testing.assert_allclose(np.vdot(out.data, x), np.vdot(y, forward.data), rtol=1e-12)


def test_conv_layers_have_pytorch_layout_and_init_bounds():
    cases = [(nn.Conv1d(4, 6, 3, groups=2), (6, 2, 3), 6),
             (nn.Conv2d(4, 8, 3, groups=4), (8, 1, 3, 3), 9),
             (nn.Conv3d(2, 4, (1, 2, 3)), (4, 2, 1, 2, 3), 12),
             (nn.ConvTranspose1d(4, 6, 3, stride=2, groups=2), (4, 3, 3), 9),
             (nn.ConvTranspose2d(4, 6, 2, stride=2), (4, 6, 2, 2), 24)]
    for layer, shape, fan_in in cases:
        assert layer.weight.shape == shape and layer.bias.shape == (layer.out_channels,)
        bound = 1 / np.sqrt(fan_in)
        assert np.abs(layer.weight.data).max() <= bound
        assert np.abs(layer.weight.data).max() > 0.6 * bound


def test_conv_layer_shapes():
    x = cr.tensor(np.ones((2, 4, 8, 8), np.float32))
    assert nn.Conv2d(4, 4, 3, padding="same", dilation=2, groups=4)(x).shape == (2, 4, 8, 8)
    assert nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)(x).shape == \
        (2, 3, 16, 16)
    assert nn.Conv1d(3, 5, 3, padding="same")(np.ones((2, 3, 7), np.float32)).shape == \
        (2, 5, 7)
    assert nn.Conv3d(4, 2, 3, stride=2, padding=1)(np.ones((1, 4, 5, 6, 7), np.float32)).shape \
        == (1, 2, 3, 3, 4)
    assert "groups=4" in repr(nn.Conv2d(4, 4, 3, groups=4))


def test_conv_errors_name_the_function_and_the_fix():
    with pytest.raises(ValueError, match="conv2d: groups=3 must divide"):
        F.conv2d(np.ones((1, 4, 5, 5)), np.ones((6, 1, 3, 3)), groups=3)
    with pytest.raises(ValueError, match="Conv2d: groups=3 must divide"):
        nn.Conv2d(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(np.ones((1, 2, 3, 3)), np.ones((2, 2, 3, 3)), stride=2,
                           output_padding=2)
    with pytest.raises(ValueError, match="conv3d: expected an input"):
        F.conv3d(np.ones((2, 3, 3)), np.ones((2, 2, 1, 1, 1)))
    with pytest.raises(ValueError, match="conv3d: input has 1 channels"):
        F.conv3d(np.ones((1, 1, 3, 3, 3)), np.ones((2, 2, 1, 1, 1)))
    with pytest.raises(ValueError, match="conv1d: input has 3 channels"):
        F.conv1d(np.ones((1, 3, 5)), np.ones((2, 2, 1)))


def test_ceil_mode_keeps_the_last_partial_window_as_pytorch_does():
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    # PyTorch 2.13: max_pool2d(x, 2, ceil_mode=True) and avg_pool2d(x, 2, ceil_mode=True)
    np.testing.assert_array_equal(F.max_pool2d(x, 2, ceil_mode=True).data[0, 0],
                                  [[6, 8, 9], [16, 18, 19], [21, 23, 24]])
    np.testing.assert_array_equal(F.avg_pool2d(x, 2, ceil_mode=True).data[0, 0],
                                  [[3, 5, 6.5], [13, 15, 16.5], [20.5, 22.5, 24]])
    # count_include_pad=False divides by the input entries in each window only
    out = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False).data[0, 0]
    np.testing.assert_allclose(out[0, 0], np.mean([0, 1, 5, 6]))
    np.testing.assert_allclose(out[1, 1], np.mean([6, 7, 8, 11, 12, 13, 16, 17, 18]))
    # a window starting past the input (and its padding) is dropped
    assert F.max_pool2d(np.ones((1, 1, 4, 4)), 2, 2, 1, ceil_mode=True).shape == (1, 1, 3, 3)
    assert nn.MaxPool2d(3, 2, ceil_mode=True)(np.ones((1, 1, 6, 6))).shape == (1, 1, 3, 3)
    assert nn.AvgPool2d(3, 2, ceil_mode=True, count_include_pad=False)(
        np.ones((1, 1, 6, 6))).data.tolist() == np.ones((1, 1, 3, 3)).tolist()


def test_dropout_under_vmap_draws_a_mask_per_example_and_its_gradient_reuses_it():
    ones = np.ones((8, 50))
    out = cr.vmap(lambda v: F.dropout(v, 0.5, generator=3))(ones).data
    assert set(np.unique(out)) == {0.0, 2.0}
    assert len({row.tobytes() for row in out}) == 8          # eight different masks
    grads = cr.vmap(cr.grad(lambda v: cr.sum(F.dropout(v, 0.5, generator=3) * v)))(ones)
    # d/dv sum(mask * v * v) = 2 * mask * v: zero exactly where the forward mask is zero
    forward = cr.vmap(lambda v: F.dropout(v, 0.5, generator=3))(ones).data
    np.testing.assert_array_equal(grads.data, 2 * forward)


def test_dropout_gradient_uses_the_forward_mask():
    x = cr.tensor(np.ones((4, 30)), requires_grad=True)
    out = F.dropout(x, 0.3, generator=0)
    cr.sum(out).backward()
    np.testing.assert_array_equal(x.grad.data, out.data)
