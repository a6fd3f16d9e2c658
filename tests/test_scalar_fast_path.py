"""The scalar fast path (docs/engine.md): 0-d values keep NumPy's float scalars and binary
arithmetic runs NumPy's scalar math, with the same numbers, dtypes and gradients as 0-d
arrays through the ufuncs; leaves' gradients stay ndarrays."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import core


def _scalar_mlp_grads(make):
    """Gradients of a small scalar expression, parameters made by `make`."""
    w, b = make(0.7), make(-0.2)
    x = 1.5
    h = cr.tanh(w * x + b)
    loss = (h - 0.25) ** 2 / 3.0 + cr.sin(h) * w - 2.0 ** h
    loss.backward()
    return loss.item(), w.grad.item(), b.grad.item()


def test_zero_d_results_hold_numpy_scalars_with_array_facts():
    w = cr.tensor(0.5, requires_grad=True)
    y = w * 2.0 + 1.0
    assert type(y.data) is np.float64
    assert (y.shape, y.ndim, y.size, y.dtype) == ((), 0, 1, np.float64)
    assert np.asarray(y).shape == () and y.item() == 2.0


def test_scalar_path_gives_the_array_path_numbers():
    fast = _scalar_mlp_grads(lambda v: cr.tensor(v, requires_grad=True))
    # the same expression on shape-(1,) tensors never takes the scalar path
    w, b = cr.tensor([0.7], requires_grad=True), cr.tensor([-0.2], requires_grad=True)
    h = cr.tanh(w * 1.5 + b)
    loss = ((h - 0.25) ** 2 / 3.0 + cr.sin(h) * w - 2.0 ** h).sum()
    loss.backward()
    slow = (loss.item(), w.grad.item(), b.grad.item())
    assert fast == pytest.approx(slow, rel=1e-15, abs=0)
    w0 = 0.7
    h0 = np.tanh(w0 * 1.5 - 0.2)
    dh = 2 * (h0 - 0.25) / 3 + np.cos(h0) * w0 - np.log(2) * 2.0 ** h0
    assert fast[1] == pytest.approx(dh * (1 - h0 ** 2) * 1.5 + np.sin(h0), rel=1e-12)


def test_float32_scalars_stay_float32():
    w = cr.tensor(np.float32(0.5), requires_grad=True)
    y = (w * 3.0 + 1.0) * w - 2
    assert type(y.data) is np.float32 and y.dtype == np.float32
    y.backward()
    assert w.grad.dtype == np.float32 and w.grad.item() == pytest.approx(4.0)


def test_scalar_arithmetic_keeps_numpys_inf_and_nan():
    zero = cr.tensor(1.0) * 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert (cr.tensor(1.0) * 1.0 / zero).item() == np.inf
        assert np.isnan((cr.tensor(-8.0) * 1.0 ** 1 - 0.0) ** (cr.tensor(1.0) / 3.0)).item()


def test_scalar_and_array_operands_mix():
    s = cr.tensor(2.0) * 1.0  # a NumPy scalar inside
    v = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = s * v + s
    assert type(out.data) is np.ndarray and out.tolist() == [4.0, 6.0, 8.0]
    out.sum().backward()
    assert v.grad.tolist() == [2.0, 2.0, 2.0]


def test_leaf_grads_are_ndarrays_so_zero_grad_writes_in_place():
    w = cr.tensor(0.5, requires_grad=True)
    opt = cr.optim.SGD([w], lr=0.1)
    for _ in range(2):  # the second backward accumulates into the first's .grad
        (w * w * 1.0).backward()
    assert type(w.grad.data) is np.ndarray and w.grad.item() == 2.0
    opt.zero_grad(set_to_none=False)
    assert w.grad.item() == 0.0


def test_create_graph_through_scalars_keeps_the_graph():
    x = cr.tensor(1.5, requires_grad=True)
    (x * x * x).backward(create_graph=True)
    g = x.grad
    assert type(g.data) is np.ndarray and g.item() == pytest.approx(6.75)
    x.grad = None
    g.backward()
    assert x.grad.item() == pytest.approx(9.0)


def test_only_arithmetic_ufuncs_get_a_scalar_form():
    with_form = {name for name, p in core.builtin_primitives().items() if p.scalar is not None}
    assert with_form == {"add", "subtract", "multiply", "divide", "power"}


def test_lean_tensors_keep_retain_grad_and_versions_outside_their_slots():
    assert "_retains_grad" not in core.TensorBase.__slots__
    assert "_version" not in core.TensorBase.__slots__
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3.0).retain_grad()
    (h * h).sum().backward()
    assert h.grad.tolist() == [6.0, 12.0]
    c = cr.tensor([1.0, 2.0])
    assert c.version == 0
    c[0] = 5.0
    assert c.version > 0


def test_a_scalar_result_can_be_written_and_read_as_an_array():
    t = cr.tensor(1.0) * 2.0
    t[()] = 5.0
    assert t.item() == 5.0 and type(t.numpy()) is np.ndarray
    assert np.asarray(cr.tensor(3.0) * 1.0).shape == ()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_on_scalars_is_numpys_maximum_bit_for_bit(dtype):
    for v in [1.5, -2.0, 0.0, -0.0, np.nan, -np.inf, np.inf]:
        x = cr.tensor(v, dtype=dtype) * 1.0   # a NumPy scalar: the scalar path
        got, want = cr.relu(x).data, np.maximum(dtype(v), dtype(0))
        assert type(got) is type(want)
        assert np.array_equal(got, want, equal_nan=True)
        assert np.signbit(got) == np.signbit(want)


def test_numbers_in_a_scalar_loop_are_shared_constants_but_zero_keeps_its_sign():
    x = cr.tensor(0.5, requires_grad=True)
    a, b = x * 0.999, x * 0.999
    assert a._node[1] is b._node[1]          # one constant tensor for 0.999, not one per op
    assert type(a._node[1].data) is np.float64
    c = x * np.float64(0.999)               # a NumPy scalar of x's dtype: the same constant
    assert c._node[1] is a._node[1]
    half = cr.tensor(np.float32(2.0)) * np.float64(0.5)   # NumPy 2: not a weak scalar
    assert half.dtype == np.float64
    neg = cr.tensor(2.0) * 1.0 * -0.0       # -0.0 and 0.0 are one dict key, not one operand
    pos = cr.tensor(2.0) * 1.0 * 0.0
    assert np.signbit(neg.data) and not np.signbit(pos.data)
    (a + b).backward()
    assert x.grad.item() == pytest.approx(2 * 0.999)
    shared = (x * 0.999).inputs[1]   # reachable as an input: writing into it changes them all
    with pytest.raises(RuntimeError, match="shares between the ops"):
        shared[...] = 5.0
    with pytest.raises(RuntimeError, match="shares between the ops"):
        shared.zero_()
    assert (x * 0.999).inputs[1].item() == 0.999


def test_a_node_is_the_list_of_its_inputs_but_compares_as_itself():
    a, b = cr.tensor(1.0, requires_grad=True), cr.tensor(2.0, requires_grad=True)
    c, d = a * b, a * b
    assert c.inputs == (a, b) and list(c._node) == [a, b]
    assert c._node != d._node and len({c._node, d._node}) == 2 and c._node
    c.backward()
    assert c._node.inputs is None and c._node     # freed, still a node
    with pytest.raises(RuntimeError, match="freed by an earlier backward"):
        c.backward()
