"""Shape primitives and their composites: reshape, transpose, broadcast, index, join, pad."""

import numpy as np

import chainrule as cr
from chainrule.ops.shape import sum_to

from . import OpCase, normal

CASES = [
    OpCase("sum_to", lambda x: sum_to(x, (1, 3)) * 2, normal((4, 2, 3))),
    OpCase("broadcast_to", lambda x: cr.broadcast_to(x, (2, 3, 4)) ** 2, normal((3, 1))),
    OpCase("reshape", lambda x: cr.reshape(x, (3, -1)) ** 2, normal((2, 6))),
    OpCase("reshape", lambda x: cr.expand_dims(cr.squeeze(x), (0, 2)) ** 2,
           normal((3, 1, 2)), "squeeze-expand_dims"),
    OpCase("transpose", lambda x: cr.transpose(x, (2, 0, 1)) ** 2, normal((2, 3, 4))),
    OpCase("transpose", lambda x: cr.swapaxes(x, 0, 1) * cr.moveaxis(x, 1, 0),
           normal((2, 3, 2)), "swapaxes-moveaxis"),
    OpCase("getitem", lambda x: x[1:, ::2] ** 2, normal((3, 5)), "slices"),
    OpCase("getitem", lambda x: x[None, ..., 0] * x[-1], normal((3, 3)), "none-ellipsis"),
    OpCase("getitem", lambda x: x[x > 0] ** 2, lambda rng: (
        rng.uniform(0.2, 1, (3, 4)) * rng.choice([-1, 1], (3, 4)),), "bool-mask"),
    OpCase("getitem", lambda x: x[np.array([0, 2, 0, 0])] ** 2, normal((3, 2)),
           "repeated-ints"),
    OpCase("scatter_add", lambda x: (x[np.array([1, 1, 0])] * x[0]).sum() * x, normal((3,))),
    OpCase("getitem", lambda x: cr.take(x, [2, 0, 2], axis=1) ** 2, normal((2, 3)), "take"),
    OpCase("getitem", lambda x: cr.flip(x, 0) * x, normal((4,)), "flip"),
    OpCase("getitem", lambda x: cr.split(x, 2, axis=1)[1] * cr.split(x, [1], axis=1)[0],
           normal((2, 4)), "split"),
    OpCase("concatenate", lambda x, y: cr.concatenate([x, y, x], axis=1) ** 2,
           normal((2, 3), (2, 1))),
    OpCase("concatenate", lambda x, y: cr.stack([x, y], axis=1) ** 2, normal((3,), (3,)),
           "stack"),
    OpCase("pad", lambda x: cr.pad(x, ((1, 0), (2, 1)), constant_values=1.0) ** 2,
           normal((2, 3))),
    OpCase("identity", lambda x: cr.ops.shape.identity_p(x) ** 2, normal((3,))),
    # Differences see no stop; so the stopped parts cancel here (the semantics: test_engine.py).
    OpCase("stop_gradient", lambda x: x * x + cr.stop_gradient(x) - cr.stop_gradient(x),
           normal((3,))),
    OpCase("cast", lambda x: cr.astype(cr.astype(x, np.longdouble), np.float64) ** 2,
           normal((3,))),
]
