"""`Optimizer`: parameter groups, per-parameter state, and a state dict that saves without
pickle (PyTorch's layout: {"state": {index: {...}}, "param_groups": [{..., "params": [...]}]})."""

from __future__ import annotations

import numbers

import numpy as np

import chainrule as cr

__all__ = ["Optimizer"]


class Optimizer:
    """Base class: subclasses set `defaults` and implement `_update(p, grad, group, state)`.

    `params` is an iterable of tensors (e.g. `model.parameters()`) or of dicts
    `{"params": [...], "lr": ...}` for groups with their own hyperparameters. Updates are
    made in place on each parameter's `.data` (an ndarray), outside the graph.
    """

    def __init__(self, params, defaults: dict):
        if isinstance(params, cr.Tensor):
            raise TypeError(f"{type(self).__name__}: params should be an iterable of tensors "
                            "(e.g. model.parameters()), got a single Tensor")
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict = {}
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict):
        """Add a group of parameters; missing hyperparameters take the defaults."""
        group = dict(group)
        params = group["params"]
        params = [params] if isinstance(params, cr.Tensor) else list(params)
        for p in params:
            if not isinstance(p, cr.Tensor):
                raise TypeError(f"{type(self).__name__}: can only optimize Tensors, got "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: can't optimize a non-leaf Tensor")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one "
                             "parameter group")
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict):
        for key in ("lr", "weight_decay", "momentum", "eps", "alpha"):
            value = group.get(key)
            if value is not None and (not isinstance(value, numbers.Real) or value < 0):
                raise ValueError(f"{type(self).__name__}: invalid {key} {value!r} "
                                 "(must be a number >= 0)")

    def zero_grad(self, set_to_none: bool = True):
        """Clear the gradients of every parameter (to None, or to zeros in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def step(self, closure=None):
        """One update of every parameter that has a gradient. `closure` (optional) re-runs
        the forward and backward pass and returns the loss, which step returns."""
        loss = None
        if closure is not None:
            with cr.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data
                if grad.shape != p.data.shape:
                    raise ValueError(f"{type(self).__name__}.step: a gradient of shape "
                                     f"{grad.shape} for a parameter of shape {p.data.shape}")
                if grad.dtype != p.data.dtype:
                    grad = grad.astype(p.data.dtype)
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {}
                self._update(p.data, grad, group, state)
                p._bump_version()  # a graph recorded before this step is now stale
        return loss

    def _update(self, p, grad, group, state):  # pragma: no cover - abstract
        raise NotImplementedError

    # ----- state ---------------------------------------------------------------------
    def state_dict(self) -> dict:
        """{"state": {index: {name: value}}, "param_groups": [...]}; parameters are named by
        their position across groups, so the dict holds only numbers, tuples and arrays
        (`cr.save` writes it without pickle)."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                                           for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict):
        """Restore hyperparameters and per-parameter state (e.g. momentum buffers)."""
        name = type(self).__name__
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state has {len(groups)} parameter "
                             f"groups, this optimizer has {len(self.param_groups)}")
        for saved, group in zip(groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: a parameter group of "
                                 f"{len(saved['params'])} parameters does not fit one of "
                                 f"{len(group['params'])}")
        saved_state = {int(k): v for k, v in state_dict["state"].items()}
        new_state = {}
        for saved, group in zip(groups, self.param_groups):
            for key, value in saved.items():
                if key != "params":
                    group[key] = tuple(value) if isinstance(value, list) else value
            for i, p in zip(saved["params"], group["params"]):
                entry = saved_state.get(int(i))
                if entry is None:
                    continue
                restored = {}
                for k, v in entry.items():
                    if isinstance(v, (np.ndarray, cr.Tensor)):
                        v = np.array(v.data if isinstance(v, cr.Tensor) else v,
                                     dtype=p.data.dtype)
                        if v.shape != p.data.shape:
                            raise ValueError(f"{name}.load_state_dict: state '{k}' of shape "
                                             f"{v.shape} for a parameter of shape "
                                             f"{p.data.shape}")
                    elif isinstance(v, np.generic):
                        v = v.item()
                    restored[k] = v
                new_state[p] = restored
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"
