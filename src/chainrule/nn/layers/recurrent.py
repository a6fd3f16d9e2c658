"""Recurrent layers: RNN, LSTM, GRU (multi-layer, batch_first, bidirectional) and their cells.

Parameters and gate order match PyTorch (`weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`,
`bias_hh_l{k}`, `_reverse` for the backward direction; LSTM gates i, f, g, o; GRU gates
r, z, n), all initialized U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)). Each layer
is a Python loop over time steps, and the graph it records carries gradients back
through time.
"""

from __future__ import annotations

import math

import numpy as np

import chainrule as cr

from .. import functional as F
from .. import init
from ..module import Module, call_in_scope
from ..parameter import Parameter

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_step(mode):
    act = cr.tanh if mode == "RNN_TANH" else cr.relu

    def step(xw, h, w_hh, b_hh, state):
        return act(xw + F.linear(h, w_hh, b_hh)), None

    return step


def _lstm_step(xw, h, w_hh, b_hh, c):
    gates = xw + F.linear(h, w_hh, b_hh)
    n = h.shape[-1]
    i = cr.sigmoid(gates[..., :n])
    f = cr.sigmoid(gates[..., n:2 * n])
    g = cr.tanh(gates[..., 2 * n:3 * n])
    o = cr.sigmoid(gates[..., 3 * n:])
    c = f * c + i * g
    return o * cr.tanh(c), c


def _gru_step(xw, h, w_hh, b_hh, state):
    hw = F.linear(h, w_hh, b_hh)
    n = h.shape[-1]
    rz = cr.sigmoid(xw[..., :2 * n] + hw[..., :2 * n])
    r, z = rz[..., :n], rz[..., n:]
    cand = cr.tanh(xw[..., 2 * n:] + r * hw[..., 2 * n:])
    return cand + z * (h - cand), None


