"""Image classification data as the models of `cr.nn.models` read it: checked, shaped
(N, H, W), split into a train and a test part, and scaled to [0, 1]."""

from __future__ import annotations

import math
import os

import numpy as np

from .datasets import load_digits, load_images, train_test_split

__all__ = ["check_images", "load_split", "pixel_scale", "scale_images"]

TEST_SIZE, SPLIT_SEED = 0.2, 0  # the fixed split of data that has no test part of its own


def check_images(x, y, what: str = "images"):
    """(images (N, H, W), int64 labels (N,)) from images shaped (N, H, W), (N, 1, H, W) or
    flat (N, H*H) and labels (N,) or (N, 1); ValueError naming `what` otherwise."""
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind not in "uif":
        raise ValueError(f"{what}: images must be numbers, got dtype {x.dtype}")
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    elif x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            raise ValueError(f"{what}: images of shape {x.shape} are flat but {x.shape[1]} "
                             "is not a square; give them as (N, H, W)")
        x = x.reshape(len(x), side, side)
    if x.ndim != 3 or min(x.shape) < 1:
        raise ValueError(f"{what}: images must have shape (N, H, W), (N, 1, H, W) or "
                         f"(N, H*W), got {x.shape}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"{what}: labels of shape {y.shape} do not fit images of shape "
                         f"{x.shape}; expected ({len(x)},)")
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    if y.dtype.kind not in "ui" or (y.size and y.min() < 0):
        raise ValueError(f"{what}: labels must be class numbers 0, 1, 2, ..., got dtype "
                         f"{y.dtype}" + (f" with minimum {y.min()}" if y.size else ""))
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{what}: images hold NaN or infinite values")
    return x, y.astype(np.int64)


def load_split(path=None):
    """(x_train, y_train, x_test, y_test, name) from `path` (see `load_images`), or the
    bundled digits when `path` is None; data without a test part of its own is split
    80/20 with a fixed seed. Images are checked (`check_images`) but not scaled."""
    if path is None:
        x, y = load_digits()
        parts, name, what = (x, y, None, None), "digits", "digits"
    else:
        name, what = os.path.abspath(path), f"--data {path}"
        try:
            parts = load_images(path)
        except (OSError, ValueError, TypeError) as err:
            raise ValueError(f"{what}: {err}") from None
    x_train, y_train = check_images(parts[0], parts[1], what)
    if parts[2] is None:
        if len(x_train) < 2:
            raise ValueError(f"{what}: too few samples to train and test")
        x_train, x_test, y_train, y_test = train_test_split(
            x_train, y_train, test_size=TEST_SIZE, seed=SPLIT_SEED)
    else:
        x_test, y_test = check_images(parts[2], parts[3], f"{what} (test part)")
        if x_test.shape[1:] != x_train.shape[1:]:
            raise ValueError(f"{what}: test images {x_test.shape[1:]} differ in size from "
                             f"training images {x_train.shape[1:]}")
    return x_train, y_train, x_test, y_test, name


def pixel_scale(x) -> float:
    """What to divide images by to bring them to [0, 1]: 255 for bytes, else their largest
    magnitude when it is above 1."""
    if np.asarray(x).dtype == np.uint8:
        return 255.0
    top = float(np.abs(x).max()) if np.size(x) else 1.0
    return top if top > 1 else 1.0


def scale_images(x, scale: float, dtype):
    """`x` as `dtype`, divided by `scale`."""
    dtype = np.dtype(dtype).type
    out = np.asarray(x, dtype=dtype)
    return out / dtype(scale) if scale != 1 else out
