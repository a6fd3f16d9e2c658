"""Convolution layer: Conv2d (NCHW), built on the im2col conv2d primitive."""

from __future__ import annotations

import numpy as np

from ...ops.conv import pair
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter


class Conv2d(Module):
    """2-D convolution (cross-correlation) with stride and zero padding.

    weight (out_channels, in_channels, kh, kw) and bias (out_channels,) are initialized as
    in PyTorch. `padding` may be an int, a pair, 'valid' or 'same' (stride 1, odd kernel).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, bias: bool = True, dtype=None, generator=None):
        super().__init__()
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = pair(kernel_size, "Conv2d: kernel_size")
        self.stride = pair(stride, "Conv2d: stride")
        if padding == "valid":
            padding = 0
        elif padding == "same":
            if self.stride != (1, 1) or any(k % 2 == 0 for k in self.kernel_size):
                raise ValueError("Conv2d: padding='same' needs stride 1 and an odd kernel, got "
                                 f"stride {self.stride} and kernel {self.kernel_size}")
            padding = (self.kernel_size[0] // 2, self.kernel_size[1] // 2)
        self.padding = pair(padding, "Conv2d: padding")
        dtype = init.get_default_dtype() if dtype is None else dtype
        self.weight = Parameter(np.zeros((out_channels, in_channels) + self.kernel_size, dtype))
        if bias:
            self.bias = Parameter(np.zeros((out_channels,), dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        init.default_linear_init_(self.weight, self.bias, fan_in, generator)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.bias is None:
            s += ", bias=False"
        return s
