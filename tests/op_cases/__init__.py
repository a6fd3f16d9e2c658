"""The one op table: every primitive's gradient cases, collected from one module a family.

Each family module (elementwise.py, reduce.py, ...) defines `CASES`, a list of `OpCase`.
`tests/test_ops.py` checks every case in forward and reverse mode to second order, and
fails if a registered primitive has no case.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass
class OpCase:
    """One gradient check: `fn` applied to arrays made by `make(rng)`."""

    op: str                                   # the primitive's name in cr.PRIMITIVES
    fn: Callable                              # a function of tensors
    make: Callable[[np.random.Generator], tuple]  # the float64 arguments
    label: str = ""
    order: int = 2
    modes: tuple = ("fwd", "rev")
    tolerances: dict = field(default_factory=dict)   # atol/rtol/eps overrides

    def sample(self, rng):
        return self.make(rng)

    def __str__(self):
        return f"{self.op}[{self.label}]" if self.label else self.op


def normal(*shapes):
    """Arguments drawn from a standard normal, one per shape."""
    return lambda rng: tuple(rng.standard_normal(s) for s in shapes)


def positive(*shapes, low=0.5, high=2.0):
    """Arguments drawn uniformly from [low, high), one per shape."""
    return lambda rng: tuple(rng.uniform(low, high, s) for s in shapes)


def all_cases() -> list:
    cases = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        cases.extend(module.CASES)
    return cases
