"""chainrule: reverse-mode automatic differentiation on NumPy, that shows its work.

Every name below is imported from the module that defines it. The libraries built on the
public API (nn, optim, data, io, explain, symbolic) import `chainrule` themselves, so they
load on first use (PEP 562 `__getattr__`): no import order inside this file matters.
"""

import importlib as _importlib
import sys as _sys

import numpy as _np

from . import fft, linalg, ops, testing
from .core import PRIMITIVES, RemovableHandle, enable_grad, is_grad_enabled, no_grad
from .core import seal_builtins as _seal_builtins
from .ops._define import defop
from .ops.arrays import all_ as all  # noqa: A004 - NumPy's name
from .ops.arrays import (
    amax,
    amin,
    append,
    array_split,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    average,
    column_stack,
    concat,
    count_nonzero,
    cross,
    cumprod,
    cumulative_prod,
    cumulative_sum,
    diag,
    diagflat,
    diagonal,
    diff,
    dsplit,
    dstack,
    ediff1d,
    fliplr,
    flipud,
    gradient,
    hsplit,
    hstack,
    inner,
    kron,
    matrix_transpose,
    matvec,
    meshgrid,
    permute_dims,
    ptp,
    ravel,
    repeat,
    roll,
    rot90,
    select,
    tile,
    trace,
    trapezoid,
    tril,
    triu,
    unstack,
    vecdot,
    vecmat,
    vsplit,
    vstack,
)
from .ops.arrays import any_ as any  # noqa: A004 - NumPy's name
from .ops.elementwise import (
    absolute,
    add,
    angle,
    arccos,
    arcsin,
    arctan,
    arctan2,
    ceil,
    clip,
    conj,
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
    imag,
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
    logical_xor,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    power,
    real,
    real_if_close,
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
)
from .ops.elementwise_extra import (
    allclose,
    arccosh,
    arcsinh,
    arctanh,
    argwhere,
    around,
    cbrt,
    copysign,
    deg2rad,
    degrees,
    exp2,
    fabs,
    fix,
    flatnonzero,
    float_power,
    floor_divide,
    fmax,
    fmin,
    fmod,
    heaviside,
    hypot,
    isclose,
    isinf,
    isnan,
    isneginf,
    isposinf,
    logaddexp,
    logaddexp2,
    mod,
    nan_to_num,
    nonzero,
    positive,
    rad2deg,
    radians,
    reciprocal,
    remainder,
    rint,
    signbit,
    sinc,
    true_divide,
    trunc,
    where,
)
from .ops.linalg import dot, einsum, matmul, outer, tensordot, vdot
from .ops.nanreduce import (
    nanargmax,
    nanargmin,
    nancumprod,
    nancumsum,
    nanmax,
    nanmean,
    nanmin,
    nanprod,
    nanstd,
    nansum,
    nanvar,
)
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
from .ops.sorting import (
    argmax,
    argmin,
    argpartition,
    argsort,
    median,
    nanmedian,
    nanpercentile,
    nanquantile,
    partition,
    percentile,
    quantile,
    sort,
    take_along_axis,
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
from .transforms.anomaly import detect_anomaly
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
from .transforms.control import cond, fori_loop
from .transforms.custom import custom_jvp, custom_vjp
from .transforms.scan import scan
from .transforms.tree import tree_flatten, tree_leaves, tree_map, tree_unflatten

abs = absolute  # noqa: A001 - NumPy's name
round = around  # noqa: A001 - NumPy's name
conjugate = conj
float32 = _np.float32  # so that x.dtype == cr.float32 and dtype=cr.float32 both work
float64 = _np.float64

__version__ = "0.1.0"

_seal_builtins()  # every primitive lives in `ops`, imported above: these are the built-ins


def _publish():
    """Every public function behind the one public boundary (ops/_public.py): errors name
    the function called, and `dim=` is accepted wherever `axis=` is."""
    import inspect

    from .ops._public import public

    namespace = globals()
    for name, fn in list(namespace.items()):
        if not name.startswith("_") and inspect.isfunction(fn) and \
                fn.__module__.startswith("chainrule.ops"):
            namespace[name] = public(fn, name)


cat = concatenate  # PyTorch's name
_publish()

from . import numpy_dispatch as _numpy_dispatch  # noqa: E402 - np.sin(t) & co. run our ops
from .tensor import set_numpy_dispatch as _set_numpy_dispatch  # noqa: E402

_numpy_dispatch.install(_sys.modules[__name__])
_set_numpy_dispatch(_numpy_dispatch)

# cr.scipy too: `import chainrule` never needs SciPy.
# Imported now, not on first use: importing it registers cr.jacobian(f, mode="eliminate").
from . import elimination  # noqa: E402

_SUBPACKAGES = ("data", "explain", "io", "memory", "nn", "optim", "scipy", "symbolic")
_FROM_MODULE = {"load": "io", "save": "io", "manual_seed": "random", "randn": "random",
                "rand": "random", "randint": "random",
                "checkpoint_sequential": "memory"}


def __getattr__(name):
    """`cr.nn`, `cr.optim`, `cr.load`, ...: imported on first use."""
    if name in _SUBPACKAGES:
        return _importlib.import_module(f".{name}", __name__)
    if name in _FROM_MODULE:
        return getattr(_importlib.import_module(f".{_FROM_MODULE[name]}", __name__), name)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBPACKAGES) | set(_FROM_MODULE))
