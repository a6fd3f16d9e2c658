"""`cr.nn.functional`: the layers and losses as functions (PyTorch's names and semantics).

Hot paths (linear, conv2d, pooling, cross-entropy) are single primitives from
`chainrule.ops` (conv, pool, nn); the rest are compositions of public chainrule ops.
"""

from __future__ import annotations

import math

import numpy as np

import chainrule as cr

from .. import Tensor
from ..ops._define import axis_index
from ..ops.attention import attention_weights as _attention_weights
from ..ops.attention import scaled_dot_product_attention as _sdpa
from ..ops.conv import conv2d, conv_transpose2d
from ..ops.conv_nd import conv1d, conv3d, conv_transpose1d
from ..ops.dropout import dropout_seeded
from ..ops.elementwise import erf, relu, sigmoid, tanh
from ..ops.nn import cross_entropy_per_sample, linear
from ..ops.nn import normalize as standardize_trailing  # not torch's F.normalize (an Lp norm)
from ..ops.pool import avg_pool2d, max_pool2d
from . import init as _init

__all__ = [
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "max_pool2d", "avg_pool2d", "flatten", "dropout", "relu",
    "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh", "softplus", "softmax",
    "log_softmax", "one_hot", "embedding", "layer_norm", "batch_norm", "cross_entropy",
    "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "group_norm",
    "instance_norm", "rms_norm", "adaptive_avg_pool2d", "adaptive_max_pool2d",
    "scaled_dot_product_attention", "multi_head_attention_forward",
]

def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else cr.tensor(x)


def _ints(target) -> np.ndarray:
    target = np.asarray(target.data if isinstance(target, Tensor) else target)
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(f"class targets must be integers, got dtype {target.dtype}")
    return target


# ----- shapes ---------------------------------------------------------------------------

def flatten(x, start_dim: int = 0, end_dim: int = -1):
    """Merge axes start_dim..end_dim into one."""
    x = _t(x)
    start = axis_index(start_dim, x.ndim, "flatten")
    end = axis_index(end_dim, x.ndim, "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for "
                         f"shape {x.shape}")
    shape = x.shape[:start] + (-1,) + x.shape[end + 1:]
    if x.size == 0:
        shape = x.shape[:start] + (int(np.prod(x.shape[start:end + 1])),) + x.shape[end + 1:]
    return cr.reshape(x, shape)


# ----- activations ----------------------------------------------------------------------

def leaky_relu(x, negative_slope: float = 0.01):
    x = _t(x)
    return cr.where(x > 0, x, x * negative_slope)


def elu(x, alpha: float = 1.0):
    x = _t(x)
    # expm1 of the clipped input: the unused branch never overflows into the gradient.
    return cr.where(x > 0, x, alpha * cr.expm1(cr.minimum(x, 0.0)))


