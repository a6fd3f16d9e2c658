"""`Tensor`: an ndarray plus its place in the graph; operators and methods call the ops."""

from __future__ import annotations

import operator

import numpy as np

from . import core
from .core import TensorBase, _new_tensor, bind, is_grad_enabled
from .ops import arrays as A
from .ops import elementwise as E
from .ops import elementwise_extra as X
from .ops import linalg as L
from .ops import nn as N
from .ops import reduce as R
from .ops import shape as S
from .ops import sorting as O
from .ops._define import EMPTY, operand
from .ops._public import public

_FLOATS = (np.float16, np.float32, np.float64, np.longdouble, np.complex64, np.complex128)


def _check_differentiable_dtype(dtype, op="tensor"):
    if np.dtype(dtype).type not in _FLOATS:
        raise ValueError(f"{op}: requires_grad=True needs a float or complex dtype, got "
                         f"{dtype}; pass dtype=np.float64 (or float32) to make it "
                         "differentiable")


def _other(self, x, prim):
    """The second operand of a binary operator (not a tensor), as a tensor (Python numbers
    stay weak)."""
    dtype = self.data.dtype if self._trace is None else self.dtype  # a vmap box has no data
    kind = dtype.kind
    # NumPy 2 promotion of a Python number, without asking np.result_type on the hot path.
    number = type(x) is float and kind == "f" or type(x) is int and kind in "fiu" and \
        -2**31 <= x < 2**31
    if (number or type(x) is dtype.type) and kind == "f" and self._trace is None and \
            not self.data.shape:
        # a number (or a NumPy scalar of the tensor's dtype) met by a 0-d float tensor:
        # a shared NumPy-scalar constant, the scalar fast path
        return _scalar_constant(dtype, x)
    if number:
        return _new_tensor(np.array(x, dtype=dtype))
    return operand(prim, x, self, self.requires_grad and is_grad_enabled())


# Python numbers met as operands of 0-d float tensors, as constant tensors holding a NumPy
# scalar, kept by value: a scalar loop (`y = y * 0.999 + 0.001`) reuses two constants
# instead of recording two new ones per step (fewer objects for the garbage collector to
# rescan: lean graphs, issue 13). Their data is a NumPy scalar, which nothing can write
# into. Zero is left out: 0.0 and -0.0 are one key but not one operand.
_constants = {np.dtype(np.float64): {}, np.dtype(np.float32): {}}


def _scalar_constant(dtype, x) -> TensorBase:
    """x as a 0-d constant tensor of `dtype`, shared with earlier calls for the same x."""
    cache = _constants.get(dtype)
    if cache is None or not x:
        return _new_tensor(dtype.type(x))
    t = cache.get(x)
    if t is None:
        if len(cache) >= 256:   # many distinct numbers (a loop's counter): start again
            cache.clear()
        t = cache[x] = _new_tensor(dtype.type(x))
    return t


def _refuse_shared(t: TensorBase, what: str) -> None:
    """Raise if t is a constant that `_scalar_constant` hands to every op meeting its number
    (a user may reach one through `.inputs`): writing into it would change them all."""
    data = t.data
    cache = _constants.get(data.dtype) if type(data) in core.SCALAR_TYPES else None
    if cache is not None and cache.get(data) is t:
        raise RuntimeError(f"{what}: this is the constant {data} that chainrule shares "
                           "between the ops a Python number meets; write into a copy "
                           "(cr.tensor(t)) instead")


def _binary(prim):
    # The tensor-tensor case (every binary rule in a backward pass) skips `_other`'s call.
    def forward(self, other):
        if not isinstance(other, TensorBase):
            other = _other(self, other, prim)
        return bind(prim, (self, other), EMPTY)

    def reflected(self, other):
        if not isinstance(other, TensorBase):
            other = _other(self, other, prim)
        return bind(prim, (other, self), EMPTY)

    return forward, reflected


