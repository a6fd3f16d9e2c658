"""`cr.nn.utils`: gradient clipping."""

from __future__ import annotations

import math

import numpy as np

import chainrule as cr

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> cr.Tensor:
    """Scale the gradients of `parameters` in place so that their joint norm (all
    gradients seen as one vector) is at most `max_norm`; returns the norm before clipping.

    As in PyTorch, the scale is max_norm / (norm + 1e-6), applied only when below 1;
    `norm_type` may be float('inf').
    """
    if isinstance(parameters, cr.Tensor):
        parameters = [parameters]
    grads = [p.grad.data for p in parameters if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return cr.tensor(0.0)
    if math.isinf(norm_type):
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        total = float(sum(float(np.sum(np.abs(g) ** norm_type)) for g in grads)
                      ) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           "gradients is non-finite; set error_if_nonfinite=False to skip "
                           "this check")
    coef = float(max_norm) / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g *= coef
    return cr.tensor(total)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient entry of `parameters` into [-clip_value, clip_value], in place."""
    if isinstance(parameters, cr.Tensor):
        parameters = [parameters]
    clip_value = float(clip_value)
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for p in parameters:
        if p.grad is not None:
            np.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)