_SQRT_HALF = 1.0 / math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(x, approximate: str = "none"):
    """x * Phi(x) with the exact erf ('none') or the tanh approximation ('tanh')."""
    x = _t(x)
    if approximate == "none":
        return 0.5 * x * (1.0 + erf(x * _SQRT_HALF))
    if approximate == "tanh":
        return 0.5 * x * (1.0 + cr.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(x):
    x = _t(x)
    return x * cr.sigmoid(x)


def softplus(x, beta: float = 1.0, threshold: float = 20.0):
    """log(1 + exp(beta x)) / beta (computed stably; `threshold` is accepted for
    compatibility: the result is exact everywhere)."""
    x = _t(x)
    if beta == 1.0:
        return cr.softplus(x)
    return cr.softplus(x * beta) / beta


def softmax(x, dim: int = -1):
    return cr.softmax(_t(x), axis=dim)


def log_softmax(x, dim: int = -1):
    return cr.log_softmax(_t(x), axis=dim)


def one_hot(target, num_classes: int = -1):
    """Integer tensor of shape target.shape + (num_classes,)."""
    target = _ints(target)
    n = int(target.max()) + 1 if num_classes < 0 else num_classes
    if target.size and (target.min() < 0 or target.max() >= n):
        raise ValueError(f"one_hot: class labels must lie in [0, {n}), got labels from "
                         f"{target.min()} to {target.max()}")
    return cr.tensor(np.eye(n, dtype=np.int64)[target])


# ----- dropout, embedding, normalization --------------------------------------------------

def dropout(x, p: float = 0.5, training: bool = True, generator=None):
    """Zero each entry with probability p and scale the rest by 1/(1-p) (when training).

    The mask comes from `generator` (a numpy Generator or a seed) or else from the
    seeded module-level generator of cr.nn.init."""
    x = _t(x)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must lie in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * np.zeros((), dtype=x.dtype)
    # One primitive keyed by a seed: under vmap each example gets its own mask.
    return dropout_seeded(x, p, _init._gen(generator).integers(2**63))


def embedding(indices, weight, padding_idx=None):
    """Rows of `weight` at the integer `indices` (repeated rows accumulate gradient).
    Rows at `padding_idx` receive no gradient."""
    idx = _ints(indices)
    out = cr.getitem(weight, idx)
    if padding_idx is not None:
        pad = idx == (padding_idx % weight.shape[0])
        if pad.any():
            keep = (~pad)[..., None].astype(weight.dtype)
            out = out * cr.tensor(keep)
    return out


def embedding_renorm_(weight, indices, max_norm: float, norm_type: float = 2.0):
    """Rescale, in place and outside any graph, the rows of `weight` at `indices` whose
    norm exceeds `max_norm` to norm max_norm (scale max_norm / (norm + 1e-7), as PyTorch)."""
    rows = np.unique(_ints(indices))
    w = weight.data
    norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    w[rows[big]] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(w.dtype)
    if big.any():
        weight._bump_version()


def _normalize(x, axes, eps):
    """One `normalize` primitive over the trailing `axes` (its backward is one node)."""
    assert axes == tuple(range(x.ndim - len(axes), x.ndim)), axes
    return standardize_trailing(x, len(axes), eps)


def _trailing_axes(x, normalized_shape, name: str) -> tuple:
    """The axes of x's trailing `normalized_shape`, checked."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(
        normalized_shape)
    if x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"{name}: input of shape {x.shape} does not end with the "
                         f"normalized shape {shape}")
    return tuple(range(x.ndim - len(shape), x.ndim))


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalize over the trailing `normalized_shape` axes, then scale and shift."""
    x = _t(x)
    out = _normalize(x, _trailing_axes(x, normalized_shape, "layer_norm"), eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps: float = 1e-5):
    """Normalize each channel (axis 1) by batch statistics (training) or by the running
    ones. In training, running_mean/running_var (Tensors, or None) are updated in place:
    new = (1 - momentum) * old + momentum * batch statistic (unbiased variance)."""
    x = _t(x)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input (N, C, ...), got shape {x.shape}")
    axes = (0,) + tuple(range(2, x.ndim))
    stat_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if training:
        n = x.size // x.shape[1]
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {x.shape}")
        mean = cr.mean(x, axes, keepdims=True)
        centered = x - mean
        var = cr.mean(centered * centered, axes, keepdims=True)
        out = centered / cr.sqrt(var + eps)
        if running_mean is not None:
            m = momentum
            batch_mean = mean.data.reshape(-1)
            batch_var = var.data.reshape(-1) * (n / (n - 1))
            running_mean.data = ((1 - m) * running_mean.data + m * batch_mean).astype(
                running_mean.dtype)
            running_var.data = ((1 - m) * running_var.data + m * batch_var).astype(
                running_var.dtype)
    else:
        if running_mean is None:
            return batch_norm(x, None, None, weight, bias, True, momentum, eps)
        rm = cr.tensor(running_mean.data.reshape(stat_shape), dtype=x.dtype)
        rv = cr.tensor(running_var.data.reshape(stat_shape), dtype=x.dtype)
        out = (x - rm) / cr.sqrt(rv + eps)
    if weight is not None:
        out = out * cr.reshape(weight, stat_shape)
    if bias is not None:
        out = out + cr.reshape(bias, stat_shape)
    return out


# ----- losses -----------------------------------------------------------------------

def _reduce(loss, reduction: str, denominator=None):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return cr.sum(loss)
    if reduction == "mean":
        if denominator is None:
            return cr.mean(loss)
        return cr.sum(loss) / denominator
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_same_shape(name, input, target):
    if input.shape != target.shape:
        raise ValueError(f"{name}: input of shape {input.shape} and target of shape "
                         f"{target.shape} must have the same shape")


def mse_loss(input, target, reduction: str = "mean"):
    """Mean squared error."""
    input, target = _t(input), _t(target)
    _check_same_shape("mse_loss", input, target)
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input, target, reduction: str = "mean"):
    input, target = _t(input), _t(target)
    _check_same_shape("l1_loss", input, target)
    return _reduce(cr.abs(input - target), reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0):
    input, target = _t(input), _t(target)
    _check_same_shape("huber_loss", input, target)
    diff = cr.abs(input - target)
    small = cr.minimum(diff, delta)
    return _reduce(0.5 * small * small + delta * (diff - small), reduction)


