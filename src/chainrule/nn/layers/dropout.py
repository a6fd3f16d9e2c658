"""Dropout: seeded masks in training mode, the identity in eval mode."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..module import Module


class Dropout(Module):
    """Zero entries with probability p and scale the others by 1/(1-p) while training.

    Masks come from `generator` (a numpy Generator, or an int seed for a private one), or
    else from the module-level generator that cr.nn.init.manual_seed seeds."""

    def __init__(self, p: float = 0.5, generator=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must lie in [0, 1], got {p}")
        self.p = float(p)
        if isinstance(generator, (int, np.integer)):
            generator = np.random.default_rng(generator)
        self.generator = generator

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self):
        return f"p={self.p}"