_numpy_dispatch = None


def set_numpy_dispatch(module) -> None:
    """Called once by chainrule/__init__: the module that maps NumPy functions to ops."""
    global _numpy_dispatch
    _numpy_dispatch = module


class Tensor(TensorBase):
    """An n-dimensional array that records the operations applied to it.

    `.data` is the ndarray; `.grad` is filled by `backward()`. A tensor made by an op on
    tensors that require grad remembers that op (`.op`) and its inputs (`.inputs`).
    """

    __slots__ = ()
    __hash__ = object.__hash__

    def __init__(self, data, dtype=None, requires_grad=False):
        if isinstance(data, TensorBase):
            data = data.data
        array = np.array(data, dtype=dtype)
        if requires_grad:
            _check_differentiable_dtype(array.dtype)
        core.init_slots(self, array)
        self.requires_grad = bool(requires_grad)

    # ----- array facts -------------------------------------------------------------------
    # Properties whose getter is C (attrgetter), not a Python function: the reverse sweep
    # and every binary rule read shapes, and a Python getter costs a frame each time.
    shape = property(operator.attrgetter("data.shape"), doc="The shape (a tuple of ints).")
    ndim = property(operator.attrgetter("data.ndim"), doc="The number of axes.")
    size = property(operator.attrgetter("data.size"), doc="The number of elements.")
    dtype = property(operator.attrgetter("data.dtype"), doc="The NumPy dtype.")

    @property
    def T(self):
        return S.transpose(self)

    @property
    def mT(self):
        return S.swapaxes(self, -1, -2)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # NumPy's override protocols: np.sin(t), np.sum(t), ndarray * t run chainrule's ops
    # (see chainrule/numpy_dispatch.py, installed by chainrule/__init__).
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _numpy_dispatch.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _numpy_dispatch.array_function(func, types, args, kwargs)

    def __array__(self, dtype=None, copy=None):
        self._concrete("np.asarray")
        data = np.asarray(self.data)   # a 0-d result's NumPy scalar becomes a 0-d array
        return data if dtype is None else data.astype(dtype, copy=False)

    def _concrete(self, what: str):
        core.check_concrete(self, what)
        if core.is_mapped(self):
            raise TypeError(f"{what}: this tensor holds one value per example of cr.vmap, so "
                            "Python control flow on it would see only the first example; "
                            "use cr.where (or compute outside vmap)")

    def item(self):
        """The value of a one-element tensor as a Python number."""
        self._concrete("item")
        if self.size != 1:
            raise ValueError(f"item: only a one-element tensor has an item, got shape "
                             f"{self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied; a 0-d result's NumPy scalar, which
        cannot be written, comes as a fresh 0-d array)."""
        self._concrete("numpy")
        return np.asarray(self.data)

    def tolist(self):
        self._concrete("tolist")
        return self.data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        self._concrete("bool")
        if self.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                             "use .any() or .all()")
        return bool(self.data)

    def any(self, axis=None, keepdims=False):
        """A Python bool over the whole tensor; a bool tensor along `axis`."""
        if axis is None and not keepdims:
            self._concrete("any")
            return bool(np.any(self.data))
        return A.any_(self, axis, keepdims)

    def all(self, axis=None, keepdims=False):
        """A Python bool over the whole tensor; a bool tensor along `axis`."""
        if axis is None and not keepdims:
            self._concrete("all")
            return bool(np.all(self.data))
        return A.all_(self, axis, keepdims)

    # ----- graph -----------------------------------------------------------------------
    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded operation."""
        return self._node is None

    @property
    def op(self):
        """The primitive that produced this tensor (Goodfellow's op(V)), or None for a leaf."""
        return None if self._node is None else self._node.op

    @property
    def inputs(self) -> tuple:
        """The tensors this one was computed from (Goodfellow's get_inputs(V))."""
        node = self._node
        if node is None:
            return ()
        if node.inputs is None:
            raise RuntimeError("inputs: the graph was freed by backward(); pass "
                               "retain_graph=True to keep it")
        return node.inputs

    def consumers(self, within: Tensor) -> list:
        """Tensors in the graph of `within` that use this one (Goodfellow's get_consumers)."""
        return [t for t in core.topological_order([within])
                if any(i is self for i in (t._node.inputs if t._node else ()))]

    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Backpropagate from this tensor, accumulating into `.grad` of leaves (adds up)."""
        from .transforms.reverse import backward
        backward([self], None if grad is None else [grad], retain_graph, create_graph)

    def register_hook(self, fn):
        """Call `fn(grad)` with this tensor's gradient during every backward sweep; if it
        returns a tensor, that replaces the gradient (for everything upstream and for
        `.grad`). Returns a handle: `handle.remove()` unregisters it."""
        if not callable(fn):
            raise TypeError(f"register_hook: expected a function of the gradient, got "
                            f"{type(fn).__name__}")
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad, so no "
                               "gradient will reach it; create it with requires_grad=True")
        return core.add_grad_hook(self, fn)

    def retain_grad(self):
        """Keep `.grad` on this non-leaf tensor after backward."""
        core.retain_grad(self)
        return self

    def detach(self) -> Tensor:
        """The same data with no graph and no tangent."""
        return Tensor._wrap(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Mark a leaf as a variable to differentiate by; returns self."""
        if self._node is not None and not requires_grad:
            raise RuntimeError("requires_grad_: a non-leaf tensor's requires_grad follows "
                               "its inputs; use .detach()")
        if requires_grad:
            _check_differentiable_dtype(self.dtype, "requires_grad_")
        self.requires_grad = bool(requires_grad)
        return self

    @staticmethod
    def _wrap(array) -> Tensor:
        return _new_tensor(np.asarray(array))

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = []
        if self.data.dtype != np.float64 and self.data.dtype != np.int64 and \
                self.data.dtype != bool:
            extras.append(f"dtype={self.data.dtype}")
        if self._node is not None:
            extras.append(f"op={self._node.op.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ----- operators -------------------------------------------------------------------
    __add__, __radd__ = _binary(E.add)
    __sub__, __rsub__ = _binary(E.subtract)
    __mul__, __rmul__ = _binary(E.multiply)
    __truediv__, __rtruediv__ = _binary(E.divide)
    __pow__, __rpow__ = _binary(E.power)
    __mod__, __rmod__ = _binary(X.remainder)
    __floordiv__, __rfloordiv__ = _binary(X.floor_divide)
    __lt__, _ = _binary(E.less)
    __le__, _ = _binary(E.less_equal)
    __gt__, _ = _binary(E.greater)
    __ge__, _ = _binary(E.greater_equal)
    __eq__, _ = _binary(E.equal)
    __ne__, _ = _binary(E.not_equal)
    __and__, __rand__ = _binary(E.logical_and)
    __or__, __ror__ = _binary(E.logical_or)
    __xor__, __rxor__ = _binary(E.logical_xor)
    del _

    def __matmul__(self, other):  # shapes are checked before the primitive
        return L.matmul(self, other)

    def __rmatmul__(self, other):
        return L.matmul(other, self)

    def __neg__(self):
        return bind(E.negative, (self,), EMPTY)

    def __pos__(self):
        return self

    def __abs__(self):
        return bind(E.absolute, (self,), EMPTY)

    def __invert__(self):
        return E.logical_not(self)

    def __getitem__(self, index):
        return S.getitem(self, index)

    def __setitem__(self, index, value):
        if self.requires_grad or self._trace is not None:
            raise RuntimeError("setitem: in-place assignment into a tensor that is part of a "
                               "graph would change values its gradient needs; build a new "
                               "tensor with cr.where or indexing instead")
        _refuse_shared(self, "setitem")
        if isinstance(value, TensorBase):
            core.check_concrete(value, "item assignment")
        if type(self.data) is not np.ndarray:  # a 0-d result's NumPy scalar cannot be written
            self.data = np.array(self.data)
        self.data[index] = np.asarray(value)
        core.bump_version(self)  # a node that saved this tensor must not use the new values

    # ----- methods mirroring the functions ----------------------------------------------
    def sum(self, axis=None, keepdims=False, dim=None):
        return R.sum(self, axis if dim is None else dim, keepdims)

    def mean(self, axis=None, keepdims=False, dim=None):
        return R.mean(self, axis if dim is None else dim, keepdims)

    def max(self, axis=None, keepdims=False, dim=None):
        return R.max(self, axis if dim is None else dim, keepdims)

    def min(self, axis=None, keepdims=False, dim=None):
        return R.min(self, axis if dim is None else dim, keepdims)

    def prod(self, axis=None, keepdims=False, dim=None):
        return R.prod(self, axis if dim is None else dim, keepdims)

    def var(self, axis=None, ddof=0, keepdims=False):
        return R.var(self, axis, ddof, keepdims)

    def std(self, axis=None, ddof=0, keepdims=False):
        return R.std(self, axis, ddof, keepdims)

    def cumsum(self, axis=None):
        return R.cumsum(self, axis)

    def logsumexp(self, axis=None, keepdims=False):
        return R.logsumexp(self, axis, keepdims)

    def argmax(self, axis=None, keepdims=False):
        return O.argmax(self, axis, keepdims)

    def argmin(self, axis=None, keepdims=False):
        return O.argmin(self, axis, keepdims)

    def argsort(self, axis=-1):
        return O.argsort(self, axis)

    def cumprod(self, axis=None):
        return A.cumprod(self, axis)

    def ravel(self):
        return A.ravel(self)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return A.diagonal(self, offset, axis1, axis2)

    def trace(self, offset=0, axis1=0, axis2=1):
        return A.trace(self, offset, axis1, axis2)

    def round(self, decimals=0):
        return X.around(self, decimals)

    def nonzero(self):
        return X.nonzero(self)

    def reshape(self, *shape):
        return S.reshape(self, *shape)

    def transpose(self, *axes):
        return S.transpose(self, *axes)

    def swapaxes(self, a, b):
        return S.swapaxes(self, a, b)

    def flatten(self):
        return S.reshape(self, -1)

    def squeeze(self, axis=None):
        return S.squeeze(self, axis)

    # ----- PyTorch's first names (see docs/coming-from.md) -------------------------------
    def to(self, dtype):
        """`t.to(float32)`: a cast, like astype (differentiable between float types)."""
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"to: expected a dtype (e.g. cr.float32), got {dtype!r}; "
                            "chainrule has one device, the CPU") from None
        return S.astype(self, dtype)

    def float(self):
        """`t.astype(float32)` (PyTorch's float is 32-bit)."""
        return S.astype(self, np.float32)

    def double(self):
        """`t.astype(float64)`."""
        return S.astype(self, np.float64)

    def numel(self) -> int:
        """The number of elements (NumPy's `.size`, which stays an int here)."""
        return self.size

    def view(self, *shape):
        """`t.reshape(*shape)` (a differentiable reshape, a view where NumPy's is one)."""
        return S.reshape(self, *shape)

    def _bump_version(self):
        """Mark the values as changed in place (optimizers, load_state_dict): a graph that
        saved this tensor before refuses to differentiate through the new values."""
        core.bump_version(self)

    @property
    def version(self) -> int:
        """Changes with every in-place write through chainrule (setitem, zero_, optimizer
        steps, load_state_dict); 0 for a tensor never written in place."""
        return core.version_of(self)

    def zero_(self):
        """Fill with zeros in place (for `.grad` between steps); returns self."""
        if self._node is not None:
            raise RuntimeError("zero_: this tensor is the result of a recorded operation; "
                               "writing into it would change what the graph saved")
        _refuse_shared(self, "zero_")
        if self.data.flags.writeable:
            self.data[...] = 0
        else:  # e.g. a gradient that is a broadcast view: give the tensor its own zeros
            self.data = np.zeros(self.data.shape, self.data.dtype)
        core.bump_version(self)
        return self

    def astype(self, dtype):
        return S.astype(self, dtype)

    def clip(self, a_min=None, a_max=None):
        return E.clip(self, a_min, a_max)

    def dot(self, other):
        return L.dot(self, other)

    def exp(self):
        return E.exp(self)

    def log(self):
        return E.log(self)

    def sqrt(self):
        return E.sqrt(self)

    def abs(self):
        return E.absolute(self)

    def sin(self):
        return E.sin(self)

    def cos(self):
        return E.cos(self)

    def tanh(self):
        return E.tanh(self)

    def sigmoid(self):
        return E.sigmoid(self)

    def relu(self):
        return E.relu(self)

    def softmax(self, axis=-1):
        return N.softmax(self, axis)

    def log_softmax(self, axis=-1):
        return N.log_softmax(self, axis)


