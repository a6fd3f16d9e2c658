"""Scaled dot-product attention as one primitive: softmax(q k^T * scale + mask) v.

One node instead of five (matmul, scale, mask, softmax, matmul) and nothing of size
(L, S) saved for the backward pass: the rules recompute the attention weights P from q
and k with a second primitive, `attention_probs` (one node, not eight). With dO the
cotangent: dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(dP * P)), dQ = dS K * scale,
dK = dS^T Q * scale; `attention_probs`' own rules are the last three (its JVP applies the
same symmetric softmax Jacobian). The rules are chainrule ops, so every order works.
When the keys are no more than the value's width (S <= Ev), P is no bigger than the
output and `scaled_dot_product_attention` keeps it instead: `attention_probs` then matmul.
"""

from __future__ import annotations

import numpy as np

from ._define import bind_tensors, defop, shared
from .linalg import matmul
from .reduce import softmax_cotangent
from .shape import broadcast_to, reshape, swapaxes


def _mask_array(mask, causal: bool, lq: int, lk: int):
    """The boolean 'may attend' mask of shape (..., L, S), or None for no mask."""
    keep = None if mask is None or mask.dtype != bool else mask
    if causal:
        tri = np.tril(np.ones((lq, lk), bool))
        keep = tri if keep is None else keep & tri
    return keep


def _scores_np(q, k, mask, causal, scale):
    s = np.matmul(q, np.swapaxes(k, -1, -2)) * np.asarray(scale, q.dtype)
    if mask is not None and mask.dtype != bool:
        s = s + mask.astype(q.dtype)
    keep = _mask_array(mask, causal, q.shape[-2], k.shape[-2])
    if keep is not None:
        s = np.where(keep, s, np.asarray(-np.inf, q.dtype))
    return s


