"""Under mpirun -n 2: data-parallel training equals one-process training (float64)."""

import sys

import numpy as np

import chainrule as cr
from chainrule import distributed as dist
from chainrule.train import Recipe

cr.nn.init.set_default_dtype(np.float64)
for model in sys.argv[1:]:
    parallel = Recipe(model=model, epochs=2, batch_size=32, seed=3, distributed=True)
    history = parallel.run()
    if dist.is_main():
        single = Recipe(model=model, epochs=2, batch_size=32, seed=3)
        reference = single.run()
        a, b = parallel.model.state_dict(), single.model.state_dict()
        diff = max(float(np.abs(a[k] - b[k]).max()) for k in a)
        print(f"MATCH {model} {diff:.3e} {history[-1]['test_accuracy']:.6f} "
              f"{reference[-1]['test_accuracy']:.6f} {history[-1]['train_loss']:.12f} "
              f"{reference[-1]['train_loss']:.12f}", flush=True)
