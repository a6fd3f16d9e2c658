"""Under mpirun -n 2: rank 1 is killed in epoch 2; rank 0 must not hang."""

import os
import signal
import sys

from chainrule import distributed as dist
from chainrule.train import Callback, Recipe


class KillRankOne(Callback):
    def on_batch_end(self, state):
        if state.epoch == 2 and state.batch == 5 and dist.rank() == 1:
            os.kill(os.getpid(), signal.SIGKILL)


dist.init(timeout=float(sys.argv[2]))
Recipe(model="mlp", epochs=3, seed=0, distributed=True).run(sys.argv[1],
                                                            callbacks=[KillRankOne()])
