"""Which module made which node: module calls recorded while a network runs, then groups.

    with cr.explain.scopes() as calls:      # watch every nn.Module call on this thread
        loss = loss_fn(model(x), y)
    g = cr.explain.graph_of(loss, model=model, scopes=calls)

A call's nodes are the operations between its inputs and its outputs: everything its
outputs were computed from, stopping at the tensors it was given. A node belongs to the
innermost call that made it (a Linear inside a Sequential; an LSTM cell inside its LSTM).
Recording holds the tensors of each call until the recording is dropped.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

from ..core import TensorBase
from ..nn.module import SCOPES, Module

__all__ = ["Call", "Group", "Scopes", "assign_groups", "collapsed_owner", "layer_lines", "scopes"]


@dataclass(eq=False)
class Call:
    """One module call (or labelled step): its owner, enclosing call, inputs and outputs."""

    owner: object  # a Module, or a label such as "step 3"
    parent: int | None
    inputs: list
    outputs: list = field(default_factory=list)


@dataclass(eq=False)
class Scopes:
    """The calls recorded by `scopes()`, in the order they started (parents first)."""

    calls: list = field(default_factory=list)


@dataclass(eq=False)
class Group:
    """A box of the picture: the nodes one call made (children are groups too)."""

    index: int
    label: str  # "0: Linear", "lstm: LSTM", "step 3"
    parent: int | None
    path: str | None  # the module's dotted name in the model ("" for the model itself)
    leaf_module: bool  # a Module whose calls hold no other Module: a layer, drawn collapsed
    nodes: list = field(default_factory=list)


def _tensors(tree) -> list:
    """The tensors in a nested tuple/list/dict, in order (iterative)."""
    found, stack = [], [tree]
    while stack:
        x = stack.pop()
        if isinstance(x, TensorBase):
            found.append(x)
        elif isinstance(x, (tuple, list)):
            stack.extend(reversed(x))
        elif isinstance(x, dict):
            stack.extend(reversed(list(x.values())))
    return found


@contextmanager
def scopes():
    """Record every module call on this thread until the block ends; yields the record."""
    record, stack = Scopes(), []
    previous = SCOPES.observer

    def observe(owner, fn, args, kwargs):
        call = Call(owner, stack[-1] if stack else None, _tensors((args, kwargs)))
        stack.append(len(record.calls))
        record.calls.append(call)
        try:
            out = fn(*args, **kwargs)
        finally:
            stack.pop()
        call.outputs = _tensors(out)
        return out

    SCOPES.observer = observe
    try:
        yield record
    finally:
        SCOPES.observer = previous


def _label(owner, module_names: dict, seen: dict) -> str:
    if not isinstance(owner, Module):
        return str(owner)
    kind = type(owner).__name__
    name = module_names.get(id(owner))
    base = kind if not name else f"{name}: {kind}"
    seen[id(owner)] = seen.get(id(owner), 0) + 1
    return base if seen[id(owner)] == 1 else f"{base} (call {seen[id(owner)]})"


def assign_groups(nodes, constants, record: Scopes, model=None) -> list:
    """Set `node.group` (a Group index or None) for every node; return the groups.

    Parameters go to the module that owns them (by `named_parameters()` prefix); constants
    to their first consumer's group.
    """
    module_names = {id(m): n for n, m in model.named_modules()} if model is not None else {}
    by_id = {id(n.tensor): n for n in nodes}
    owner_of: dict = {}
    seen: dict = {}
    groups, group_of_call = [], {}
    for k, call in enumerate(record.calls):
        stop = {id(t) for t in call.inputs}
        members, stack, visited = [], list(call.outputs), set()
        while stack:
            t = stack.pop()
            key = id(t)
            if key in visited or key in stop or t._node is None or key not in by_id:
                continue
            visited.add(key)
            members.append(by_id[key])
            stack.extend(t._node.inputs or ())
        if not members:
            continue
        parent = call.parent
        while parent is not None and parent not in group_of_call:
            parent = record.calls[parent].parent
        is_module = isinstance(call.owner, Module)
        group = Group(len(groups), _label(call.owner, module_names, seen),
                      None if parent is None else group_of_call[parent],
                      module_names.get(id(call.owner)) if is_module else None, is_module)
        group_of_call[k] = group.index
        groups.append(group)
        for n in members:  # later calls are nested deeper: the innermost wins
            owner_of[id(n)] = group.index
    for g in groups:  # a group holding a Module's group is not a leaf layer
        p = g.parent if g.leaf_module else None
        while p is not None:
            groups[p].leaf_module = False
            p = groups[p].parent
    by_module: dict = {}
    for g in groups:
        if g.path is not None:
            by_module.setdefault(g.path, g.index)
    for n in nodes:
        if n.kind == "input" and "." in n.name:  # "0.weight": the module "0" owns it
            owner_of.setdefault(id(n), by_module.get(n.name.rsplit(".", 1)[0]))
    for n in list(nodes) + list(constants):
        group = owner_of.get(id(n))
        if group is None and n.kind == "const" and n.consumers:
            group = owner_of.get(id(n.consumers[0]))
        n.group = group
        if group is not None:
            groups[group].nodes.append(n)
    return groups


def collapsed_owner(graph) -> dict:
    """{id(node): index of the layer group it is drawn inside when layers are collapsed}.

    Layers are the leaf-module groups; nodes outside any layer are not in the map.
    """
    groups = graph.groups
    owner = {}
    for n in graph.nodes + graph.constants:
        g = n.group
        while g is not None and not groups[g].leaf_module:
            g = groups[g].parent
        if g is not None:
            owner[id(n)] = g
    return owner


def layer_lines(group, members) -> list:
    """A collapsed layer's text (`members`: every node drawn inside it): its name, its
    Jacobian's shape, what it holds."""
    inside = {id(n) for n in members}
    ins = [i for n in members if n.kind == "op" for i in n.inputs
           if id(i) not in inside or i.kind == "const"]
    # what flows in from another layer; else the data (the biggest constant it reads)
    ins = [i for i in ins if i.kind != "const"] or sorted(ins, key=lambda i: -i.size)
    outs = [n for n in members if n.kind == "op" and (not n.consumers or any(
        id(c) not in inside for c in n.consumers))]
    params = sum(1 for n in members if n.kind == "input")
    ops = sum(1 for n in members if n.kind == "op")
    jac = (f"Jacobian {tuple(outs[-1].shape + ins[0].shape)}" if outs and ins
           else f"output {tuple(outs[-1].shape)}" if outs else "")
    held = f"{ops} op{'s' * (ops != 1)}, {params} parameter{'s' * (params != 1)}"
    return [t for t in (group.label, jac, held) if t]
