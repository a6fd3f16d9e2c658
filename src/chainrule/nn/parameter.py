"""`Parameter`: a tensor that a `Module` registers as trainable."""

from __future__ import annotations

import numpy as np

from .. import Tensor


class Parameter(Tensor):
    """A leaf Tensor with `requires_grad=True` that a Module collects in `parameters()`.

    `Parameter(data)` copies `data`; float32 stays float32 and a Python float list becomes
    float64, as with `cr.tensor`. Optimizers update `.data` in place, so the object (and
    every reference to it) stays the same through training.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        array = np.array(data, dtype=dtype)
        if dtype is None and not np.issubdtype(array.dtype, np.floating) and requires_grad:
            array = array.astype(np.float64)
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