def smooth_l1_loss(input, target, reduction: str = "mean", beta: float = 1.0):
    """Huber loss scaled by 1/beta (quadratic below beta, linear above)."""
    if beta == 0:
        return l1_loss(input, target, reduction)
    return _reduce(huber_loss(input, target, "none", beta) / beta, reduction)


def _class_weights(weight, target, dtype):
    w = np.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=dtype)
    return w, w[target]


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    """-input[n, target[n]] (input holds log-probabilities along axis 1)."""
    input = _t(input)
    target = _ints(target)
    if input.ndim < 2 or target.shape != input.shape[:1] + input.shape[2:]:
        raise ValueError(f"nll_loss: input of shape {input.shape} needs targets of shape "
                         f"{input.shape[:1] + input.shape[2:]}, got {target.shape}")
    ignored = target == ignore_index
    safe = np.where(ignored, 0, target)
    if safe.size and (safe.min() < 0 or safe.max() >= input.shape[1]):
        raise ValueError(f"nll_loss: targets must lie in [0, {input.shape[1]}) (or equal "
                         f"ignore_index), got values from {target.min()} to {target.max()}")
    moved = cr.moveaxis(input, 1, -1)
    picked = cr.getitem(cr.reshape(moved, (-1, input.shape[1])),
                        (np.arange(safe.size), safe.reshape(-1)))
    loss = -cr.reshape(picked, target.shape)
    return _weighted(loss, safe, ignored, weight, input.dtype, reduction)


def _weighted(loss, safe, ignored, weight, dtype, reduction):
    """Scale per-sample losses by class weights and zero ignored ones; the mean divides by
    the total weight of the samples kept (PyTorch's convention)."""
    scale = np.ones(safe.shape, dtype=dtype)
    if weight is not None:
        scale = _class_weights(weight, safe, dtype)[1]
    if ignored.any():
        scale = np.where(ignored, np.zeros((), dtype), scale)
    if weight is None and not ignored.any():
        return _reduce(loss, reduction)
    loss = loss * cr.tensor(scale)
    return _reduce(loss, reduction, float(scale.sum()))


