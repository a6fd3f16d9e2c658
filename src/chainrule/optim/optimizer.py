"""`Optimizer`: parameter groups, per-parameter state, and a state dict that saves without
pickle (PyTorch's layout: {"state": {index: {...}}, "param_groups": [{..., "params": [...]}]})."""

from __future__ import annotations

import math
import numbers

import numpy as np

import chainrule as cr

__all__ = ["Optimizer", "as_dtype_of", "maximum", "sqrt"]


def as_dtype_of(x, p):
    """A scalar factor ready to scale p: a tensor is cast to p's dtype (so a float64
    step count never promotes float32 weights); a Python number stays weak."""
    return x.astype(p.dtype) if isinstance(x, cr.Tensor) else x


def sqrt(x):
    """math.sqrt of a number, cr.sqrt of a tensor, np.sqrt of an array."""
    if isinstance(x, cr.Tensor):
        return cr.sqrt(x)
    return np.sqrt(x) if isinstance(x, np.ndarray) else math.sqrt(x)


def maximum(a, b):
    """cr.maximum of tensors, np.maximum of arrays."""
    return cr.maximum(a, b) if isinstance(a, cr.Tensor) or isinstance(b, cr.Tensor) else \
        np.maximum(a, b)


class Optimizer:
    """Base class: subclasses set `defaults` and implement `_rule(p, grad, group, state)`.

    `params` is an iterable of tensors (e.g. `model.parameters()`) or of dicts
    `{"params": [...], "lr": ...}` for groups with their own hyperparameters. Updates are
    made in place on each parameter's `.data` (an ndarray), outside the graph, by the
    same rule that `update` (the functional form, for `cr.jit`) applies.
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

    def _parameters(self):
        """(group, parameter) pairs in the order of `update`'s lists."""
        return [(group, p) for group in self.param_groups for p in group["params"]]

    def init(self, params=None) -> list:
        """The functional state for `update`: one dict of tensors per parameter."""
        pairs = self._parameters()
        if params is not None:
            pairs = [(group, q) for (group, _), q in zip(pairs, params)]
        return [{k: cr.tensor(v) for k, v in self._fresh_state(np.asarray(q.data), group)
                 .items()} for group, q in pairs]

    def update(self, params, grads, state, **hyper):
        """Functional step: (new params, new state) from lists of params, grads and the
        state from `init`; no tensor is modified, so it can run under `cr.jit`. Keyword
        arguments override hyperparameters (e.g. `lr=` a traced scalar)."""
        new_params, new_state = [], []
        for (group, _), p, g, s in zip(self._parameters(), params, grads, state):
            if g is None:
                new_params.append(p)
                new_state.append(s)
                continue
            g = cr.astype(g, p.dtype) if g.dtype != p.dtype else g   # as step() does
            p, s = self._rule(p, g, {**group, **hyper} if hyper else group, dict(s))
            new_params.append(p)
            new_state.append(s)
        return type(params)(new_params), new_state

    def step(self, closure=None):
        """One update of every parameter that has a gradient. `closure` (optional) re-runs
        the forward and backward pass and returns the loss, which step returns."""
        loss = None
        if closure is not None:
            with cr.enable_grad():
                loss = closure()
        with cr.no_grad():
            for group, p in self._parameters():
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
                    state = self.state[p] = self._fresh_state(p.data, group)
                self._apply(p, grad, group, state)
                p._bump_version()  # a graph recorded before this step is now stale
        return loss

    def _apply(self, p, grad, group, state):
        """The functional rule run on the arrays themselves (NumPy's ufuncs, the very ones
        chainrule's ops call: the same numbers, without a tensor per operation), written
        back in place."""
        new_p, new_state = self._rule(p.data, grad, group, dict(state))
        p.data[...] = np.asarray(new_p)
        for k, v in new_state.items():
            if isinstance(v, (np.ndarray, cr.Tensor)):
                v = np.asarray(v)
                if isinstance(state.get(k), np.ndarray):
                    state[k][...] = v
                else:
                    state[k] = v.copy()   # e.g. SGD's first momentum buffer is the gradient
            else:
                state[k] = v

    def _fresh_state(self, p, group) -> dict:
        """The state before the first step (arrays shaped like the parameter array p)."""
        return {}

    def _rule(self, p, grad, group, state):  # pragma: no cover - abstract
        """(new p, new state) from tensors (`update`, traceable by cr.jit) or from ndarrays
        (`step`): written with operators and this module's `sqrt`/`maximum`, which serve
        both."""
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
