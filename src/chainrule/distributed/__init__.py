"""`cr.distributed`: data-parallel training on MPI (mpi4py), the same model as one process.

    import chainrule.distributed as dist
    dist.init()                                   # under `mpirun -n 2 python train.py`
    dist.broadcast_parameters(model)              # every rank starts from rank 0's weights
    loader = cr.data.DataLoader((x, y), 64, shuffle=True, seed=0,
                                shard=(dist.rank(), dist.world_size()))
    opt = dist.DistributedOptimizer(cr.optim.Adam(model.parameters()), loader)
    ... loss.backward(); opt.step()               # gradients averaged across ranks first

Each rank computes the gradient of its share of the global batch; `allreduce_gradients`
sums them weighted by each rank's share of the samples, so the update equals the
one-process update on the whole batch (up to the order of floating-point additions).
Collectives wait at most `timeout` seconds: a rank that died makes the others stop with
`DistributedError` instead of hanging. mpi4py is the optional extra `distributed`.
"""

from __future__ import annotations

from .comm import (
    DistributedError,
    all_ranks_ok,
    allreduce_array,
    init,
    is_main,
    rank,
    stats,
    world_size,
)
from .params import (
    DistributedOptimizer,
    allreduce_gradients,
    average_metrics,
    broadcast_parameters,
)

__all__ = ["DistributedError", "DistributedOptimizer", "all_ranks_ok", "allreduce_array",
           "allreduce_gradients", "average_metrics", "broadcast_parameters", "init",
           "is_main", "rank", "stats", "world_size"]