core.set_tensor_class(Tensor)


class Box(Tensor):
    """A tensor a running transform interprets: `_trace` is set, `inner` is its value one
    level down. Each transform's box type adds its own named fields (primal and tangent,
    batched value, symbolic variable); the eager path never sees a box."""

    __slots__ = ()

    def __init__(self, trace):
        core.init_slots(self, None)
        self._trace = trace

    @property
    def inner(self) -> Tensor:  # pragma: no cover - every box type defines it
        raise NotImplementedError

    @property
    def data(self):
        return self.inner.data

    @property
    def shape(self) -> tuple:
        return self.inner.shape

    @property
    def dtype(self):
        return self.inner.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __repr__(self):
        return (f"<{type(self).__name__} at level {self._trace.level}: shape {self.shape}, "
                f"dtype {self.dtype}>")


# ----- constructors ---------------------------------------------------------------------

def tensor(data, dtype=None, requires_grad=False) -> Tensor:
    """A new tensor (a copy of `data`); Python floats and lists become float64 like NumPy."""
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def _made(array, requires_grad):
    t = Tensor._wrap(array)
    return t.requires_grad_() if requires_grad else t


def zeros(shape, dtype=np.float64, requires_grad=False) -> Tensor:
    return _made(np.zeros(shape, dtype), requires_grad)


