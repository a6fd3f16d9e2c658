"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from .optimizer import Optimizer, as_dtype_of

__all__ = ["SGD"]


class SGD(Optimizer):
    """PyTorch's SGD. With g = grad + weight_decay * p and, when momentum > 0,
    buf = momentum * buf + (1 - dampening) * g (buf = g at the first step):
    p -= lr * (g + momentum * buf if nesterov else buf)."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 maximize: bool = False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires momentum > 0 and dampening 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _rule(self, p, grad, group, state):
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if wd:
            grad = grad + wd * p
        if momentum:
            buf = state.get("momentum_buffer")
            # The first step starts the buffer at the gradient (PyTorch): a None buffer.
            buf = grad if buf is None else buf * momentum + (1 - group["dampening"]) * grad
            state["momentum_buffer"] = buf
            grad = grad + momentum * buf if group["nesterov"] else buf
        return p - as_dtype_of(lr, p) * grad, state
