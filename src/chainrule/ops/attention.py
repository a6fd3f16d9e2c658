"""Scaled dot-product attention as one primitive: softmax(q k^T * scale + mask) v.

One node instead of five (matmul, scale, mask, softmax, matmul) and nothing of size
(L, S) saved for the backward pass: the rules recompute the attention weights P from q
and k. With dO the cotangent: dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(dP * P)),
dQ = dS K * scale, dK = dS^T Q * scale. The rules are chainrule ops, so every order works.
"""

from __future__ import annotations

import numpy as np

from ._define import bind_tensors, defop
from .elementwise import exp, where
from .linalg import matmul
from .reduce import shifted, sum
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


def _impl(q, k, v, mask, causal, scale):
    s = _scores_np(q, k, mask, causal, scale)
    m = np.max(s, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    p = np.exp(s - m)
    p /= p.sum(axis=-1, keepdims=True)
    return np.matmul(p, v)


def attention_weights(q, k, mask=None, causal=False, scale=1.0):
    """softmax(q k^T * scale + mask) along the last axis, in chainrule ops."""
    s = matmul(q, swapaxes(k, -1, -2)) * scale
    if mask is not None and mask.dtype != bool:
        s = s + mask.astype(s.dtype)
    keep = _mask_array(mask, causal, q.shape[-2], k.shape[-2])
    if keep is not None:
        s = where(keep, s, -np.inf)
    e = exp(shifted(s, (s.ndim - 1,)))
    return e / sum(e, -1, keepdims=True)


def _score_cotangent(g, q, k, v, p):
    dp = matmul(g, swapaxes(v, -1, -2))
    return p * (dp - sum(dp * p, -1, keepdims=True))


def _weights(q, k, mask, causal, scale):
    return attention_weights(q, k, mask, causal, scale)


def _vjp_q(g, ans, q, k, v, mask, causal, scale):
    ds = _score_cotangent(g, q, k, v, _weights(q, k, mask, causal, scale))
    return _reduce_to(matmul(ds, k) * scale, q.shape)


def _vjp_k(g, ans, q, k, v, mask, causal, scale):
    ds = _score_cotangent(g, q, k, v, _weights(q, k, mask, causal, scale))
    return _reduce_to(matmul(swapaxes(ds, -1, -2), q) * scale, k.shape)


def _vjp_v(g, ans, q, k, v, mask, causal, scale):
    p = _weights(q, k, mask, causal, scale)
    return _reduce_to(matmul(swapaxes(p, -1, -2), g), v.shape)


def _reduce_to(x, shape):
    """Sum leading broadcast axes away (q, k, v may broadcast over batch/heads)."""
    if x.shape == shape:
        return x
    from .shape import sum_to
    return sum_to(x, shape)


def _jvp_scores(dq_or_dk_scores, q, k, v, mask, causal, scale):
    p = _weights(q, k, mask, causal, scale)
    dp = p * (dq_or_dk_scores - sum(p * dq_or_dk_scores, -1, keepdims=True))
    return matmul(dp, v)


def _jvp_q(t, ans, q, k, v, mask, causal, scale):
    return _jvp_scores(matmul(t, swapaxes(k, -1, -2)) * scale, q, k, v, mask, causal, scale)


def _jvp_k(t, ans, q, k, v, mask, causal, scale):
    return _jvp_scores(matmul(q, swapaxes(t, -1, -2)) * scale, q, k, v, mask, causal, scale)


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
    return bind_tensors(sdpa_p, (q, k, v), {"mask": mask, "causal": bool(is_causal),
                                            "scale": float(scale)})
