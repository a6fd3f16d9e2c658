"""NumPy's own functions on tensors: `np.sin(t)`, `np.sum(t)`, `np.concatenate([t, t])`.

A Tensor implements NumPy's two override protocols (`__array_ufunc__` for ufuncs,
`__array_function__` for the rest). A NumPy function with a chainrule counterpart of the
same name (`np.sin` -> `cr.sin`, `np.linalg.norm` -> `cr.linalg.norm`, `np.add.reduce` ->
`cr.sum`) runs as that counterpart, so it records the graph and differentiates. Any other
NumPy function given a tensor that requires grad is an error naming it: a silent
conversion to an ndarray would drop the gradient. Tensors that need no gradient are handed
to NumPy as their arrays, and NumPy's result comes back as it is.
"""

from __future__ import annotations

from .core import TensorBase

__all__ = ["array_function", "array_ufunc", "install"]

# The public namespace (`chainrule`), handed over by chainrule/__init__ through `install`
# rather than imported, so that the package and this module do not import each other.
cr = None


def install(namespace) -> None:
    """Map NumPy's names onto `namespace` (the `chainrule` package)."""
    global cr
    cr = namespace

# NumPy names whose chainrule function has another name.
_RENAMED = {"absolute": "abs", "true_divide": "divide", "concat": "concatenate",
            "amax": "max", "amin": "min", "round_": "round", "around": "round",
            "fabs": "abs"}
# ufunc.reduce / accumulate counterparts.
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min"}
_ACCUMULATE = {"add": "cumsum", "multiply": "cumprod"}
_NAMESPACES = {"numpy": "", "numpy.linalg": "linalg", "numpy.fft": "fft"}
# Functions whose results carry no derivative (shapes, indices, tests): fine on any tensor.
_NO_GRADIENT = frozenset("""shape ndim size argmax argmin argsort argwhere nonzero flatnonzero
isnan isinf isfinite isneginf isposinf isclose allclose array_equal array_equiv any all
count_nonzero searchsorted result_type iscomplexobj isrealobj isscalar may_share_memory
shares_memory digitize""".split())


_found: dict = {}   # (module, name) -> counterpart or None: every NumPy call on a tensor asks


def _counterpart(module: str, name: str):
    """The chainrule function standing for numpy's `module.name`, or None."""
    key = (module, name)
    if key not in _found:
        _found[key] = _look_up(module, name)
    return _found[key]


def _look_up(module: str, name: str):
    space = _NAMESPACES.get(module)
    if space is None:
        return None
    space = getattr(cr, space, None) if space else cr
    if space is None:
        return None
    fn = getattr(space, _RENAMED.get(name, name), None)
    return fn if callable(fn) and not isinstance(fn, type) else None


def _needs_grad(values) -> bool:
    stack = list(values)
    while stack:
        v = stack.pop()
        if isinstance(v, TensorBase):
            if v.requires_grad or v._trace is not None:
                return True
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
    return False


def _arrays(value):
    """`value` with every tensor replaced by its ndarray (inside lists, tuples, dicts)."""
    if isinstance(value, TensorBase):
        return value.data
    if isinstance(value, (list, tuple)):
        return type(value)(_arrays(v) for v in value)
    if isinstance(value, dict):
        return {k: _arrays(v) for k, v in value.items()}
    return value


def _refuse(what: str, hint: str = ""):
    return TypeError(f"{what} is not differentiable by chainrule and would drop the gradient "
                     f"of a tensor that requires grad{hint}; call it on t.detach().numpy() if "
                     "no gradient is wanted")


# A ufunc's keyword arguments at their defaults say nothing; anything else is refused.
_UFUNC_DEFAULTS = {"out": None, "where": True, "dtype": None, "casting": "same_kind",
                   "order": "K", "subok": True, "signature": None}


def _without_defaults(what: str, kwargs: dict, allowed=()) -> dict:
    """kwargs minus ufunc arguments left at their defaults; any other is an error."""
    out = {}
    for key, value in kwargs.items():
        if key in allowed:
            out[key] = value
        elif key not in _UFUNC_DEFAULTS or not (
                value is _UFUNC_DEFAULTS[key] or (isinstance(value, str) and
                                                  value == _UFUNC_DEFAULTS[key])):
            raise TypeError(f"{what}: argument {key}={value!r} is not supported on tensors; "
                            "drop it or work on t.detach().numpy()")
    return out


def array_ufunc(ufunc, method: str, inputs, kwargs):
    """Tensor.__array_ufunc__: a ufunc (np.sin, np.add.reduce, `ndarray * tensor`)."""
    what = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
    if method == "__call__":
        fn = _counterpart("numpy", ufunc.__name__)
        if fn is not None:
            return fn(*inputs, **_without_defaults(what, kwargs)) if kwargs else fn(*inputs)
    elif method in ("reduce", "accumulate"):
        table = _REDUCE if method == "reduce" else _ACCUMULATE
        name = table.get(ufunc.__name__)
        fn = getattr(cr, name, None) if name else None
        if fn is not None and len(inputs) == 1:
            args = _without_defaults(what, kwargs, ("axis", "keepdims"))
            if method == "reduce":
                return fn(inputs[0], axis=args.get("axis", 0),
                          keepdims=args.get("keepdims", False))
            return fn(inputs[0], axis=args.get("axis", 0))
    # A test (isnan, signbit, ...) has no derivative to drop: it is fine on any tensor.
    no_gradient = ufunc.__name__ in _NO_GRADIENT or all(t.endswith("?") for t in ufunc.types)
    if not no_gradient and (_needs_grad(inputs) or _needs_grad(kwargs.values())):
        raise _refuse(what)
    return getattr(ufunc, method)(*_arrays(inputs), **_arrays(kwargs))


def array_function(func, types, args, kwargs):
    """Tensor.__array_function__: every other NumPy function (np.sum, np.concatenate...)."""
    module = getattr(func, "__module__", "") or ""
    what = f"{module.replace('numpy', 'np', 1)}.{func.__name__}"
    if func.__name__ in ("shape", "ndim", "size") and len(args) == 1 and not kwargs:
        return getattr(args[0], func.__name__)  # also for a vmap box, which has no .data
    fn = _counterpart(module, func.__name__)
    if fn is not None and func.__name__ not in _NO_GRADIENT:
        try:
            return fn(*args, **kwargs)
        except TypeError as err:
            if "unexpected keyword argument" in str(err) or "positional argument" in str(err):
                name = getattr(fn, "__name__", getattr(fn, "name", "?"))
                raise TypeError(f"{what} on tensors runs as chainrule's {name}, which says: "
                                f"{err}") from None
            raise
    if func.__name__ not in _NO_GRADIENT and (_needs_grad(args) or _needs_grad(kwargs.values())):
        raise _refuse(what)
    return func(*_arrays(args), **_arrays(kwargs))