def cross_entropy(input, target, weight=None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0):
    """Cross-entropy of logits `input` (N, C, ...) against integer class `target`
    (N, ...) — or against class probabilities of input's shape."""
    input = _t(input)
    tgt = np.asarray(target.data if isinstance(target, Tensor) else target)
    if np.issubdtype(tgt.dtype, np.floating):
        if tgt.shape != input.shape:
            raise ValueError(f"cross_entropy: float targets are class probabilities and need "
                             f"the input's shape {input.shape}, got {tgt.shape}; pass class "
                             f"indices as integers (e.g. y.astype(np.int64))")
        # A tensor target keeps its graph: the loss is differentiable in the probabilities.
        soft = target if isinstance(target, Tensor) else cr.tensor(tgt)
        return _cross_entropy_soft(input, soft.astype(input.dtype) if soft.dtype != input.dtype
                                   else soft, weight, reduction, label_smoothing)
    target = _ints(tgt)
    ignored = target == ignore_index
    safe = np.where(ignored, 0, target) if ignored.any() else target
    loss = cross_entropy_per_sample(input, safe)
    if label_smoothing:
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"cross_entropy: label_smoothing must lie in [0, 1], got "
                             f"{label_smoothing}")
        logp = cr.log_softmax(input, axis=1)
        if weight is not None:
            w = np.asarray(weight.data if isinstance(weight, Tensor) else weight,
                           dtype=input.dtype)
            logp = logp * cr.tensor(w.reshape((1, -1) + (1,) * (input.ndim - 2)))
        smooth = -cr.sum(logp, 1)
        if ignored.any():
            smooth = smooth * cr.tensor((~ignored).astype(input.dtype))
        c = input.shape[1]
        if reduction == "none":
            return (1 - label_smoothing) * _weighted(loss, safe, ignored, weight, input.dtype,
                                                     "none") + label_smoothing / c * smooth
        scale = np.ones(safe.shape, input.dtype)
        if weight is not None:
            scale = _class_weights(weight, safe, input.dtype)[1]
        denom = float(np.where(ignored, 0, scale).sum()) if reduction == "mean" else None
        main = _weighted(loss, safe, ignored, weight, input.dtype, reduction)
        return (1 - label_smoothing) * main + label_smoothing / c * _reduce(
            smooth, reduction, denom)
    return _weighted(loss, safe, ignored, weight, input.dtype, reduction)


def _cross_entropy_soft(input, target, weight, reduction, label_smoothing):
    _check_same_shape("cross_entropy", input, target)
    c = input.shape[1]
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / c
    logp = cr.log_softmax(input, axis=1)
    if weight is not None:
        w = np.asarray(weight.data if isinstance(weight, Tensor) else weight,
                       dtype=input.dtype)
        logp = logp * cr.tensor(w.reshape((1, -1) + (1,) * (input.ndim - 2)))
    return _reduce(-cr.sum(logp * target, 1), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction: str = "mean",
                                     pos_weight=None):
    """-[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], computed stably from logits."""
    input, target = _t(input), _t(target)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    if pos_weight is None:
        loss = cr.softplus(input) - input * target
    else:
        pw = _t(pos_weight)
        loss = (1 - target) * input + (1 + (pw - 1) * target) * cr.softplus(-input)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean"):
    """-[y log p + (1 - y) log(1 - p)] of probabilities p; logs are clamped at -100."""
    input, target = _t(input), _t(target)
    _check_same_shape("binary_cross_entropy", input, target)
    log_p = cr.maximum(cr.log(input), -100.0)
    log_q = cr.maximum(cr.log(1 - input), -100.0)
    loss = -(target * log_p + (1 - target) * log_q)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# ----- more normalization -------------------------------------------------------------------

