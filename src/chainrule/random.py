"""PyTorch's first names for random tensors: `cr.manual_seed`, `cr.randn`, `cr.rand`,
`cr.randint`. They draw from the one seeded generator that layer initialization and
dropout use (`cr.nn.init`), so one `cr.manual_seed(0)` makes a whole script repeatable.
Floating results take `cr.nn.init.get_default_dtype()` (float32, as in PyTorch) unless
`dtype=` says otherwise."""

from __future__ import annotations

import numbers

import numpy as np

import chainrule as cr

from .nn import init as _init

__all__ = ["manual_seed", "randn", "rand", "randint"]


def manual_seed(seed: int):
    """Seed the generator behind randn/rand/randint, layer initialization and dropout."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"manual_seed: expected a whole number >= 0, got {seed!r}")
    return _init.manual_seed(int(seed))


def _shape(name, shape, size=None):
    if size is not None:
        shape = (size,)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 0
               for n in shape):
        raise ValueError(f"{name}: a shape is whole numbers >= 0, got {shape!r}")
    return tuple(int(n) for n in shape)


def _float_dtype(name, dtype):
    dtype = np.dtype(_init.get_default_dtype() if dtype is None else dtype)
    if dtype.kind != "f":
        raise ValueError(f"{name}: dtype must be a float type, got {dtype}")
    return dtype


def randn(*shape, dtype=None, requires_grad: bool = False, generator=None):
    """A tensor of standard normal draws: `cr.randn(3, 4)` or `cr.randn((3, 4))`."""
    shape, dtype = _shape("randn", shape), _float_dtype("randn", dtype)
    values = _init._gen(generator).standard_normal(shape).astype(dtype)
    return cr.tensor(values, requires_grad=requires_grad)


def rand(*shape, dtype=None, requires_grad: bool = False, generator=None):
    """A tensor of uniform draws from [0, 1)."""
    shape, dtype = _shape("rand", shape), _float_dtype("rand", dtype)
    values = _init._gen(generator).random(shape).astype(dtype)
    return cr.tensor(values, requires_grad=requires_grad)


def randint(low, high=None, size=(), dtype=np.int64, generator=None):
    """Integers uniform in [low, high) (`randint(high, size)` draws from [0, high)), as
    PyTorch's `randint(low=0, high, size)`."""
    if isinstance(high, (tuple, list)):  # randint(high, size), PyTorch's short form
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if not low < high:
        raise ValueError(f"randint: need low < high, got low={low}, high={high}")
    shape = _shape("randint", tuple(size) if isinstance(size, (tuple, list)) else (size,))
    values = _init._gen(generator).integers(low, high, size=shape, dtype=dtype)
    return cr.tensor(values)
