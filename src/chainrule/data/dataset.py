"""Map-style datasets with PyTorch's names: `Dataset`, `TensorDataset`, `Subset`,
`random_split`. A dataset is any object with `__len__` and `__getitem__(i)`; `DataLoader`
takes one (or plain arrays) and makes mini-batches."""

from __future__ import annotations

import math
import numbers

import numpy as np

import chainrule as cr

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "row_reader"]


class Dataset:
    """Base class of map-style datasets: subclass it and define `__len__` and
    `__getitem__(index)` returning one sample (e.g. an (image, label) pair)."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


def _array(a, what):
    out = np.asarray(a.data if isinstance(a, cr.Tensor) else a)
    if out.ndim == 0:
        raise ValueError(f"{what}: every array needs a first (sample) axis; got a 0-d array")
    return out


class TensorDataset(Dataset):
    """Samples are the rows of aligned arrays (or tensors): `ds[i]` is
    `(a[i], b[i], ...)`, as NumPy arrays."""

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset: give at least one array")
        self.arrays = [_array(a, "TensorDataset") for a in arrays]
        if len({len(a) for a in self.arrays}) != 1:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ValueError(f"TensorDataset: arrays must have the same number of samples "
                             f"(first axis), got shapes {shapes}")

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def rows(self, indices):
        """The samples at `indices`, batched: one array per field (the loader's fast path)."""
        if len(indices) and indices[-1] - indices[0] == len(indices) - 1 and np.all(
                np.diff(indices) == 1):
            indices = slice(int(indices[0]), int(indices[-1]) + 1)  # a view, no copy
        return tuple(a[indices] for a in self.arrays)


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices must lie in [{-n}, {n}) for a dataset of {n} "
                             "samples")
        self.indices = np.where(self.indices < 0, self.indices + n, self.indices)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]


def row_reader(dataset):
    """A function `indices -> one batched array per field` when `dataset` is a
    TensorDataset (or Subsets of one), else None: the loader's fast path."""
    index_map = None
    while isinstance(dataset, Subset):
        index_map = dataset.indices if index_map is None else dataset.indices[index_map]
        dataset = dataset.dataset
    if not isinstance(dataset, TensorDataset):
        return None
    if index_map is None:
        return dataset.rows
    return lambda indices: dataset.rows(index_map[np.asarray(indices)])


def _lengths(lengths, n):
    lengths = list(lengths)
    if not lengths or not all(isinstance(x, numbers.Real) and not isinstance(x, bool)
                              and x >= 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative numbers, got {lengths}")
    if all(isinstance(x, numbers.Integral) for x in lengths):
        if sum(lengths) != n:
            raise ValueError(f"random_split: lengths {lengths} sum to {sum(lengths)}, not to "
                             f"the dataset's {n} samples")
        return [int(x) for x in lengths]
    if not math.isclose(sum(lengths), 1.0, abs_tol=1e-9):
        raise ValueError(f"random_split: fractions {lengths} must sum to 1")
    sizes = [int(math.floor(n * f)) for f in lengths]
    for i in range(n - sum(sizes)):  # the remainder, one each, round-robin (PyTorch's rule)
        sizes[i % len(sizes)] += 1
    return sizes


def random_split(dataset, lengths, seed=None) -> list:
    """Split `dataset` into non-overlapping `Subset`s of the given lengths (counts summing
    to len(dataset), or fractions summing to 1) by a permutation seeded by `seed`."""
    n = len(dataset)
    sizes = _lengths(lengths, n)
    order = np.random.default_rng(seed).permutation(n)
    bounds = np.cumsum([0, *sizes])
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
