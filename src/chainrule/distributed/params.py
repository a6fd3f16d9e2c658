"""Parameters across ranks: one start (broadcast), one gradient (bucketed allreduce)."""

from __future__ import annotations

import json

import numpy as np

from .comm import (
    DistributedError,
    allgather_text,
    allreduce_array,
    bcast_array,
    rank,
    world_size,
)

__all__ = ["DistributedOptimizer", "allreduce_gradients", "average_metrics",
           "broadcast_parameters"]

BUCKET_BYTES = 1 << 22  # 4 MiB: few collectives for small models, bounded extra memory


def _named(model_or_params) -> list:
    """(name, tensor) pairs of a Module's parameters (or of a list of tensors)."""
    if hasattr(model_or_params, "named_parameters"):
        return list(model_or_params.named_parameters())
    return [(f"parameter {i}", p) for i, p in enumerate(model_or_params)]


def _buckets(tensors, bucket_bytes: int):
    """Consecutive runs of tensors of one dtype, each run at most `bucket_bytes` big."""
    run, size = [], 0
    for t in tensors:
        nbytes = t.data.nbytes
        if run and (t.data.dtype != run[0].data.dtype or size + nbytes > bucket_bytes):
            yield run
            run, size = [], 0
        run.append(t)
        size += nbytes
    if run:
        yield run


def broadcast_parameters(model_or_params, root: int = 0, bucket_bytes: int = BUCKET_BYTES):
    """Copy rank `root`'s parameter values to every rank (call once, before training).

    First every rank's names, shapes and dtypes are compared: a model built differently
    on some rank is an error naming the first parameter that differs."""
    named = _named(model_or_params)
    mine = [[name, list(p.shape), str(p.dtype)] for name, p in named]
    layouts = [json.loads(t) for t in allgather_text(json.dumps(mine), "broadcast_parameters")]
    for other_rank, layout in enumerate(layouts):
        if layout != mine:
            raise DistributedError(_mismatch(mine, layout, other_rank))
    for bucket in _buckets([p for _, p in named], bucket_bytes):
        flat = np.concatenate([p.data.ravel() for p in bucket])
        bcast_array(flat, root, "broadcast_parameters")
        _unpack(flat, bucket, lambda p, values: p.data.__setitem__(..., values))


def _mismatch(mine, theirs, other_rank) -> str:
    for a, b in zip(mine, theirs):
        if a != b:
            return (f"broadcast_parameters: rank {rank()} has {a[0]} of shape {tuple(a[1])} "
                    f"{a[2]}, but rank {other_rank} has {b[0]} of shape {tuple(b[1])} {b[2]}: "
                    "every rank must build the same model")
    return (f"broadcast_parameters: rank {rank()} has {len(mine)} parameters, rank "
            f"{other_rank} has {len(theirs)}: every rank must build the same model")


def _unpack(flat, bucket, store):
    start = 0
    for p in bucket:
        n = p.data.size
        store(p, flat[start:start + n].reshape(p.shape))
        start += n


def allreduce_gradients(model_or_params, average: bool = True, weight: float | None = None,
                        bucket_bytes: int = BUCKET_BYTES) -> None:
    """Replace each parameter's `.grad` by its sum over ranks (or mean, `average=True`).

    `weight`: this rank's share of the global batch (its sample count, or a fraction);
    then the result is sum(weight_r * grad_r) / sum(weight_r), exact for uneven shards.
    Gradients are packed into contiguous buckets: one collective per bucket, not per
    parameter. A parameter without a gradient on this rank counts as zeros."""
    import chainrule as cr

    params = [p for _, p in _named(model_or_params)]
    scale = 1.0 if weight is None else float(weight)
    total = None
    if weight is not None:
        total = float(allreduce_array(np.array([scale]), "allreduce_gradients")[0])
    elif average:
        total = float(world_size())
    for bucket in _buckets(params, bucket_bytes):
        flat = np.concatenate([(p.grad.data if p.grad is not None else np.zeros_like(p.data))
                               .ravel() * scale for p in bucket])
        allreduce_array(flat, "allreduce_gradients")
        if total is not None:
            flat /= total
        _unpack(flat, bucket, lambda p, values: setattr(p, "grad", cr.tensor(values.copy())))


def average_metrics(record: dict, weight: float = 1.0) -> dict:
    """`record`'s numbers averaged over ranks (weighted by `weight`, e.g. samples seen);
    other entries are kept as they are. Every rank gets the same result."""
    keys = sorted(k for k, v in record.items()
                  if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool)
                  and k not in ("epoch", "seconds"))
    values = np.array([float(record[k]) * weight for k in keys] + [float(weight)])
    allreduce_array(values, "average_metrics")
    out = dict(record)
    out.update({k: float(v / values[-1]) for k, v in zip(keys, values[:-1])})
    return out


class DistributedOptimizer:
    """Wraps an optimizer: `step()` first averages the gradients over ranks (weighted by
    each rank's share of the batch when given a sharded `loader`), then steps. Everything
    else (zero_grad, param_groups, state_dict, schedulers) goes to the wrapped optimizer."""

    def __init__(self, optimizer, loader=None, bucket_bytes: int = BUCKET_BYTES):
        self.optimizer = optimizer
        self.loader = loader
        self.bucket_bytes = bucket_bytes

    def step(self):
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        weight = getattr(self.loader, "last_batch_size", None)
        allreduce_gradients(params, weight=weight, bucket_bytes=self.bucket_bytes)
        return self.optimizer.step()

    def __getattr__(self, name):
        return getattr(self.optimizer, name)
