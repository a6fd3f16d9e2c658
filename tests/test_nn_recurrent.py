"""RNN, LSTM, GRU and their cells: NumPy reference recurrences, shapes, gradients through time."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

from .test_nn_layers import check_module

RNG = np.random.default_rng(1)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def step_ref(mode, p, x, h, c):
    """One step of PyTorch's recurrences, in NumPy."""
    w_ih, w_hh, b_ih, b_hh = p
    xw, hw = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    n = h.shape[-1]
    if mode == "RNN":
        return np.tanh(xw + hw), None
    if mode == "LSTM":
        g = xw + hw
        i, f, gg, o = sigmoid(g[:, :n]), sigmoid(g[:, n:2 * n]), np.tanh(g[:, 2 * n:3 * n]), \
            sigmoid(g[:, 3 * n:])
        c = f * c + i * gg
        return o * np.tanh(c), c
    r = sigmoid(xw[:, :n] + hw[:, :n])
    z = sigmoid(xw[:, n:2 * n] + hw[:, n:2 * n])
    cand = np.tanh(xw[:, 2 * n:] + r * hw[:, 2 * n:])
    return (1 - z) * cand + z * h, None


def run_ref(mode, module, x):
    """Multi-layer, unidirectional reference; x is (L, N, H_in)."""
    hs, cs = [], []
    for layer in range(module.num_layers):
        p = [getattr(module, f"{k}_l{layer}").data
             for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        h = np.zeros((x.shape[1], module.hidden_size))
        c = np.zeros_like(h)
        outs = []
        for t in range(x.shape[0]):
            h, c = step_ref(mode, p, x[t], h, c)
            outs.append(h)
        x = np.stack(outs)
        hs.append(h)
        cs.append(c)
    return x, np.stack(hs), np.stack(cs)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_recurrent_values_match_reference(mode):
    layer = getattr(nn, mode)(3, 4, num_layers=2).double()
    x = RNG.standard_normal((5, 2, 3))
    out, state = layer(cr.tensor(x))
    ref_out, ref_h, ref_c = run_ref(mode, layer, x)
    np.testing.assert_allclose(out.data, ref_out, atol=1e-12)
    h_n = state[0] if mode == "LSTM" else state
    np.testing.assert_allclose(h_n.data, ref_h, atol=1e-12)
    if mode == "LSTM":
        np.testing.assert_allclose(state[1].data, ref_c, atol=1e-12)
    gates = {"RNN": 1, "LSTM": 4, "GRU": 3}[mode]
    assert [(n, p.shape) for n, p in layer.named_parameters()][:4] == [
        ("weight_ih_l0", (gates * 4, 3)), ("weight_hh_l0", (gates * 4, 4)),
        ("bias_ih_l0", (gates * 4,)), ("bias_hh_l0", (gates * 4,))]
    assert np.abs(layer.weight_hh_l1.data).max() <= 0.5  # U(+-1/sqrt(hidden_size))


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_batch_first_bidirectional_and_unbatched_shapes(mode):
    cls = getattr(nn, mode)
    layer = cls(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    x = cr.tensor(RNG.standard_normal((2, 5, 3)).astype(np.float32))
    out, state = layer(x)
    assert out.shape == (2, 5, 8) and out.dtype == np.float32
    h_n = state[0] if mode == "LSTM" else state
    assert h_n.shape == (4, 2, 4)
    # batch_first only transposes: the same weights on the (L, N, H) layout agree.
    plain = cls(3, 4, num_layers=2, bidirectional=True)
    plain.load_state_dict(layer.state_dict())
    out2, _ = plain(cr.swapaxes(x, 0, 1))
    np.testing.assert_allclose(cr.swapaxes(out2, 0, 1).data, out.data, atol=1e-6)
    # The reverse direction's last state is its output at time 0.
    np.testing.assert_allclose(h_n.data[-1], out.data[:, 0, 4:], atol=1e-6)
    single, state = cls(3, 4)(cr.tensor(RNG.standard_normal((5, 3))))
    assert single.shape == (5, 4)
    assert (state[0] if mode == "LSTM" else state).shape == (1, 4)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_gradients_through_time(mode):
    layer = getattr(nn, mode)(2, 3, num_layers=2, bidirectional=True)
    check_module(layer, RNG.standard_normal((3, 2, 2)))


def test_initial_state_and_gradient_reaching_first_input():
    lstm = nn.LSTM(2, 3, batch_first=True).double()
    h0 = RNG.standard_normal((1, 2, 3))
    c0 = RNG.standard_normal((1, 2, 3))
    x = cr.tensor(RNG.standard_normal((2, 6, 2)), requires_grad=True)
    out, (h, c) = lstm(x, (cr.tensor(h0), cr.tensor(c0)))
    h.sum().backward()
    assert np.abs(x.grad.data[:, 0]).sum() > 0  # the last state depends on step 0
    names = [n for n, _ in lstm.named_parameters()]

    def f(x, h0, c0, *params):
        return nn.functional_call(lstm, dict(zip(names, params)), x, (h0, c0))[1][1]

    cr.testing.check_grads(f, (x.data, h0, c0, *[p.data for p in lstm.parameters()]),
                           order=1)
    with pytest.raises(ValueError, match="initial state of shape"):
        lstm(x, (cr.tensor(np.zeros((2, 2, 3))), cr.tensor(c0)))


def test_rnn_relu_and_dropout_between_layers():
    rnn = nn.RNN(2, 3, num_layers=2, nonlinearity="relu", dropout=0.5)
    assert "nonlinearity='relu'" in repr(rnn) and "dropout=0.5" in repr(rnn)
    x = cr.tensor(RNG.standard_normal((4, 1, 2)).astype(np.float32))
    rnn.eval()
    a, _ = rnn(x)
    b, _ = rnn(x)
    np.testing.assert_array_equal(a.data, b.data)
    assert np.all(a.data >= 0)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(2, 3, nonlinearity="gelu")


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_cells_match_one_step_of_the_layer(mode):
    cell = getattr(nn, mode + "Cell")(3, 4).double()
    layer = getattr(nn, mode)(3, 4).double()
    layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    x = RNG.standard_normal((2, 3))
    out, _ = layer(cr.tensor(x[None]))
    h = cell(cr.tensor(x))
    np.testing.assert_allclose((h[0] if mode == "LSTM" else h).data, out.data[0], atol=1e-12)
    check_module(cell, x)
