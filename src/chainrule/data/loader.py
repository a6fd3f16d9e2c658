"""`DataLoader`: mini-batches of aligned arrays, optionally shuffled with a seed."""

from __future__ import annotations

import math

import numpy as np

import chainrule as cr

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over mini-batches of `arrays` (one array, or a tuple/list of arrays with the
    same first axis, e.g. `(images, labels)`).

    Each batch is a tuple of Tensors (a single Tensor when one array was given). With
    `shuffle=True` every epoch visits the samples in a new order drawn from a generator
    seeded by `seed`, so two loaders with the same seed give the same batches, epoch after
    epoch. `drop_last=True` drops a final batch smaller than `batch_size`.
    """

    def __init__(self, arrays, batch_size: int = 1, shuffle: bool = False, seed=None,
                 drop_last: bool = False):
        self._single = not isinstance(arrays, (tuple, list))
        items = [arrays] if self._single else list(arrays)
        if not items:
            raise ValueError("DataLoader: got no arrays")
        self.arrays = [np.asarray(a.data if isinstance(a, cr.Tensor) else a) for a in items]
        lengths = {a.shape[0] if a.ndim else None for a in self.arrays}
        if None in lengths:
            raise ValueError("DataLoader: every array needs a first (sample) axis; got a "
                             "0-d array")
        if len(lengths) != 1:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ValueError(f"DataLoader: arrays must have the same number of samples "
                             f"(first axis), got shapes {shapes}")
        if int(batch_size) < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        self.n = lengths.pop()
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.generator = np.random.default_rng(seed)

    def __len__(self) -> int:
        """Number of batches per epoch."""
        if self.drop_last:
            return self.n // self.batch_size
        return math.ceil(self.n / self.batch_size)

    def batch_indices(self) -> list:
        """The sample indices of each batch of the next epoch (advances the generator)."""
        order = self.generator.permutation(self.n) if self.shuffle else np.arange(self.n)
        stop = len(self) * self.batch_size
        return [order[i:min(i + self.batch_size, self.n)]
                for i in range(0, min(stop, self.n), self.batch_size)]

    def __iter__(self):
        for idx in self.batch_indices():
            if not self.shuffle:
                sl = slice(int(idx[0]), int(idx[-1]) + 1)
                batch = tuple(cr.tensor(a[sl]) for a in self.arrays)
            else:
                batch = tuple(cr.tensor(a[idx]) for a in self.arrays)
            yield batch[0] if self._single else batch

    def __repr__(self):
        return (f"DataLoader(samples={self.n}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last})")
