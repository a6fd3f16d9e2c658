"""Embedding: a lookup table of learned vectors indexed by integers."""

from __future__ import annotations

import numpy as np

from ... import Tensor
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter


class Embedding(Module):
    """weight (num_embeddings, embedding_dim) ~ N(0, 1); row `padding_idx` is zero and
    receives no gradient. With `max_norm`, each row looked up whose `norm_type`-norm
    exceeds it is first rescaled in place to that norm (PyTorch's renormalization)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None,
                 max_norm=None, norm_type: float = 2.0, dtype=None, generator=None):
        super().__init__()
        if max_norm is not None and not max_norm > 0:
            raise ValueError(f"Embedding: max_norm must be positive, got {max_norm}")
        self.max_norm, self.norm_type = max_norm, float(norm_type)
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range for "
                                 f"{num_embeddings} embeddings")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        dtype = init.get_default_dtype() if dtype is None else dtype
        self.weight = Parameter(np.zeros((num_embeddings, embedding_dim), dtype))
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        init.normal_(self.weight, generator=generator)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, indices):
        idx = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_embeddings):
            raise IndexError(f"Embedding: indices must lie in [0, {self.num_embeddings}), got "
                             f"values from {idx.min()} to {idx.max()}")
        if self.max_norm is not None:
            F.embedding_renorm_(self.weight, idx, self.max_norm, self.norm_type)
        return F.embedding(idx, self.weight, self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s if self.padding_idx is None else s + f", padding_idx={self.padding_idx}"
