"""chainrule: reverse-mode automatic differentiation on NumPy, that shows its work.

Every name below is imported from the module that defines it. The libraries built on the
public API (nn, optim, data, io, explain, symbolic) import `chainrule` themselves, so they
load on first use (PEP 562 `__getattr__`): no import order inside this file matters.
"""

import importlib as _importlib

import numpy as _np

from . import linalg, ops, testing
from .core import PRIMITIVES, RemovableHandle, enable_grad, is_grad_enabled, no_grad
from .core import seal_builtins as _seal_builtins
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
    erf,
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
from .transforms.checkpoint import checkpoint, checkpoint_name
from .transforms.custom import custom_jvp, custom_vjp
from .transforms.scan import scan

abs = absolute  # noqa: A001 - NumPy's name
float32 = _np.float32  # so that x.dtype == cr.float32 and dtype=cr.float32 both work
float64 = _np.float64

__version__ = "0.1.0"

_seal_builtins()  # every primitive lives in `ops`, imported above: these are the built-ins

_SUBPACKAGES = ("data", "explain", "io", "memory", "nn", "optim", "symbolic")
_FROM_MODULE = {"load": "io", "save": "io", "checkpoint_sequential": "memory"}


def __getattr__(name):
    """`cr.nn`, `cr.optim`, `cr.load`, ...: imported on first use."""
    if name in _SUBPACKAGES:
        return _importlib.import_module(f".{name}", __name__)
    if name in _FROM_MODULE:
        return getattr(_importlib.import_module(f".{_FROM_MODULE[name]}", __name__), name)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBPACKAGES) | set(_FROM_MODULE))
