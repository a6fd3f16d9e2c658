"""RMSprop, as in PyTorch (optionally centered, with momentum)."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, as_dtype_of, sqrt

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """s = alpha s + (1 - alpha) g^2; with centered=True the running mean of g is
    subtracted: avg = sqrt(s - gbar^2) + eps, else avg = sqrt(s) + eps; then
    p -= lr * g / avg, or with momentum buf = momentum buf + g / avg, p -= lr * buf."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 maximize: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _fresh_state(self, p, group):
        state = {"step": 0, "square_avg": np.zeros_like(p)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(p)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(p)
        return state

    def _rule(self, p, grad, group, state):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        momentum, wd = group["momentum"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if wd:
            grad = grad + wd * p
        state["step"] = state["step"] + 1
        sq = state["square_avg"] = state["square_avg"] * alpha + (1 - alpha) * (grad * grad)
        if group["centered"]:
            ga = state["grad_avg"] = state["grad_avg"] * alpha + (1 - alpha) * grad
            avg = sqrt(sq - ga * ga) + eps
        else:
            avg = sqrt(sq) + eps
        lr = as_dtype_of(lr, p)
        if momentum > 0:
            buf = state["momentum_buffer"] = state["momentum_buffer"] * momentum + grad / avg
            return p - lr * buf, state
        return p - lr * (grad / avg), state
