"""Trees of tensors: a transform's outputs as a flat list of leaves, and back again."""

from __future__ import annotations

import numbers

import numpy as np

from ..core import TensorBase, _new_tensor
from .complex_guard import refuse_complex

__all__ = ["flatten", "map_leaves"]


def flatten(out, transform: str):
    """The tensors of a pytree output (nested tuples, lists, dicts), and a function
    rebuilding it from new leaves. Python and NumPy numbers become float tensors."""
    leaves, treedef = tree_flatten(out)
    tensors = []
    for item in leaves:
        if not isinstance(item, TensorBase):
            if not isinstance(item, (numbers.Number, np.ndarray, np.generic)):
                raise TypeError(f"{transform}: the function returned {type(item).__name__}; "
                                "return tensors, or tuples/lists/dicts of tensors")
            array = np.asarray(item)
            refuse_complex(array.dtype, transform, "the value f returned")
            item = _new_tensor(array.astype(float))
        tensors.append(item)
    return tensors, lambda new_leaves: tree_unflatten(treedef, list(new_leaves))


def map_leaves(fn, out, transform: str = "transform"):
    """`out` with `fn` applied to every tensor leaf."""
    leaves, rebuild = flatten(out, transform)
    return rebuild([fn(leaf) for leaf in leaves])


# ----- pytrees: nested tuples, lists and dicts (JAX's convention) --------------------------
# A pytree is a leaf (anything but a tuple, list, dict or None) or a container of pytrees;
# None is an empty container. Dicts are walked in sorted key order, as in JAX.

class TreeDef:
    """The structure of a pytree without its leaves (`tree_flatten`'s second result)."""

    __slots__ = ("_nodes", "num_leaves")

    def __init__(self, nodes, num_leaves):
        self._nodes, self.num_leaves = nodes, num_leaves

    def __eq__(self, other):
        return isinstance(other, TreeDef) and self._nodes == other._nodes

    def __hash__(self):
        return hash(self._nodes)

    def __repr__(self):
        return f"TreeDef({self.num_leaves} leaves)"

    def collapse_groups(self, n: int) -> TreeDef:
        """This structure with every n-tuple of leaves seen as one leaf: undoes a transform
        that replaced each leaf by a tuple of n blocks (in pre-order such a tuple is
        ('tuple', n) followed by n leaves, which no other container is)."""
        nodes, out, i = self._nodes, [], 0
        while i < len(nodes):
            if nodes[i] == ("tuple", n) and nodes[i + 1:i + 1 + n] == (("leaf",),) * n:
                out.append(("leaf",))
                i += 1 + n
            else:
                out.append(nodes[i])
                i += 1
        return TreeDef(tuple(out), sum(node == ("leaf",) for node in out))


def _is_container(x) -> bool:
    return x is None or type(x) in (tuple, list, dict)


def tree_flatten(tree):
    """(leaves, treedef): the leaves in order (iterative walk), and the structure."""
    leaves, nodes = [], []
    stack = [tree]
    while stack:
        item = stack.pop()
        if not _is_container(item):
            nodes.append(("leaf",))
            leaves.append(item)
        elif item is None:
            nodes.append(("none",))
        elif type(item) is dict:
            keys = sorted(item)
            nodes.append(("dict", tuple(keys)))
            stack.extend(item[k] for k in reversed(keys))
        else:
            nodes.append((type(item).__name__, len(item)))
            stack.extend(reversed(item))
    return leaves, TreeDef(tuple(nodes), len(leaves))


def tree_unflatten(treedef: TreeDef, leaves):
    """The pytree of structure `treedef` holding `leaves` (in tree_flatten's order)."""
    leaves = list(leaves)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(f"tree_unflatten: the structure holds {treedef.num_leaves} leaves, "
                         f"got {len(leaves)}")
    # Rebuild from the end of the pre-order list: each container takes its children, which
    # are already built, off a stack (no recursion).
    built, leaf_i = [], len(leaves)
    for node in reversed(treedef._nodes):
        kind = node[0]
        if kind == "leaf":
            leaf_i -= 1
            built.append(leaves[leaf_i])
        elif kind == "none":
            built.append(None)
        else:
            n = len(node[1]) if kind == "dict" else node[1]
            children = [built.pop() for _ in range(n)]
            if kind == "dict":
                built.append(dict(zip(node[1], children)))
            else:
                built.append(tuple(children) if kind == "tuple" else children)
    return built[0]


def tree_leaves(tree) -> list:
    """The leaves of `tree`, in order."""
    return tree_flatten(tree)[0]


def tree_map(fn, tree, *rest):
    """`tree` with each leaf replaced by fn(leaf, *the matching leaves of `rest`)."""
    leaves, treedef = tree_flatten(tree)
    others = []
    for r in rest:
        r_leaves, r_def = tree_flatten(r)
        if r_def != treedef:
            raise ValueError("tree_map: the trees have different structures")
        others.append(r_leaves)
    return tree_unflatten(treedef, [fn(*xs) for xs in zip(leaves, *others)])


def has_containers(values) -> bool:
    """True when some value is a tuple, list, dict or None (a pytree, not one array)."""
    return any(_is_container(v) for v in values)


def check_leaves(leaves, transform: str, what: str) -> None:
    """A clear error for a leaf that is not a number, an array or a tensor."""
    for leaf in leaves:
        if not isinstance(leaf, (TensorBase, numbers.Number, np.ndarray, np.generic)):
            raise TypeError(f"{transform}: {what} holds a {type(leaf).__name__}; a pytree's "
                            "leaves must be numbers, arrays or tensors (containers: tuple, "
                            "list, dict, None)")


def over_leaves(f, args, argnums, transform: str):
    """f as a function of the leaves of the pytree arguments at `argnums`.

    Returns (f_leaves, leaves, regroup): f_leaves(*leaves) calls f with the arguments
    rebuilt; regroup(per_leaf) turns one value per leaf back into one pytree per argnum.
    """
    spans, leaves = [], []
    for i in argnums:
        if i >= len(args):
            raise TypeError(f"{transform}: argnums names argument {i} but the function was "
                            f"called with {len(args)} arguments")
        arg_leaves, treedef = tree_flatten(args[i])
        if not arg_leaves:
            raise TypeError(f"{transform}: argument {i} is {args[i]!r}, which holds no number "
                            "or array to differentiate by")
        check_leaves(arg_leaves, transform, f"argument {i}")
        spans.append((len(leaves), len(leaves) + len(arg_leaves), treedef))
        leaves.extend(arg_leaves)

    def f_leaves(*xs, **kwargs):
        full = list(args)
        for i, (start, stop, treedef) in zip(argnums, spans):
            full[i] = tree_unflatten(treedef, xs[start:stop])
        return f(*full, **kwargs)

    def regroup(per_leaf):
        return tuple(tree_unflatten(treedef, list(per_leaf[start:stop]))
                     for start, stop, treedef in spans)

    return f_leaves, leaves, regroup
