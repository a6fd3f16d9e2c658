"""Datasets: the 8x8 digits bundled with scikit-learn, and users' IDX or `.npz` files."""

from __future__ import annotations

import gzip
import importlib.util
import os

import numpy as np

from ..files import open_regular
from .idx import read_idx

__all__ = ["load_digits", "load_npz", "load_images", "train_test_split"]


def _bundled_digits_file():
    """scikit-learn's own copy of the digits (sklearn/datasets/data/digits.csv.gz), found
    without importing scikit-learn (which takes over a second), or None."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, "datasets", "data", "digits.csv.gz")
        if os.path.isfile(path):
            return path
    return None


def load_digits(dtype=np.float64):
    """The 1,797 8x8 handwritten digits that ship inside scikit-learn (no download).

    Returns `(images, labels)`: images of shape (1797, 8, 8) scaled to [0, 1] (the raw
    values are 0..16), labels int64 in 0..9. The same data as
    `sklearn.datasets.load_digits()`, read straight from scikit-learn's bundled file.
    """
    path = _bundled_digits_file()
    if path is not None:
        with gzip.open(path, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.float64)
        raw, target = table[:, :-1].reshape(-1, 8, 8), table[:, -1]
    else:
        try:
            from sklearn.datasets import load_digits as _sk_load_digits
        except ImportError:  # pragma: no cover - scikit-learn is in the train extra
            raise ImportError("load_digits needs scikit-learn (pip install "
                              "'chainrule[train]')") from None
        bunch = _sk_load_digits()
        raw, target = bunch.images, bunch.target
    return (raw / 16.0).astype(dtype), target.astype(np.int64)


def train_test_split(*arrays, test_size: float = 0.2, seed: int = 0):
    """Split aligned arrays into a train part and a test part by a seeded permutation.

    Returns (a_train, a_test, b_train, b_test, ...), like scikit-learn's function.
    """
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError("train_test_split: arrays have different numbers of samples")
    n_test = int(round(test_size * n)) if test_size < 1 else int(test_size)
    if not 0 < n_test < n:
        raise ValueError(f"train_test_split: test_size={test_size} leaves an empty part of "
                         f"{n} samples")
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    out = []
    for a in arrays:
        out += [a[train], a[test]]
    return tuple(out)


def load_npz(path) -> dict:
    """The arrays of an `.npz` file, read without pickle (a dict name -> array)."""
    from ..io import load
    return load(path)


_NPZ_NAMES = (("x_train", "y_train", "x_test", "y_test"), ("x", "y"), ("X", "y"),
              ("images", "labels"))
_MNIST = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
          "t10k-labels-idx1-ubyte")


def _find(folder, stem):
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"),
                 stem.replace("-idx", ".idx") + ".gz"):
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def _labels_for(images_path):
    folder, name = os.path.split(images_path)
    for a, b in (("images", "labels"), ("idx3", "idx1")):
        name = name.replace(a, b)
    candidate = os.path.join(folder, name)
    if candidate != images_path and os.path.isfile(candidate):
        return candidate
    raise FileNotFoundError(f"no labels file found for the IDX images {images_path} (looked "
                            f"for {candidate})")


def load_images(path):
    """Images and labels from a user's file, for training a classifier.

    `path` may be
    - an `.npz` with arrays `x_train, y_train, x_test, y_test`, or `x, y` (also `X, y` or
      `images, labels`);
    - an IDX images file (raw or `.gz`) whose labels sit beside it under the same name
      with `images` -> `labels` and `idx3` -> `idx1` (MNIST's naming);
    - a folder holding MNIST's four files (`train-images-idx3-ubyte[.gz]`, ...).
    Returns `(x_train, y_train, x_test, y_test)`, the test arrays None when the file has no
    split of its own.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file or folder: {path}")
    if os.path.isdir(path):
        found = [_find(path, stem) for stem in _MNIST]
        if None in found:
            missing = [s for s, f in zip(_MNIST, found) if f is None]
            raise FileNotFoundError(f"{path} lacks the MNIST files {', '.join(missing)}")
        return tuple(read_idx(f) for f in found)
    with open_regular(path) as f:  # never a FIFO: reading one would wait forever
        head = f.read(4)
    if head[:2] == b"PK":
        arrays = load_npz(path)
        for names in _NPZ_NAMES:
            if all(n in arrays for n in names):
                values = [np.asarray(arrays[n]) for n in names]
                return tuple(values) if len(values) == 4 else (*values, None, None)
        raise ValueError(f"{path} has arrays {sorted(arrays)}; expected x_train, y_train, "
                         "x_test, y_test or x, y")
    images = read_idx(path)
    labels = read_idx(_labels_for(path))
    return images, labels, None, None
