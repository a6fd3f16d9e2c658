"""Neural-network primitives: linear, conv2d and its two VJPs (with dilation and groups),
pooling (with ceil_mode), dropout, cross-entropy, erf, normalize (layer/group/instance norm)."""

import numpy as np

from chainrule.ops import conv, conv_nd, dropout, elementwise, nn, pool
from chainrule.ops._define import bind_tensors

from . import OpCase, normal

_TARGET = np.array([2, 0, 3, 3, 1])
_TARGET_2D = np.array([[0, 2], [1, 1]])

_S2P1 = {"stride": (2, 2), "padding": (1, 1)}
_S1P0 = {"stride": (1, 1), "padding": (0, 0)}
_S1P1 = {"stride": (1, 1), "padding": (1, 1)}


def _distinct(*shapes):
    """Normal samples nudged so no window holds a near-tie (max pooling is smooth there)."""
    def make(rng):
        out = []
        for s in shapes:
            n = int(np.prod(s))
            out.append((rng.permutation(n) / n * 4 - 2 + rng.uniform(0, 0.1 / n, n))
                       .reshape(s))
        return tuple(out)
    return make


def _input_grad(g, w, x_shape, **p):
    return bind_tensors(conv.conv2d_input_grad_p, (g, w), {"x_shape": x_shape, **p})


def _weight_grad(x, g, kernel, **p):
    return bind_tensors(conv.conv2d_weight_grad_p, (x, g), {"kernel": kernel, **p})


_S2P1D2G2 = {"stride": (2, 1), "padding": (1, 2), "dilation": (2, 2), "groups": 2}
_S1P1D1G3 = {"stride": (1, 1), "padding": (1, 1), "dilation": (1, 1), "groups": 3}
_POOL = {"kernel": (3, 3), "stride": (2, 2), "padding": (1, 1)}

