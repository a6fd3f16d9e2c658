"""Habits that carry over: NumPy's own functions on tensors, PyTorch's first names."""

import numpy as np
import pytest

import chainrule as cr


def test_numpy_functions_on_tensors_differentiate():
    t = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = np.array([1.0, 2.0, 3.0])
    y = np.sum(np.sin(t) * w) + np.concatenate([t, t]).sum() + np.linalg.norm(t)
    assert isinstance(y, cr.Tensor)
    y.backward()
    want = np.cos(t.data) * w + 2 + t.data / np.linalg.norm(t.data)
    np.testing.assert_allclose(t.grad.data, want)


def test_ufunc_methods_and_ndarray_operands_give_tensors():
    t = cr.tensor([1.0, 4.0, 2.0], requires_grad=True)
    assert isinstance(np.ones(3) * t, cr.Tensor) and isinstance(np.float64(2) - t, cr.Tensor)
    assert np.add.reduce(t).item() == 7.0 and np.maximum.reduce(t).item() == 4.0
    np.testing.assert_allclose(np.add.accumulate(t).data, [1.0, 5.0, 7.0])
    assert cr.grad(lambda x: np.multiply.reduce(x))(np.array([2.0, 3.0])).data.tolist() == [
        3.0, 2.0]


def test_functions_without_a_gradient_work_on_any_tensor():
    t = cr.tensor([3.0, 1.0, 2.0], requires_grad=True)
    assert np.shape(t) == (3,) and np.argmax(t) == 0
    assert np.isnan(t).tolist() == [False, False, False]
    assert np.unique(cr.tensor([1.0, 1.0, 2.0])).tolist() == [1.0, 2.0]  # no grad: plain NumPy


def test_numpy_functions_that_would_drop_a_gradient_are_errors_naming_them():
    t = cr.tensor([3.0, 1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="np.unique is not differentiable by chainrule"):
        np.unique(t)
    with pytest.raises(TypeError, match="np.sin: argument out="):
        np.sin(t, out=np.zeros(3))
    with pytest.raises(TypeError, match="np.sum on tensors runs as chainrule's sum"):
        np.sum(t, dtype=np.float32)


def test_pytorch_random_names_share_one_seeded_generator():
    cr.manual_seed(3)
    a, b, c = cr.randn(2, 3), cr.rand((4,)), cr.randint(5, (6,))
    cr.manual_seed(3)
    assert np.array_equal(cr.randn(2, 3).data, a.data)
    assert a.dtype == cr.nn.init.get_default_dtype() and b.shape == (4,)
    assert c.dtype == np.int64 and c.data.min() >= 0 and c.data.max() < 5
    assert cr.randint(2, 4, (100,)).data.min() >= 2
    assert cr.randn(2, dtype=np.float64, requires_grad=True).requires_grad
    with pytest.raises(ValueError, match="manual_seed"):
        cr.manual_seed(-1)


def test_pytorch_tensor_methods_and_dim():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert x.numel() == 6 and x.size == 6            # .size stays NumPy's int
    assert x.view(3, 2).shape == (3, 2) and x.float().dtype == np.float32
    assert x.to(np.float32).dtype == np.float32 and x.float().double().dtype == np.float64
    np.testing.assert_array_equal(cr.sum(x, dim=1).data, [3.0, 12.0])
    np.testing.assert_array_equal(x.sum(dim=0).data, [3.0, 5.0, 7.0])
    assert cr.softmax(x, dim=0).shape == (2, 3) and cr.cat([x, x], dim=0).shape == (4, 3)
    with pytest.raises(TypeError, match="give axis= or dim="):
        cr.sum(x, axis=0, dim=1)
    x.sum().backward()
    assert x.grad.zero_() is x.grad and not x.grad.data.any()
    with pytest.raises(RuntimeError, match="zero_: this tensor is the result"):
        (x * 2).zero_()


def test_to_a_device_says_there_is_one():
    with pytest.raises(TypeError, match="one device, the CPU"):
        cr.tensor([1.0]).to("cuda")