def ones(shape, dtype=np.float64, requires_grad=False) -> Tensor:
    return _made(np.ones(shape, dtype), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False) -> Tensor:
    return _made(np.full(shape, fill_value, dtype), requires_grad)


def eye(n, m=None, k=0, dtype=np.float64, requires_grad=False) -> Tensor:
    return _made(np.eye(n, m, k, dtype), requires_grad)


def arange(*args, dtype=None, requires_grad=False) -> Tensor:
    return _made(np.arange(*args, dtype=dtype), requires_grad)


@public
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0,
             requires_grad=False):
    """`np.linspace`; differentiable in `start` and `stop` when they are tensors."""
    if isinstance(start, TensorBase) or isinstance(stop, TensorBase):
        return A.linspace(start, stop, num, endpoint, retstep, dtype, axis)
    out = np.linspace(start, stop, num, endpoint=endpoint, retstep=retstep, dtype=dtype,
                      axis=axis)
    return (_made(out[0], requires_grad), out[1]) if retstep else _made(out, requires_grad)


def zeros_like(x, dtype=None, requires_grad=False) -> Tensor:
    return _made(np.zeros_like(np.asarray(x), dtype), requires_grad)


def ones_like(x, dtype=None, requires_grad=False) -> Tensor:
    return _made(np.ones_like(np.asarray(x), dtype), requires_grad)
