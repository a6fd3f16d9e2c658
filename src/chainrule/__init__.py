"""chainrule: reverse-mode automatic differentiation on NumPy, that shows its work."""

import numpy as _np

from . import data, linalg, optim, testing
from .core import PRIMITIVES, enable_grad, is_grad_enabled, no_grad
from .io import load, save
from .ops._define import defop
from .ops.elementwise import (
    absolute,
    add,
    arccos,
    arcsin,
    arctan,
    arctan2,
    ceil,
    clip,
    cos,
    cosh,
    divide,
    equal,
    exp,
    expm1,
    floor,
    greater,
    greater_equal,
    isfinite,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logical_and,
    logical_not,
    logical_or,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    power,
    relu,
    sigmoid,
    sign,
    sin,
    sinh,
    softplus,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    where,
)
from .ops.linalg import dot, einsum, matmul, outer, tensordot, vdot
from .ops.nn import log_softmax, softmax
from .ops.reduce import cumsum, logsumexp, max, mean, min, prod, std, sum, var
from .ops.shape import (
    astype,
    broadcast_to,
    concatenate,
    expand_dims,
    flip,
    getitem,
    moveaxis,
    pad,
    reshape,
    split,
    squeeze,
    stack,
    stop_gradient,
    swapaxes,
    take,
    transpose,
)
from .symbolic.jit import jit
from .tensor import (
    Tensor,
    arange,
    eye,
    full,
    linspace,
    ones,
    ones_like,
    tensor,
    zeros,
    zeros_like,
)
from .transforms.api import (
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    value_and_grad,
    vjp,
)
from .transforms.batching import vmap
from .transforms.checkpoint import checkpoint
from .transforms.control import cond, fori_loop
from .transforms.custom import custom_jvp, custom_vjp

abs = absolute  # noqa: A001 - NumPy's name
float32 = _np.float32  # so that x.dtype == cr.float32 and dtype=cr.float32 both work
float64 = _np.float64

__version__ = "0.1.0"

from . import explain, nn  # noqa: E402 - nn builds on the names above; explain sits on top
from .core import seal_builtins as _seal_builtins  # noqa: E402 - after every op is defined

_seal_builtins()