CASES = [
    OpCase("linear", lambda x, w, b: nn.linear(x, w, b) ** 2, normal((4, 3), (2, 3), (2,))),
    OpCase("linear", lambda x, w, b: nn.linear(x, w, b) ** 2, normal((2, 2, 3), (2, 3), (2,)),
           "batched"),
    OpCase("linear", lambda x, w, b: nn.linear(x, w, b) ** 2, normal((3,), (2, 3), (2,)),
           "vector"),
    OpCase("linear_input_grad",
           lambda g, w: bind_tensors(nn.linear_input_grad_p, (g, w)) ** 2,
           normal((2, 3, 2), (2, 4))),
    OpCase("linear_weight_grad",
           lambda g, x: bind_tensors(nn.linear_weight_grad_p, (g, x)) ** 2,
           normal((2, 3, 2), (2, 3, 4))),
    OpCase("linear_weight_grad",
           lambda g, x: bind_tensors(nn.linear_weight_grad_p, (g, x)) ** 2,
           normal((2,), (3,)), "vectors"),
    OpCase("conv2d", lambda x, w: conv.conv2d(x, w) ** 2, normal((2, 2, 4, 4), (3, 2, 2, 3))),
    OpCase("conv2d", lambda x, w, b: conv.conv2d(x, w, b, stride=2, padding=1) ** 2,
           normal((1, 2, 5, 4), (2, 2, 3, 3), (2,)), "stride-padding"),
    OpCase("conv2d", lambda x, w: conv.conv2d(x, w, stride=(1, 2), padding=(0, 1)) ** 2,
           normal((1, 1, 4, 5), (2, 1, 2, 2)), "asymmetric"),
    OpCase("conv2d_input_grad", lambda g, w: _input_grad(g, w, (1, 2, 5, 5), **_S2P1) ** 2,
           normal((1, 3, 3, 3), (3, 2, 3, 3))),
    OpCase("conv2d_input_grad", lambda g, w: _input_grad(g, w, (1, 2, 4, 4), **_S1P1) ** 2,
           normal((1, 3, 4, 4), (3, 2, 3, 3)), "stride1-full-correlation"),
    OpCase("conv2d", lambda x, w: conv.conv2d(x, w, padding=1) ** 2,
           normal((1, 2, 2, 3), (2, 2, 1, 1)), "padding-beyond-kernel"),
    OpCase("conv2d_weight_grad", lambda x, g: _weight_grad(x, g, (2, 2), **_S1P0) ** 2,
           normal((2, 2, 3, 3), (2, 3, 2, 2))),
    OpCase("conv2d", lambda x, w, b: conv.conv2d(x, w, b, 2, 1, 2, 2) ** 2,
           normal((2, 4, 6, 5), (4, 2, 2, 3), (4,)), "dilation-groups"),
    OpCase("conv2d", lambda x, w: conv.conv2d(x, w, None, 1, 1, 1, 3) ** 2,
           normal((1, 3, 4, 4), (3, 1, 3, 3)), "depthwise"),
    OpCase("conv2d_input_grad",
           lambda g, w: _input_grad(g, w, (1, 4, 6, 5), **_S2P1D2G2) ** 2,
           normal((1, 4, 3, 5), (4, 2, 2, 3)), "dilation-groups"),
    OpCase("conv2d_input_grad",
           lambda g, w: _input_grad(g, w, (1, 3, 4, 4), **_S1P1D1G3) ** 2,
           normal((1, 6, 4, 4), (6, 1, 3, 3)), "depthwise-multiplier"),
    OpCase("conv2d_weight_grad",
           lambda x, g: _weight_grad(x, g, (2, 3), **_S2P1D2G2) ** 2,
           normal((1, 4, 6, 5), (1, 4, 3, 5)), "dilation-groups"),
    OpCase("conv2d", lambda x, w, b: conv.conv_transpose2d(x, w, b, 2, 1, 1, 2, 1) ** 2,
           normal((1, 4, 3, 3), (4, 1, 3, 3), (2,)), "conv_transpose2d"),
    OpCase("conv2d", lambda x, w, b: conv_nd.conv3d(x, w, b, (2, 1, 1), 1, (1, 1, 2), 2) ** 2,
           normal((1, 2, 4, 3, 4), (2, 1, 2, 2, 2), (2,)), "conv3d"),
    OpCase("conv2d", lambda x, w: conv_nd.conv1d(x, w, None, 2, 1, 2, 1) ** 2,
           normal((2, 2, 7), (3, 2, 3)), "conv1d"),
    OpCase("conv2d_input_grad", lambda x, w: conv_nd.conv_transpose1d(x, w, None, 3, 1, 2) ** 2,
           normal((1, 2, 3), (2, 2, 3)), "conv_transpose1d"),
    OpCase("dropout", lambda x: dropout.dropout_seeded(x, 0.4, 7) ** 2, normal((3, 5))),
    OpCase("max_pool2d", lambda x: pool.max_pool2d(x, 3, 2, 1, ceil_mode=True) ** 2,
           _distinct((1, 2, 6, 5)), "ceil-mode"),
    OpCase("avg_pool2d", lambda x: pool.avg_pool2d(x, 3, 2, 1, True, False) ** 2,
           normal((1, 2, 6, 5)), "ceil-mode-exclude-pad"),
    OpCase("max_pool2d", lambda x: pool.max_pool2d(x, 2) ** 2, _distinct((2, 2, 4, 4))),
    OpCase("max_pool2d", lambda x: pool.max_pool2d(x, 3, 2, 1) ** 2, _distinct((1, 2, 5, 5)),
           "overlapping-padded"),
    OpCase("max_pool2d_gather",
           lambda t, x: bind_tensors(pool.max_pool2d_gather_p, (t, x), _POOL) ** 2,
           _distinct((1, 2, 5, 5), (1, 2, 5, 5))),
    OpCase("max_pool2d_scatter",
           lambda g, x: bind_tensors(pool.max_pool2d_scatter_p, (g, x), _POOL) ** 2,
           _distinct((1, 2, 3, 3), (1, 2, 5, 5))),
    OpCase("avg_pool2d", lambda x: pool.avg_pool2d(x, 3, 2, 1) ** 2, normal((1, 2, 5, 4))),
    OpCase("avg_pool2d_transpose",
           lambda g: bind_tensors(pool.avg_pool2d_transpose_p, (g,),
                                    {"x_shape": (1, 2, 5, 5), **_POOL}) ** 2,
           normal((1, 2, 3, 3))),
    OpCase("cross_entropy", lambda x: nn.cross_entropy_per_sample(x, _TARGET) ** 2,
           normal((5, 4))),
    OpCase("cross_entropy", lambda x: nn.cross_entropy_per_sample(x, _TARGET_2D) ** 2,
           normal((2, 3, 2)), "spatial"),
    OpCase("cross_entropy_grad",
           lambda x: bind_tensors(nn.cross_entropy_grad_p, (x,), {"target": _TARGET}) ** 2,
           normal((5, 4))),
    OpCase("erf", lambda x: elementwise.erf(x) * x, normal((3, 4))),
    OpCase("normalize", lambda x: nn.normalize(x, 1, 0.1) ** 3, normal((3, 4))),
    OpCase("normalize", lambda x: nn.normalize(x, 2, 1e-5) ** 3, normal((2, 3, 2)), "2 axes"),
    OpCase("normalize_jacobian",
           lambda v, x: bind_tensors(nn.normalize_jacobian_p, (v, x),
                                     {"naxes": 1, "eps": 0.1}) ** 3, normal((3, 4), (3, 4))),
]
