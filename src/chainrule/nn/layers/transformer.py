"""Attention layers with PyTorch's parameter names and layout: MultiheadAttention,
TransformerEncoderLayer, TransformerEncoder (state_dicts load across the two libraries)."""

from __future__ import annotations

import copy

import numpy as np

import chainrule as cr

from .. import functional as F
from .. import init
from ..module import Module, ModuleList
from ..parameter import Parameter
from .dropout import Dropout
from .linear import Linear
from .normalization import LayerNorm


def _each(fn, query, key, value):
    """fn applied to each input, once when they are one tensor (self-attention stays
    recognizable, so its three projections are one product)."""
    if query is key and key is value:
        out = fn(query)
        return out, out, out
    return fn(query), fn(key), fn(value)


class MultiheadAttention(Module):
    """softmax(Q K^T / sqrt(d)) V in `num_heads` heads of embed_dim / num_heads each.

    `forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)` returns (output, weights or None); inputs
    are (L, N, E), or (N, L, E) with batch_first=True. Masks follow PyTorch: True (or -inf)
    marks a position that may NOT be attended to."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = False, dtype=None, generator=None):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} is not divisible by "
                             f"num_heads {num_heads}")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        dtype = init.get_default_dtype() if dtype is None else dtype
        self.in_proj_weight = Parameter(np.zeros((3 * embed_dim, embed_dim), dtype))
        if bias:
            self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype,
                               generator=generator)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        init.xavier_uniform_(self.in_proj_weight, generator=generator)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True, is_causal: bool = False):
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = _each(lambda t: cr.expand_dims(t, 1), query, key, value)
            if key_padding_mask is not None:
                key_padding_mask = np.asarray(key_padding_mask)[None]
        if not self.batch_first or unbatched:
            query, key, value = _each(lambda t: cr.swapaxes(t, 0, 1), query, key, value)
        out, weights = F.multi_head_attention_forward(
            query, key, value, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.out_proj.weight, self.out_proj.bias, key_padding_mask, attn_mask,
            need_weights, average_attn_weights, is_causal, self.dropout, self.training)
        if not self.batch_first or unbatched:
            out = cr.swapaxes(out, 0, 1)
        if unbatched:
            out = cr.squeeze(out, 1)
            weights = None if weights is None else cr.squeeze(weights, 0)
        return out, weights

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")


_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block, each with a residual connection, dropout
    and LayerNorm (after each block, or before with norm_first=True), as in PyTorch."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation="relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 dtype=None, generator=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout, bias, batch_first, dtype,
                                            generator)
        self.linear1 = Linear(d_model, dim_feedforward, bias, dtype, generator)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias, dtype, generator)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ValueError(f"TransformerEncoderLayer: activation must be 'relu', 'gelu' "
                                 f"or a function, got {activation!r}")
            activation = _ACTIVATIONS[activation]
        self.activation = activation

    def _attend(self, x, mask, padding, is_causal):
        out, _ = self.self_attn(x, x, x, key_padding_mask=padding, need_weights=False,
                                attn_mask=mask, is_causal=is_causal)
        return self.dropout1(out)

    def _feed_forward(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        x = src
        if self.norm_first:
            x = x + self._attend(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._attend(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._feed_forward(x))


class TransformerEncoder(Module):
    """`num_layers` copies of `encoder_layer` applied in turn, then an optional norm."""

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm=None):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = int(num_layers)
        self.add_module("norm", norm)  # None allowed, as in PyTorch

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal: bool = False):
        x = src
        for layer in self.layers:
            x = layer(x, mask, src_key_padding_mask, is_causal)
        return self.norm(x) if self.norm is not None else x
