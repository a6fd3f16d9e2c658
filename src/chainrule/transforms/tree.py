"""Trees of tensors: a transform's outputs as a flat list of leaves, and back again."""

from __future__ import annotations

import numbers

import numpy as np

from ..core import TensorBase, _new_tensor
from .complex_guard import refuse_complex

__all__ = ["flatten", "map_leaves"]


def flatten(out, transform: str):
    """The tensors of a tensor or (nested) tuple/list, and a function rebuilding it.

    Python and NumPy numbers become float tensors. Iterative (no recursion): the tree is
    walked with an explicit stack, and rebuilt from the innermost containers outwards.
    """
    leaves = []
    # Each container's entry: (its type, its children's slots); a slot is ("leaf", k) or
    # ("node", index of the child container).
    containers = []
    root = None
    stack = [(out, None, None)]
    while stack:
        item, parent, position = stack.pop()
        if isinstance(item, TensorBase) or isinstance(item, (numbers.Number, np.ndarray)):
            if not isinstance(item, TensorBase):
                array = np.asarray(item)
                refuse_complex(array.dtype, transform, "the value f returned")
                item = _new_tensor(array.astype(float))
            slot = ("leaf", len(leaves))
            leaves.append(item)
        elif isinstance(item, (tuple, list)):
            slot = ("node", len(containers))
            containers.append((type(item), [None] * len(item)))
            for k in range(len(item) - 1, -1, -1):
                stack.append((item[k], slot[1], k))
        else:
            raise TypeError(f"{transform}: the function returned {type(item).__name__}; "
                            "return a tensor or a tuple/list of tensors")
        if parent is None:
            root = slot
        else:
            containers[parent][1][position] = slot

    def rebuild(new_leaves):
        built = [None] * len(containers)
        for c in range(len(containers) - 1, -1, -1):  # children come after their parent
            kind, slots = containers[c]
            built[c] = kind(new_leaves[i] if tag == "leaf" else built[i] for tag, i in slots)
        tag, i = root
        return new_leaves[i] if tag == "leaf" else built[i]

    return leaves, rebuild


def map_leaves(fn, out, transform: str = "transform"):
    """`out` with `fn` applied to every tensor leaf."""
    leaves, rebuild = flatten(out, transform)
    return rebuild([fn(leaf) for leaf in leaves])
