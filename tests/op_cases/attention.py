"""The fused attention primitive."""

import numpy as np

from chainrule.ops.attention import attention_weights
from chainrule.ops.attention import scaled_dot_product_attention as sdpa

from . import OpCase, normal

_MASK = np.random.default_rng(7).standard_normal((3, 4))
_KEEP = np.array([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 1]], bool)

CASES = [
    OpCase("scaled_dot_product_attention", lambda q, k, v: sdpa(q, k, v),
           normal((2, 3, 2), (2, 4, 2), (2, 4, 3))),
    OpCase("scaled_dot_product_attention", lambda q, k, v: sdpa(q, k, v, is_causal=True),
           normal((3, 2), (3, 2), (3, 2)), "causal"),
    OpCase("scaled_dot_product_attention", lambda q, k, v: sdpa(q, k, v, attn_mask=_MASK),
           normal((3, 2), (4, 2), (4, 1)), "float mask, broadcast"),
    OpCase("attention_probs", lambda q, k: attention_weights(q, k, scale=0.7) ** 2,
           normal((2, 3, 2), (2, 4, 2))),
    OpCase("attention_probs", lambda q, k: attention_weights(q, k, _KEEP, False, 0.5) ** 2,
           normal((3, 2), (4, 2)), "bool mask"),
    OpCase("attention_probs", lambda q, k: attention_weights(q, k, causal=True) ** 2,
           normal((2, 3, 2), (2, 3, 2)), "causal"),
    OpCase("attention_probs", lambda q, k, v: sdpa(q, k, v, attn_mask=_KEEP[:, :2]) ** 2,
           normal((2, 3, 2), (2, 2, 2), (2, 2, 3)), "sdpa keeping short weights"),
]
