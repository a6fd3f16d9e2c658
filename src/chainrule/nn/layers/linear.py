"""Fully connected and shape layers: Linear, Identity, Flatten, Unflatten."""

from __future__ import annotations

import numpy as np

import chainrule as cr

from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter


def _empty(shape, dtype):
    return Parameter(np.zeros(shape, dtype=init.get_default_dtype() if dtype is None else dtype))


class Linear(Module):
    """y = x @ weight.T + bias; weight (out_features, in_features) initialized as PyTorch
    does (kaiming_uniform(a=sqrt(5)); bias U(+-1/sqrt(in_features)))."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None,
                 generator=None):
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = _empty((out_features, in_features), dtype)
        if bias:
            self.bias = _empty((out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        init.default_linear_init_(self.weight, self.bias, self.in_features, generator)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """Returns its input."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Flatten(Module):
    """Merge axes start_dim..end_dim (default: all but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis `dim` into `unflattened_size`."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, x):
        d = self.dim % x.ndim
        return cr.reshape(x, x.shape[:d] + self.unflattened_size + x.shape[d + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
