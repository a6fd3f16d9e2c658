"""Under mpirun -n 2: ranks that build different models are told which parameter differs."""

import chainrule as cr
from chainrule import distributed as dist

dist.init(timeout=20)
model = cr.nn.Sequential(cr.nn.Linear(4, 3), cr.nn.Linear(3, 2 + dist.rank()))
try:
    dist.broadcast_parameters(model)
except dist.DistributedError as err:
    print(f"RANK {dist.rank()}: {err}", flush=True)
