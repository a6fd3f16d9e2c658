"""Adam and AdamW (decoupled weight decay), as in PyTorch."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, as_dtype_of, maximum, sqrt

__all__ = ["Adam", "AdamW"]


def _check_betas(name, betas):
    b1, b2 = betas
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise ValueError(f"{name}: betas must lie in [0, 1), got {tuple(betas)}")
    return (float(b1), float(b2))


class Adam(Optimizer):
    """Adam (Kingma & Ba). m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
    p -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps); `weight_decay` adds
    weight_decay * p to g (L2), `amsgrad` keeps the running maximum of v."""

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False):
        betas = _check_betas(type(self).__name__, betas)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _fresh_state(self, p, group):
        state = {"step": 0, "exp_avg": np.zeros_like(p), "exp_avg_sq": np.zeros_like(p)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(p)
        return state

    def _rule(self, p, grad, group, state):
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if wd:
            if self._decoupled:
                p = p * as_dtype_of(1 - lr * wd, p)
            else:
                grad = grad + wd * p
        state["step"] = t = state["step"] + 1
        m = state["exp_avg"] = state["exp_avg"] * b1 + (1 - b1) * grad
        v = state["exp_avg_sq"] = state["exp_avg_sq"] * b2 + (1 - b2) * (grad * grad)
        if group["amsgrad"]:
            v = state["max_exp_avg_sq"] = maximum(state["max_exp_avg_sq"], v)
        denom = sqrt(v) / as_dtype_of(sqrt(1 - b2 ** t), p) + eps
        step = m / denom * as_dtype_of(lr / (1 - b1 ** t), p)
        return p - step, state


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr * weight_decay
    before the Adam step. PyTorch's default weight_decay is 1e-2."""

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