def _probs_impl(q, k, mask, causal, scale):
    s = _scores_np(q, k, mask, causal, scale)
    m = np.max(s, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    s -= m
    p = np.exp(s, out=s)
    p /= p.sum(axis=-1, keepdims=True)
    return p


def _impl(q, k, v, mask, causal, scale):
    return np.matmul(_probs_impl(q, k, mask, causal, scale), v)


def _softmax_vjp(c, p):
    """The cotangent of the scores from that of the weights p (softmax over the last axis)."""
    return softmax_cotangent(c, p, (p.ndim - 1,))


def _weights(q, k, mask, causal, scale):
    return bind_tensors(attention_probs_p, (q, k), {"mask": mask, "causal": causal,
                                                    "scale": scale})


def attention_weights(q, k, mask=None, causal=False, scale=1.0):
    """softmax(q k^T * scale + mask) along the last axis: one primitive."""
    return _weights(q, k, None if mask is None else np.asarray(mask), bool(causal),
                    float(scale))


def _scores_cotangent(c, p, k):
    """dS = P * (dP - rowsum(dP * P)), computed once for both the q and the k rule."""
    return shared(p, c, lambda: _softmax_vjp(c, p), done=not k.requires_grad)


def _probs_vjp_q(c, p, q, k, mask, causal, scale):
    return _reduce_to(matmul(_scores_cotangent(c, p, k), k) * scale, q.shape)


def _probs_vjp_k(c, p, q, k, mask, causal, scale):
    ds = shared(p, c, lambda: _softmax_vjp(c, p), done=True)
    return _reduce_to(matmul(swapaxes(ds, -1, -2), q) * scale, k.shape)


def _probs_jvp_q(t, p, q, k, mask, causal, scale):
    return _softmax_vjp(matmul(t, swapaxes(k, -1, -2)) * scale, p)   # the Jacobian is symmetric


def _probs_jvp_k(t, p, q, k, mask, causal, scale):
    return _softmax_vjp(matmul(q, swapaxes(t, -1, -2)) * scale, p)


def _weights_cotangent(g, v):
    return matmul(g, swapaxes(v, -1, -2))


def _recomputed(g, ans, q, k, v, mask, causal, scale, done):
    """The weights P and the scores' cotangent dS, recomputed once for the node's rules."""
    def compute():
        p = _weights(q, k, mask, causal, scale)
        return p, _softmax_vjp(_weights_cotangent(g, v), p)
    return shared(ans, g, compute, done)


def _vjp_q(g, ans, q, k, v, mask, causal, scale):
    done = not (k.requires_grad or v.requires_grad)
    ds = _recomputed(g, ans, q, k, v, mask, causal, scale, done)[1]
    return _reduce_to(matmul(ds, k) * scale, q.shape)


def _vjp_k(g, ans, q, k, v, mask, causal, scale):
    ds = _recomputed(g, ans, q, k, v, mask, causal, scale, not v.requires_grad)[1]
    return _reduce_to(matmul(swapaxes(ds, -1, -2), q) * scale, k.shape)


def _vjp_v(g, ans, q, k, v, mask, causal, scale):
    last = shared(ans, g, lambda: (_weights(q, k, mask, causal, scale), None), done=True)
    return _reduce_to(matmul(swapaxes(last[0], -1, -2), g), v.shape)


def _reduce_to(x, shape):
    """Sum leading broadcast axes away (q, k, v may broadcast over batch/heads)."""
    if x.shape == shape:
        return x
    from .shape import sum_to
    return sum_to(x, shape)


def _jvp_q(t, ans, q, k, v, mask, causal, scale):
    p = _weights(q, k, mask, causal, scale)
    return matmul(_probs_jvp_q(t, p, q, k, mask, causal, scale), v)


def _jvp_k(t, ans, q, k, v, mask, causal, scale):
    p = _weights(q, k, mask, causal, scale)
    return matmul(_probs_jvp_k(t, p, q, k, mask, causal, scale), v)


def _jvp_v(t, ans, q, k, v, mask, causal, scale):
    return matmul(_weights(q, k, mask, causal, scale), t)


def _batch(size, op, values, batched, params):
    """Leading axes are batch axes already: give every input the batch axis, call once."""
    full = []
    for v, b in zip(values, batched):
        full.append(v if b else broadcast_to(reshape(v, (1,) + v.shape), (size,) + v.shape))
    mask = params["mask"]
    if mask is not None and mask.ndim > 2:
        params = {**params, "mask": mask[None]}  # the new axis leads everywhere
    return bind_tensors(op, tuple(full), params)


attention_probs_p = defop(
    "attention_probs", _probs_impl, nin=2,
    vjp=(_probs_vjp_q, _probs_vjp_k), jvp=(_probs_jvp_q, _probs_jvp_k), batch=_batch,
    doc="softmax(q k^T * scale + mask) over the last axis: the attention weights.")

sdpa_p = defop(
    "scaled_dot_product_attention", _impl, nin=3,
    vjp=(_vjp_q, _vjp_k, _vjp_v), jvp=(_jvp_q, _jvp_k, _jvp_v), batch=_batch,
    doc="softmax(q k^T * scale + mask) v over the last two axes; P recomputed in the rules.")


def scaled_dot_product_attention(query, key, value, attn_mask=None, is_causal=False,
                                 scale=None):
    """Attention of `query` (..., L, E) over `key` (..., S, E) and `value` (..., S, Ev).
    `attn_mask`: bool (True = may attend) or float (added to the scores), broadcastable
    to (..., L, S); `is_causal`: position i attends to j <= i; scale defaults 1/sqrt(E)."""
    from ._define import as_tensor

    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2 or q.shape[-1] != k.shape[-1] or \
            k.shape[-2] != v.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: query {q.shape}, key {k.shape} and "
                         f"value {v.shape} need shapes (..., L, E), (..., S, E), (..., S, Ev)")
    mask = None
    if attn_mask is not None:
        if getattr(attn_mask, "requires_grad", False):
            raise ValueError("scaled_dot_product_attention: attn_mask is a constant here; for "
                             "a learned additive bias, add it to the scores by hand")
        mask = np.asarray(attn_mask)
        try:
            np.broadcast_shapes(mask.shape, q.shape[:-1] + (k.shape[-2],))
        except ValueError:
            raise ValueError(f"scaled_dot_product_attention: attn_mask of shape {mask.shape} "
                             f"does not broadcast to the scores' shape "
                             f"{q.shape[:-1] + (k.shape[-2],)}") from None
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else float(scale)
    params = {"mask": mask, "causal": bool(is_causal), "scale": float(scale)}
    if k.shape[-2] <= v.shape[-1]:
        # Short keys: the weights (..., L, S) are no bigger than the output, so keep them
        # for the backward pass (two nodes) rather than recompute them three times.
        return matmul(bind_tensors(attention_probs_p, (q, k), params), v)
    return bind_tensors(sdpa_p, (q, k, v), params)
