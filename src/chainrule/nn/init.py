"""Initializers (PyTorch's names), drawing from a seeded `numpy.random.Generator`.

Every function takes `generator=`; without it, the module-level generator is used, which
`manual_seed(seed)` resets. Layers draw their initial weights and Dropout its masks from
it, so `cr.nn.init.manual_seed(0)` before building a model makes a run reproducible.
Initializers overwrite `tensor.data` in place and return the tensor.
"""

from __future__ import annotations

import math

import numpy as np

import chainrule as _cr

__all__ = [
    "manual_seed", "default_generator", "get_default_dtype", "set_default_dtype",
    "calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "eye_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "orthogonal_",
]

_DEFAULT_SEED = 0
_generator = np.random.default_rng(_DEFAULT_SEED)
_default_dtype = np.dtype(np.float32)


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the module-level generator to `seed`; returns it."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator() -> np.random.Generator:
    """The module-level generator layers and Dropout draw from."""
    return _generator


# Checkpointed code replays this generator's draws when it recomputes (same dropout mask).
_cr.memory.replay_generator(default_generator)


def _gen(generator) -> np.random.Generator:
    if generator is None:
        return _generator
    if isinstance(generator, (int, np.integer)):
        return np.random.default_rng(generator)
    return generator


def get_default_dtype() -> np.dtype:
    """The dtype new layers' parameters get (float32, as in PyTorch)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the dtype of new layers' parameters (float32 or float64)."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"set_default_dtype: expected float32 or float64, got {dtype}")
    _default_dtype = dtype


def _set(tensor, values):
    tensor.data = np.asarray(values, dtype=tensor.dtype).reshape(tensor.shape).copy()
    return tensor


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table)."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _fans(tensor) -> tuple[int, int]:
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a tensor of at least 2 dims, got shape "
                         f"{shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    return _set(tensor, _gen(generator).uniform(a, b, tensor.shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    return _set(tensor, _gen(generator).normal(mean, std, tensor.shape))


def constant_(tensor, val: float):
    return _set(tensor, np.full(tensor.shape, val))


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def eye_(tensor):
    if tensor.ndim != 2:
        raise ValueError(f"eye_: needs a 2-D tensor, got shape {tensor.shape}")
    return _set(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    fan_in, fan_out = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None):
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None):
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor, gain: float = 1.0, generator=None):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal sample."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: needs at least 2 dims, got shape {tensor.shape}")
    rows = tensor.shape[0]
    cols = tensor.size // rows
    flat = _gen(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _set(tensor, gain * q)


def default_linear_init_(weight, bias, fan_in: int, generator=None):
    """PyTorch's default for Linear/Conv: kaiming_uniform(a=sqrt(5)), bias U(+-1/sqrt(fan_in))."""
    kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    if bias is not None:
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound, generator)