def group_norm(x, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """Normalize (N, C, ...) over each group of C / num_groups channels and all positions."""
    x = _t(x)
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ValueError(f"group_norm: expected (N, C, ...) with C divisible by num_groups="
                         f"{num_groups}, got shape {x.shape}")
    n, c = x.shape[:2]
    grouped = cr.reshape(x, (n, num_groups, -1))
    out = cr.reshape(_normalize(grouped, (2,), eps), x.shape)
    return _affine(out, weight, bias)


def _affine(out, weight, bias):
    """Scale and shift per channel (axis 1)."""
    shape = (1, out.shape[1]) + (1,) * (out.ndim - 2)
    if weight is not None:
        out = out * cr.reshape(weight, shape)
    if bias is not None:
        out = out + cr.reshape(bias, shape)
    return out


def instance_norm(x, weight=None, bias=None, eps: float = 1e-5):
    """Normalize each sample's each channel over its positions (N, C, ...)."""
    x = _t(x)
    if x.ndim < 3:
        raise ValueError(f"instance_norm: expected (N, C, ...) with positions, got {x.shape}")
    return _affine(_normalize(x, tuple(range(2, x.ndim)), eps), weight, bias)


def rms_norm(x, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) over the trailing `normalized_shape` axes, times weight."""
    x = _t(x)
    axes = _trailing_axes(x, normalized_shape, "rms_norm")
    eps = float(np.finfo(x.dtype).eps) if eps is None else eps
    out = x / cr.sqrt(cr.mean(x * x, axes, keepdims=True) + eps)
    return out * weight if weight is not None else out


# ----- adaptive pooling --------------------------------------------------------------------

def _adaptive_edges(size: int, out: int):
    """PyTorch's windows: [floor(i * size / out), ceil((i + 1) * size / out))."""
    return [((i * size) // out, -(-(i + 1) * size // out)) for i in range(out)]


def _adaptive_pool2d(x, output_size, reduce, name):
    x = _t(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"{name}: expected (N, C, H, W) or (C, H, W), got shape {x.shape}")
    oh, ow = (output_size, output_size) if isinstance(output_size, int) else output_size
    h, w = x.shape[-2:]
    oh, ow = h if oh is None else oh, w if ow is None else ow
    if h % oh == 0 and w % ow == 0:  # equal windows: one reshape and one reduction
        lead = x.shape[:-2]
        tiles = cr.reshape(x, lead + (oh, h // oh, ow, w // ow))
        return reduce(tiles, (x.ndim - 1, x.ndim + 1))
    rows = []
    for r0, r1 in _adaptive_edges(h, oh):
        cells = [reduce(x[..., r0:r1, c0:c1], (x.ndim - 2, x.ndim - 1))
                 for c0, c1 in _adaptive_edges(w, ow)]
        rows.append(cr.stack(cells, axis=-1))
    return cr.stack(rows, axis=-2)


def adaptive_avg_pool2d(x, output_size):
    """Mean over PyTorch's adaptive windows, so the output is `output_size` (H_out, W_out)."""
    return _adaptive_pool2d(x, output_size, lambda t, axes: cr.mean(t, axes),
                            "adaptive_avg_pool2d")


def adaptive_max_pool2d(x, output_size):
    """Max over PyTorch's adaptive windows (ties split the gradient evenly)."""
    return _adaptive_pool2d(x, output_size, lambda t, axes: cr.max(t, axes),
                            "adaptive_max_pool2d")


# ----- attention ---------------------------------------------------------------------------

def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale=None, training: bool = True,
                                 generator=None):
    """softmax(q k^T * scale + mask) v, one fused primitive (PyTorch's signature); with
    dropout_p > 0 the weights are formed explicitly so that they can be dropped."""
    if dropout_p and training:
        q, k, v = _t(query), _t(key), _t(value)
        scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
        mask = None if attn_mask is None else np.asarray(attn_mask)
        p = _attention_weights(q, k, mask, is_causal, scale)
        return cr.matmul(dropout(p, dropout_p, True, generator), v)
    return _sdpa(query, key, value, attn_mask, is_causal, scale)


def multi_head_attention_forward(query, key, value, num_heads: int, in_proj_weight,
                                 in_proj_bias, out_proj_weight, out_proj_bias,
                                 key_padding_mask=None, attn_mask=None, need_weights=True,
                                 average_attn_weights=True, is_causal=False,
                                 dropout_p: float = 0.0, training: bool = True):
    """PyTorch's multi-head attention on batch-first (N, L, E) inputs: project q, k, v with
    the packed (3E, E) in_proj, attend per head, concatenate, project out. Returns
    (output, weights or None); weights average over heads unless average_attn_weights=False."""
    q, k, v = _t(query), _t(key), _t(value)
    n, lq, e = q.shape
    if e % num_heads:
        raise ValueError(f"multi_head_attention: embed_dim {e} is not divisible by "
                         f"num_heads {num_heads}")
    d = e // num_heads

    def project(x, w, b):
        return linear(x, w, b) if b is not None else cr.matmul(x, cr.transpose(w))

    if q is k and k is v:  # self-attention: one GEMM with the packed (3E, E) weight
        y = cr.reshape(project(q, in_proj_weight, in_proj_bias), (n, lq, 3, num_heads, d))
        y = cr.transpose(y, (2, 0, 3, 1, 4))                        # (3, N, heads, L, d)
        qh, kh, vh = y[0], y[1], y[2]
    else:
        wq, wk, wv = (in_proj_weight[i * e:(i + 1) * e] for i in range(3))
        bq, bk, bv = ((None,) * 3 if in_proj_bias is None else
                      (in_proj_bias[i * e:(i + 1) * e] for i in range(3)))

        def heads(x, w, b):  # (N, S, E) -> (N, heads, S, d)
            y = project(x, w, b)
            return cr.transpose(cr.reshape(y, (n, x.shape[1], num_heads, d)), (0, 2, 1, 3))

        qh, kh, vh = heads(q, wq, bq), heads(k, wk, bk), heads(v, wv, bv)
    mask = _merge_masks(attn_mask, key_padding_mask, n, num_heads, lq, kh.shape[2], q.dtype)
    weights = None
    if need_weights or (dropout_p and training):
        scale = 1.0 / math.sqrt(d)
        p = _attention_weights(qh, kh, mask, is_causal, scale)
        weights = p
        if dropout_p and training:
            p = dropout(p, dropout_p, True)
        out = cr.matmul(p, vh)
    else:
        out = _sdpa(qh, kh, vh, mask, is_causal)
    out = cr.reshape(cr.transpose(out, (0, 2, 1, 3)), (n, lq, e))
    out = linear(out, out_proj_weight, out_proj_bias) if out_proj_bias is not None else \
        cr.matmul(out, cr.transpose(out_proj_weight))
    if weights is not None and not need_weights:
        weights = None
    elif weights is not None and average_attn_weights:
        weights = cr.mean(weights, axis=1)
    return out, weights


def _merge_masks(attn_mask, key_padding_mask, n, heads, lq, lk, dtype):
    """One mask of shape broadcastable to (N, heads, L, S): bool (True = may attend) or
    float (added). PyTorch's convention: True in attn_mask/key_padding_mask means *masked*."""
    mask = None
    if attn_mask is not None:
        m = np.asarray(attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask)
        if m.ndim == 3:  # (N * heads, L, S)
            m = m.reshape(n, heads, lq, lk)
        mask = ~m if m.dtype == bool else m.astype(dtype)
    if key_padding_mask is not None:
        kp = np.asarray(key_padding_mask.data if isinstance(key_padding_mask, Tensor)
                        else key_padding_mask)
        kp = kp.reshape(n, 1, 1, lk)
        if kp.dtype == bool:
            keep = ~kp
            if mask is None:
                mask = keep
            elif mask.dtype == bool:
                mask = mask & keep
            else:
                mask = np.where(keep, mask, -np.inf).astype(dtype)
        else:
            add = kp.astype(dtype)
            mask = add if mask is None else (
                np.where(mask, add, -np.inf).astype(dtype) if mask.dtype == bool
                else mask + add)
    return mask
