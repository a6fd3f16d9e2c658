"""Data-parallel training on MPI: examples per second of the CNN epoch with 1 and 2 ranks.

    python benchmarks/distributed.py            # launches mpirun itself, prints a table
    CHAINRULE_BENCH_BATCH=256 CHAINRULE_BENCH_HIDDEN=64 python benchmarks/distributed.py
                                                # more work per step: a wider CNN

Each run trains `chainrule train`'s CNN (digits, global batch 64) for a few epochs under
`mpirun -n N`; the first epoch is a warm-up, the median of the rest is reported. Also: the
share of the epoch spent inside allreduce and the bytes each rank hands to collectives
per step, against the model's parameter bytes. On a 2-core machine two ranks can at best
double the throughput; compute per step is small here, so communication weighs a lot.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys

from timing import table

EPOCHS = 6
BATCH = int(os.environ.get("CHAINRULE_BENCH_BATCH", "64"))  # the global batch
HIDDEN = int(os.environ.get("CHAINRULE_BENCH_HIDDEN", "16"))  # the CNN's first channels


def worker():
    import chainrule as cr
    from chainrule import distributed as dist
    from chainrule.train import DEFAULTS, Recipe

    DEFAULTS["cnn"] = {**DEFAULTS["cnn"], "hidden": HIDDEN}
    recipe = Recipe(model="cnn", epochs=EPOCHS, batch_size=BATCH, seed=0, distributed=True)
    before = dict(dist.stats())
    history = recipe.run()
    after = dist.stats()
    steps = EPOCHS * len(recipe.loader)
    if dist.is_main():
        seconds = statistics.median(h["seconds"] for h in history[1:])
        samples = len(recipe.x_train) - (len(recipe.x_train) % BATCH < dist.world_size()) * (
            len(recipe.x_train) % BATCH)
        params = sum(p.data.nbytes for p in recipe.model.parameters())
        share = (after["seconds"] - before["seconds"]) / sum(h["seconds"] for h in history)
        per_step = (after["bytes"] - before["bytes"]) / steps
        print(f"RESULT {dist.world_size()} {samples / seconds:.1f} {seconds:.4f} {share:.3f} "
              f"{per_step:.0f} {params} {history[-1]['test_accuracy']:.4f}", flush=True)
    del cr


def main():
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    results = {}
    for n in (1, 2):
        done = subprocess.run([shutil.which("mpirun"), "-n", str(n), "--oversubscribe",
                               sys.executable, __file__, "--worker"], env=env,
                              capture_output=True, text=True, check=True)
        line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT"))
        _, ranks, rate, seconds, share, per_step, params, acc = line.split()
        results[n] = (float(rate), float(seconds), float(share), float(per_step), int(params),
                      acc)
    base = results[1][0]
    rows = [[n, f"{r[0]:.0f}", f"{r[1] * 1e3:.1f}", f"{r[0] / base:.2f}x",
             f"{r[0] / base / n:.0%}", f"{r[2]:.0%}", f"{r[3]:,.0f}", f"{r[4]:,}", r[5]]
            for n, r in results.items()]
    print(table(rows, ["ranks", "examples/s", "epoch ms (median)", "speed-up",
                       "scaling efficiency", "time in collectives",
                       "bytes to allreduce per step", "parameter bytes",
                       "test accuracy"]))


if __name__ == "__main__":
    worker() if "--worker" in sys.argv else main()
