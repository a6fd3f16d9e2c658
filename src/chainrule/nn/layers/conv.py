"""Convolution layers: Conv1d/2d/3d and ConvTranspose1d/2d, PyTorch's parameter layout
and initialization, built on the conv2d primitive family."""

from __future__ import annotations

import math

import numpy as np

from ...ops.conv import pair
from ...ops.conv_nd import single, triple
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter

_TUPLE = {1: single, 2: pair, 3: triple}


class _ConvNd(Module):
    """Shared construction: weight (out, in/groups, *kernel) or, transposed,
    (in, out/groups, *kernel), both initialized as PyTorch does (uniform, bound
    1/sqrt(fan_in) with fan_in = weight.shape[1] * kernel size)."""

    dims = 2
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True, dtype=None,
                 generator=None, output_padding=0):
        super().__init__()
        name, as_tuple = type(self).__name__, self._tuple
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.groups = int(groups)
        if self.groups < 1 or self.in_channels % self.groups or \
                self.out_channels % self.groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels "
                             f"({in_channels}) and out_channels ({out_channels})")
        self.kernel_size = as_tuple(kernel_size, f"{name}: kernel_size")
        self.stride = as_tuple(stride, f"{name}: stride")
        self.dilation = as_tuple(dilation, f"{name}: dilation")
        self.output_padding = as_tuple(output_padding, f"{name}: output_padding")
        self.padding = as_tuple(self._padding(padding, name), f"{name}: padding")
        dtype = init.get_default_dtype() if dtype is None else dtype
        lead = ((self.in_channels, self.out_channels // self.groups) if self.transposed
                else (self.out_channels, self.in_channels // self.groups))
        self.weight = Parameter(np.zeros(lead + self._tuple_of(self.kernel_size), dtype))
        if bias:
            self.bias = Parameter(np.zeros((self.out_channels,), dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    @property
    def _tuple(self):
        return _TUPLE[self.dims]

    @staticmethod
    def _tuple_of(v):
        return v if isinstance(v, tuple) else (v,)

    def _padding(self, padding, name):
        if padding == "valid":
            return 0
        if padding != "same":
            return padding
        span = [d * (k - 1) for k, d in zip(self._tuple_of(self.kernel_size),
                                            self._tuple_of(self.dilation))]
        if self.transposed or set(self._tuple_of(self.stride)) != {1} or \
                any(s % 2 for s in span):
            raise ValueError(f"{name}: padding='same' needs stride 1 and an odd (dilated) "
                             f"kernel, got stride {self.stride}, kernel {self.kernel_size}, "
                             f"dilation {self.dilation}")
        same = tuple(s // 2 for s in span)
        return same[0] if self.dims == 1 else same

    def reset_parameters(self, generator=None):
        fan_in = self.weight.shape[1] * math.prod(self.weight.shape[2:])
        init.default_linear_init_(self.weight, self.bias, fan_in, generator)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        ones, zeros = self._tuple(1), self._tuple(0)
        for name, default in (("padding", zeros), ("output_padding", zeros),
                              ("dilation", ones)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, dtype=None, generator=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, dtype, generator)


class Conv1d(_Conv):
    """1-D convolution (cross-correlation) over (N, C, L) with stride, zero padding
    (an int, 'valid' or 'same'), dilation and groups."""

    dims = 1

    def forward(self, x):
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class Conv2d(_Conv):
    """2-D convolution (cross-correlation) with stride, zero padding (an int, a pair,
    'valid' or 'same'), dilation and groups (groups == in_channels: depthwise).

    weight (out_channels, in_channels / groups, kh, kw) and bias (out_channels,) are
    initialized as in PyTorch."""

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class Conv3d(_Conv):
    """3-D convolution over (N, C, D, H, W): one 2-D convolution per depth tap."""

    dims = 3

    def forward(self, x):
        return F.conv3d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class _ConvTranspose(_ConvNd):
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, dtype=None,
                 generator=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, dtype, generator, output_padding)


class ConvTranspose1d(_ConvTranspose):
    """Transposed 1-D convolution (the adjoint of Conv1d); weight (in, out/groups, k)."""

    dims = 1

    def forward(self, x):
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)


class ConvTranspose2d(_ConvTranspose):
    """Transposed 2-D convolution (the adjoint of Conv2d, conv2d's input gradient);
    weight (in, out/groups, kh, kw)."""

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)
