"""Tensor: construction, dtypes, operators (reflected too), NumPy interplay, repr."""

import weakref

import numpy as np
import pytest

import chainrule as cr


def test_python_numbers_become_float64_and_float32_stays():
    assert cr.tensor(1.5).dtype == np.float64
    assert cr.tensor([1.0, 2.0]).dtype == np.float64
    x = cr.tensor(np.ones(3, np.float32))
    assert x.dtype == np.float32
    assert (x * 2.0).dtype == np.float32
    assert (2 * x + 1).dtype == np.float32
    assert (x / 3).dtype == np.float32


def test_reflected_operators_and_numpy_on_the_left():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    for y in (np.float64(2) * x, np.array([2.0, 2.0]) * x, 2 * x, np.float32(2) * x):
        assert type(y) is cr.Tensor
        np.testing.assert_allclose(y.data, [2.0, 4.0])
    np.testing.assert_allclose((1 - x).data, [0.0, -1.0])
    np.testing.assert_allclose((8 / x).data, [8.0, 4.0])
    np.testing.assert_allclose((2 ** x).data, [2.0, 4.0])
    np.testing.assert_allclose((np.eye(2) @ x).data, [1.0, 2.0])
    y = (np.array([3.0, 1.0]) - x) * (x ** 2) / (1.0 + x)
    y.sum().backward()
    assert x.grad.shape == (2,)


def test_comparisons_give_bool_tensors_usable_as_masks():
    x = cr.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    mask = x > 0
    assert mask.dtype == bool and not mask.requires_grad
    y = cr.where(mask, x, 0.0).sum() + x[mask].sum() + x[~mask].sum() * 3
    y.backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 2.0, 3.0, 2.0])


def test_array_protocol_len_item_weakref_repr():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert np.asarray(x) is x.data
    assert len(x) == 2 and x.shape == (2, 2) and x.ndim == 2 and x.size == 4
    assert x.sum().item() == 10.0
    assert weakref.ref(x)() is x
    assert repr(x) == "tensor([[1., 2.],\n        [3., 4.]], requires_grad=True)"
    assert "op=multiply" in repr(x * 2)
    assert repr(cr.tensor(np.float32(1))) == "tensor(1., dtype=float32)"
    assert x.T.shape == (2, 2) and float(x[0, 1]) == 2.0


def test_integer_and_bool_tensors_refuse_requires_grad():
    with pytest.raises(ValueError, match="needs a float or complex dtype, got int64"):
        cr.tensor([1, 2], requires_grad=True)
    with pytest.raises(ValueError, match="got bool"):
        cr.tensor([True], requires_grad=True)
    with pytest.raises(ValueError, match="float or complex dtype"):
        cr.arange(3).requires_grad_()
    assert cr.tensor([1, 2]).dtype == np.int64


def test_detach_astype_numpy_and_factories():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert d.is_leaf and not d.requires_grad
    assert x.astype(np.float32).dtype == np.float32
    assert x.numpy() is x.data
    assert cr.zeros((2, 3)).shape == (2, 3) and cr.ones(2).sum().item() == 2
    assert cr.full((2,), 7.0).data.tolist() == [7.0, 7.0]
    assert cr.eye(3).data.trace() == 3 and cr.arange(4).data.tolist() == [0, 1, 2, 3]
    assert cr.linspace(0, 1, 3).data.tolist() == [0.0, 0.5, 1.0]
    assert cr.zeros_like(x).shape == (2,) and cr.ones_like(x).data.sum() == 2


def test_methods_mirror_functions():
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    assert x.sum(axis=0).data.tolist() == [3.0, 5.0, 7.0]
    assert x.mean() .item() == 2.5
    assert x.max(axis=1).data.tolist() == [2.0, 5.0]
    assert x.min().item() == 0.0
    assert x.reshape(3, 2).shape == (3, 2) and x.reshape((6,)).shape == (6,)
    assert x.transpose().shape == (3, 2) and x.transpose(1, 0).shape == (3, 2)
    np.testing.assert_allclose(x.var(ddof=1).data, np.var(x.data, ddof=1))
    np.testing.assert_allclose(x.std().data, np.std(x.data))
    np.testing.assert_allclose(x.prod(axis=1).data, [0.0, 60.0])
    np.testing.assert_allclose(x.exp().log().data, x.data, atol=1e-12)


def test_inplace_assignment_into_graph_tensor_is_refused():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place assignment"):
        x[0] = 5.0
    y = cr.tensor([1.0, 2.0])
    y[0] = 5.0
    assert y.data.tolist() == [5.0, 2.0]


def test_dtype_names_are_numpy_types():
    x = cr.ones(3, dtype=cr.float32)
    assert x.dtype == cr.float32 and cr.tensor([1.0], dtype=cr.float64).dtype == np.float64
