"""`apply_budget(model, memory_budget)`: recompute instead of store inside an nn model.

Every outermost `nn.Sequential` of the model runs through `checkpoint_sequential` with the
budget (segments chosen from measured sizes), and every RNN/LSTM/GRU through `cr.scan` with
snapshots chosen for the budget. Modules and parameter names stay as they are (only the
instances' `forward` changes), so state dicts and saved checkpoints are unaffected.
"""

from __future__ import annotations

import chainrule as cr

from ..transforms.checkpoint import parse_bytes
from .sequential import checkpoint_sequential

__all__ = ["apply_budget"]


def apply_budget(model, memory_budget) -> list:
    """Checkpoint the chains and loops of `model` to fit `memory_budget` (bytes or "20MB")
    each; returns a line per module changed."""
    budget = parse_bytes(memory_budget, "memory.apply_budget: memory_budget")
    changed, stack = [], [("", model)]
    while stack:
        name, module = stack.pop()
        if isinstance(module, cr.nn.Sequential):
            module.forward = checkpoint_sequential(module, segments=None, memory_budget=budget)
            changed.append(f"{name or type(module).__name__}: checkpoint_sequential("
                           f"{len(module.forward.layers)} layers, memory_budget={budget})")
            continue
        if isinstance(module, (cr.nn.RNN, cr.nn.LSTM, cr.nn.GRU)):
            module.checkpoint = {"memory_budget": budget}
            changed.append(f"{name or type(module).__name__}: scan(checkpoint='binomial', "
                           f"memory_budget={budget})")
            continue
        children = list(module.named_children())
        stack.extend((f"{name}.{n}" if name else n, m) for n, m in reversed(children))
    return changed