def _cell(step, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One time step of one layer: the cell the explainer draws as a group."""
    return step(F.linear(x, w_ih, b_ih), h, w_hh, b_hh, c)


def _step_fn(mode):
    if mode == "LSTM":
        return _lstm_step
    if mode == "GRU":
        return _gru_step
    return _rnn_step(mode)


class _RNNBase(Module):
    mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, dtype=None, generator=None, checkpoint=None):
        super().__init__()
        if checkpoint is not None and checkpoint != "binomial" and not (
                isinstance(checkpoint, int) and not isinstance(checkpoint, bool)
                and checkpoint >= 1) and not isinstance(checkpoint, dict):
            raise ValueError(f"{type(self).__name__}: checkpoint must be None, 'binomial', a "
                             "number of snapshots or a dict of cr.scan options (snapshots=, "
                             f"memory_budget=), got {checkpoint!r}")
        # Recompute instead of store: each layer runs as cr.scan (revolve's schedule).
        self.checkpoint = checkpoint
        if num_layers < 1:
            raise ValueError(f"{type(self).__name__}: num_layers must be >= 1, got {num_layers}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout must lie in [0, 1], got {dropout}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        dtype = init.get_default_dtype() if dtype is None else dtype
        gates = _GATES[self.mode] * hidden_size
        dirs = 2 if bidirectional else 1
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else hidden_size * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                setattr(self, "weight_ih" + sfx, Parameter(np.zeros((gates, in_size), dtype)))
                setattr(self, "weight_hh" + sfx,
                        Parameter(np.zeros((gates, hidden_size), dtype)))
                if bias:
                    setattr(self, "bias_ih" + sfx, Parameter(np.zeros(gates, dtype)))
                    setattr(self, "bias_hh" + sfx, Parameter(np.zeros(gates, dtype)))
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -k, k, generator)

    def _weights(self, layer, d):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        get = self._parameters.get
        return get("weight_ih" + sfx), get("weight_hh" + sfx), get("bias_ih" + sfx), \
            get("bias_hh" + sfx)

    def _initial(self, hx, batch, dtype, unbatched):
        shape = (self.num_layers * (2 if self.bidirectional else 1), batch, self.hidden_size)
        if hx is None:
            return cr.zeros(shape, dtype=dtype)
        hx = hx if isinstance(hx, cr.Tensor) else cr.tensor(hx)
        if unbatched:
            hx = cr.expand_dims(hx, 1)
        if hx.shape != shape:
            raise ValueError(f"{type(self).__name__}: initial state of shape {hx.shape}, "
                             f"expected {shape[:1] + shape[2:] if unbatched else shape}")
        return hx

    def forward(self, input, hx=None):
        """input (L, N, H_in), or (N, L, H_in) with batch_first, or unbatched (L, H_in).

        Returns (output, h_n) — for LSTM (output, (h_n, c_n)) — with output (L, N, D*H)
        and h_n (num_layers*D, N, H) (batch axis dropped for an unbatched input)."""
        x = input if isinstance(input, cr.Tensor) else cr.tensor(input)
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(f"{type(self).__name__}: expected an input (L, N, {self.input_size})"
                             f" (or batch_first / unbatched), got shape {x.shape}")
        unbatched = x.ndim == 2
        if unbatched:
            x = cr.expand_dims(x, 1)
        time_axis = 1 if self.batch_first and not unbatched else 0
        length, batch = x.shape[time_axis], x.shape[1 - time_axis]
        lstm = self.mode == "LSTM"
        h0, c0 = (hx if lstm and hx is not None else (hx, None))
        h0 = self._initial(h0, batch, x.dtype, unbatched)
        c0 = self._initial(c0, batch, x.dtype, unbatched) if lstm else None
        step = _step_fn(self.mode)
        dirs = 2 if self.bidirectional else 1
        if self.checkpoint is not None:
            out, h_n, c_n = self._scanned(x, time_axis, h0, c0, step, dirs)
            if unbatched:
                out, h_n = out[:, 0], h_n[:, 0]
                c_n = c_n[:, 0] if lstm else None
            return (out, (h_n, c_n)) if lstm else (out, h_n)
        # The sequence is kept as a list of (N, H) steps: no step ever indexes (or, going
        # back, scatters into) a whole-sequence tensor, so backward is linear in length.
        index = (slice(None),) * time_axis
        xs = [x[index + (t,)] for t in range(length)]
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, d)
                h = h0[layer * dirs + d]
                c = c0[layer * dirs + d] if lstm else None
                hs = [None] * length
                for t in (range(length - 1, -1, -1) if d else range(length)):
                    h, c = call_in_scope(f"step {t}", _cell, (step, xs[t], h, c, w_ih, w_hh,
                                                              b_ih, b_hh))
                    hs[t] = h
                outs.append(hs)
                h_n.append(h)
                c_n.append(c)
            xs = outs[0] if dirs == 1 else [cr.concatenate(pair, axis=-1)
                                            for pair in zip(*outs)]
            if self.dropout and self.training and layer < self.num_layers - 1:
                xs = [F.dropout(v, self.dropout, True) for v in xs]
        out = cr.stack(xs, axis=time_axis)
        h_n = cr.stack(h_n, axis=0)
        c_n = cr.stack(c_n, axis=0) if lstm else None
        if unbatched:
            out, h_n = out[:, 0], h_n[:, 0]
            c_n = c_n[:, 0] if lstm else None
        return (out, (h_n, c_n)) if lstm else (out, h_n)

    def _scanned(self, x, time_axis, h0, c0, step, dirs):
        """The layers as `cr.scan` loops: states are recomputed in backward, not stored."""
        lstm = self.mode == "LSTM"
        if isinstance(self.checkpoint, dict):
            options = self.checkpoint
        elif isinstance(self.checkpoint, int):
            options = {"snapshots": self.checkpoint}
        else:
            options = {}
        seq = cr.moveaxis(x, time_axis, 0) if time_axis else x
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, d)

                def cell(carry, x_t, w_ih=w_ih, w_hh=w_hh, b_ih=b_ih, b_hh=b_hh):
                    h, c = carry if lstm else (carry, None)
                    h, c = step(F.linear(x_t, w_ih, b_ih), h, w_hh, b_hh, c)
                    return ((h, c) if lstm else h), h

                k = layer * dirs + d
                init = (h0[k], c0[k]) if lstm else h0[k]
                carry, ys = cr.scan(cell, init, cr.flip(seq, 0) if d else seq, **options)
                outs.append(cr.flip(ys, 0) if d else ys)
                h_n.append(carry[0] if lstm else carry)
                c_n.append(carry[1] if lstm else None)
            seq = outs[0] if dirs == 1 else cr.concatenate(outs, axis=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                seq = F.dropout(seq, self.dropout, True)
        out = cr.moveaxis(seq, 0, time_axis) if time_axis else seq
        return out, cr.stack(h_n, axis=0), cr.stack(c_n, axis=0) if lstm else None

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        if self.checkpoint is not None:
            s += f", checkpoint={self.checkpoint!r}"
        return s


class RNN(_RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, dtype=None,
                 generator=None, checkpoint=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype, generator, checkpoint)
        self.nonlinearity = nonlinearity

    def extra_repr(self):
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + ", nonlinearity='relu'"


class LSTM(_RNNBase):
    """Long short-term memory; forward returns (output, (h_n, c_n)); hx = (h_0, c_0)."""

    mode = "LSTM"


class GRU(_RNNBase):
    """Gated recurrent unit (PyTorch's formulation, r applied to W_hn h + b_hn)."""

    mode = "GRU"


class _CellBase(Module):
    mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype=None,
                 generator=None):
        super().__init__()
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.bias = bias
        dtype = init.get_default_dtype() if dtype is None else dtype
        gates = _GATES[self.mode] * hidden_size
        self.weight_ih = Parameter(np.zeros((gates, input_size), dtype))
        self.weight_hh = Parameter(np.zeros((gates, hidden_size), dtype))
        if bias:
            self.bias_ih = Parameter(np.zeros(gates, dtype))
            self.bias_hh = Parameter(np.zeros(gates, dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        k = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            init.uniform_(p, -k, k, generator)

    def forward(self, input, hx=None):
        x = input if isinstance(input, cr.Tensor) else cr.tensor(input)
        lstm = self.mode == "LSTM"
        shape = x.shape[:-1] + (self.hidden_size,)
        if hx is None:
            zero = cr.zeros(shape, dtype=x.dtype)
            hx = (zero, zero) if lstm else zero
        h, c = hx if lstm else (hx, None)
        xw = F.linear(x, self.weight_ih, self.bias_ih)
        h, c = _step_fn(self.mode)(xw, h, self.weight_hh, self.bias_hh, c)
        return (h, c) if lstm else h

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    """One Elman RNN step: returns h'."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=None,
                 generator=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(input_size, hidden_size, bias, dtype, generator)


class LSTMCell(_CellBase):
    """One LSTM step: (h', c') = cell(x, (h, c))."""

    mode = "LSTM"


class GRUCell(_CellBase):
    """One GRU step: h' = cell(x, h)."""

    mode = "GRU"
