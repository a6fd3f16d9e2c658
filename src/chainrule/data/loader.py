"""`DataLoader`: mini-batches of aligned arrays or of any map-style dataset, optionally
shuffled with a seed."""

from __future__ import annotations

import math
import numbers

import numpy as np

import chainrule as cr

from .dataset import TensorDataset, row_reader

__all__ = ["DataLoader", "default_collate"]


def default_collate(samples: list):
    """Stack a list of samples into a batch: arrays, tensors and numbers become one Tensor
    with the batch axis first; tuples/lists and dicts are collated field by field;
    strings stay a list."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        if any(not isinstance(s, (tuple, list)) or len(s) != len(first) for s in samples):
            raise ValueError("default_collate: samples have different numbers of fields")
        return tuple(default_collate([s[i] for s in samples]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, (cr.Tensor, np.ndarray, np.generic, numbers.Number)):
        arrays = [np.asarray(s.data if isinstance(s, cr.Tensor) else s) for s in samples]
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise ValueError(f"default_collate: samples have different shapes "
                             f"{sorted(shapes)[:4]}; pad them or pass a collate_fn")
        return cr.tensor(np.stack(arrays))
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; "
                    "pass collate_fn=... to DataLoader")


def _is_array(x) -> bool:
    return isinstance(x, (np.ndarray, cr.Tensor))


class DataLoader:
    """Iterate over mini-batches of a dataset.

    `data` is a map-style dataset (any object with `__len__` and `__getitem__`, e.g.
    `TensorDataset` or a list of samples), or, as before, one array or a tuple/list of
    arrays with the same first axis (e.g. `(images, labels)`). Batches of arrays are
    tuples of Tensors (one Tensor when one array was given); samples of a dataset go
    through `collate_fn` (default `default_collate`). With `shuffle=True` every epoch
    visits the samples in a new order drawn from a generator seeded by `seed`, so two
    loaders with the same seed give the same batches, epoch after epoch. `drop_last=True`
    drops a final batch smaller than `batch_size`.

    `shard=(rank, world_size)` (data-parallel training, see `cr.distributed`): every rank
    draws the same global batches (give every rank the same `seed`) and takes its own
    contiguous part of each, so every sample is seen once per epoch across the ranks and
    the order changes every epoch. A final global batch with fewer samples than ranks is
    dropped. `last_batch_size` is the size of the part this rank yielded last.
    """

    def __init__(self, data, batch_size: int = 1, shuffle: bool = False, seed=None,
                 drop_last: bool = False, collate_fn=None, shard=None):
        self._single = _is_array(data)
        if _is_array(data) or isinstance(data, tuple) or (
                isinstance(data, list) and data and all(_is_array(a) for a in data)):
            items = [data] if self._single else list(data)
            if not items:
                raise ValueError("DataLoader: got no arrays")
            try:
                self.dataset = TensorDataset(*items)
            except ValueError as err:
                raise ValueError(str(err).replace("TensorDataset", "DataLoader")) from None
            self.arrays = self.dataset.arrays
        elif hasattr(data, "__len__") and hasattr(data, "__getitem__"):
            self.dataset, self.arrays = data, None
        else:
            raise TypeError(f"DataLoader: expected a dataset (an object with __len__ and "
                            f"__getitem__) or arrays, got {type(data).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a whole number >= 1, got "
                             f"{batch_size!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError("DataLoader: collate_fn must be a function of a list of samples")
        self.n = len(self.dataset)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.collate_fn = collate_fn
        self.generator = np.random.default_rng(seed)
        self._rows = None if collate_fn is not None else row_reader(self.dataset)
        self.shard = _check_shard(shard)
        self.last_batch_size = None

    def __len__(self) -> int:
        """Number of batches per epoch."""
        if self.drop_last:
            return self.n // self.batch_size
        count = math.ceil(self.n / self.batch_size)
        if self.shard and count and self.n - (count - 1) * self.batch_size < self.shard[1]:
            count -= 1  # a final batch too small to give every rank a sample
        return count

    def batch_indices(self) -> list:
        """The sample indices of each batch of the next epoch (advances the generator)."""
        order = self.generator.permutation(self.n) if self.shuffle else np.arange(self.n)
        stop = len(self) * self.batch_size
        batches = [order[i:min(i + self.batch_size, self.n)]
                   for i in range(0, min(stop, self.n), self.batch_size)]
        if self.shard:
            rank, world = self.shard
            batches = [np.array_split(b, world)[rank] for b in batches]
        return batches

    def __iter__(self):
        collate = self.collate_fn or default_collate
        for idx in self.batch_indices():
            self.last_batch_size = len(idx)
            if self._rows is not None:
                batch = tuple(cr.tensor(a) for a in self._rows(idx))
                yield batch[0] if self._single else batch
            else:
                yield collate([self.dataset[int(i)] for i in idx])

    def __repr__(self):
        shard = f", shard={self.shard}" if self.shard else ""
        return (f"DataLoader(samples={self.n}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last}{shard})")


def _check_shard(shard):
    """`shard` as a (rank, world_size) pair of ints, checked; None stays None."""
    if shard is None:
        return None
    try:
        rank, world = (int(v) for v in shard)
    except (TypeError, ValueError):
        raise ValueError(f"DataLoader: shard must be a pair (rank, world_size), got "
                         f"{shard!r}") from None
    if not 0 <= rank < world:
        raise ValueError(f"DataLoader: shard=({rank}, {world}) needs 0 <= rank < world_size")
    return (rank, world)
