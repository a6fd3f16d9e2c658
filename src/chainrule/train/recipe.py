"""`Recipe`: everything `chainrule train` does, as a Python object.

    recipe = Recipe(model="cnn", epochs=5)       # data, model, optimizer, schedule, loader
    history = recipe.run(out="runs/cnn")         # model.npz, metrics.json, curves.png

The command only parses arguments, shows progress bars and prints; a run from Python with
the same settings gives the same weights, file for file.
"""

from __future__ import annotations

import contextlib
import os

import chainrule as cr
from chainrule.nn.models import MODELS, build_model, check_config

from .checkpoint import CHECKPOINT, Checkpoint
from .loop import Callback, fit
from .report import CURVES, METRICS, MetricsFile, plot_curves, prepare_folder

__all__ = ["DEFAULTS", "LEARNING_RATES", "OPTIMIZERS", "Recipe", "make_optimizer",
           "single_threaded_blas"]

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")

# Per model: epochs, batch size, width and Adam's learning rate (the other optimizers use
# LEARNING_RATES), chosen so that each clears its accuracy target on the digits for every
# seed we tried (mlp 97.8-98.3 %, cnn 98.3-98.9 %, rnn 96.7-97.8 % over seeds 0-4;
# transformer 97.8-98.1 % over seeds 0-2).
DEFAULTS = {
    "mlp": {"epochs": 30, "batch_size": 32, "hidden": 256, "lr": 2e-3},
    "cnn": {"epochs": 20, "batch_size": 32, "hidden": 16, "lr": 3e-3},
    "rnn": {"epochs": 30, "batch_size": 32, "hidden": 128, "lr": 3e-3},
    "transformer": {"epochs": 30, "batch_size": 32, "hidden": 64, "lr": 2e-3},
}
LEARNING_RATES = {"rmsprop": 1e-3, "sgd": 0.05}


def make_optimizer(name: str, params, lr: float):
    """The optimizer `chainrule train --optimizer name` uses (SGD: Nesterov momentum 0.9)."""
    name = name.lower()
    if name == "adam":
        return cr.optim.Adam(params, lr=lr)
    if name == "adamw":
        return cr.optim.AdamW(params, lr=lr)
    if name == "rmsprop":
        return cr.optim.RMSprop(params, lr=lr)
    if name == "sgd":
        return cr.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def single_threaded_blas():
    """BLAS limited to one thread: these models' matrices are tiny, and on a busy 2-core
    machine OpenBLAS's threads waiting for each other made a CNN epoch 10x slower (1.6 s
    instead of 0.1 s). Uses threadpoolctl (a scikit-learn dependency) when present."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


class Recipe:
    """A classifier from `cr.nn.models` trained on images (the bundled digits, or `data`:
    see `cr.data.load_images`) with `chainrule train`'s defaults for what is left None.
    Construction loads and scales the data and builds model, optimizer, cosine schedule
    and loader (seeded by `seed`); `run` trains (`jit=True`: each step compiled with
    cr.jit, the same numbers). ValueError for unusable settings."""

    def __init__(self, model: str = "mlp", data=None, epochs=None, batch_size=None, lr=None,
                 optimizer: str = "adam", seed: int = 0, distributed: bool = False,
                 jit: bool = False):
        name, opt_name = str(model).lower(), str(optimizer).lower()
        if name not in MODELS:
            raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
        if opt_name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; choose one of "
                             f"{', '.join(OPTIMIZERS)}")
        defaults = DEFAULTS[name]
        self.epochs = int(epochs or defaults["epochs"])
        self.batch_size = int(batch_size or defaults["batch_size"])
        self.lr = float(lr or LEARNING_RATES.get(opt_name, defaults["lr"]))
        x_train, y_train, x_test, y_test, self.data_name = cr.data.load_split(data)
        height, width = x_train.shape[1:]
        scale = cr.data.pixel_scale(x_train)
        dtype = cr.nn.init.get_default_dtype()
        self.x_train = cr.data.scale_images(x_train, scale, dtype)
        self.x_test = cr.data.scale_images(x_test, scale, dtype)
        self.y_train, self.y_test = y_train, y_test
        self.config = check_config({
            "model": name, "height": int(height), "width": int(width),
            "classes": max(int(y_train.max()), int(y_test.max())) + 1,
            "hidden": defaults["hidden"], "scale": scale, "data": self.data_name,
            "optimizer": opt_name, "lr": self.lr, "epochs": self.epochs,
            "batch_size": self.batch_size, "seed": int(seed)})
        cr.nn.init.manual_seed(seed)
        self.model = build_model(self.config)
        self.optimizer = make_optimizer(opt_name, self.model.parameters(), self.lr)
        self.scheduler = cr.optim.lr_scheduler.CosineAnnealingLR(self.optimizer,
                                                                 T_max=self.epochs)
        self.start_epoch, self.history = 0, []
        self.distributed, self.jit = bool(distributed), bool(jit)
        if self.distributed and self.jit:
            raise ValueError("jit and distributed training do not combine yet (the gradients "
                             "are averaged across processes between backward and update); "
                             "choose one")
        shard = None
        if self.distributed:
            from chainrule import distributed as dist
            dist.init()
            shard = (dist.rank(), dist.world_size())
        # With a shard, every rank draws the same global batches (same seed) and takes
        # its part of each: the global batch is `batch_size`, split across the ranks.
        self.loader = cr.data.DataLoader((self.x_train, self.y_train), self.batch_size,
                                         shuffle=True, seed=seed, shard=shard)
        if self.distributed:
            dist.broadcast_parameters(self.model)
            self.optimizer = dist.DistributedOptimizer(self.optimizer, self.loader)

    @property
    def is_main(self) -> bool:
        """True where files are written and progress shown (rank 0, or not distributed)."""
        if not self.distributed:
            return True
        from chainrule import distributed as dist
        return dist.is_main()

    def resume(self, checkpoint: dict, history=()) -> Recipe:
        """Continue from a checkpoint of this recipe (see `load_checkpoint`): its weights,
        optimizer and schedule states and epoch; `history` holds the epochs already done."""
        self.model.load_state_dict(checkpoint["model"])
        if "optimizer" in checkpoint:
            self.optimizer.load_state_dict(checkpoint["optimizer"])
        if "scheduler" in checkpoint:
            self.scheduler.load_state_dict(checkpoint["scheduler"])
        self.start_epoch = int(checkpoint["epoch"])
        self.history = [h for h in history if h.get("epoch", 0) <= self.start_epoch]
        # The data order continues too: replay the shuffles of the epochs already done.
        for _ in range(self.start_epoch):
            self.loader.batch_indices()
        return self

    def run(self, out=None, callbacks=(), overwrite: bool = False) -> list[dict]:
        """Train; with `out` (a folder, created if needed; FileExistsError if it holds a
        run, unless `overwrite`), write `model.npz` and `metrics.json` after every epoch
        and `curves.png` at the end. Returns the history."""
        callbacks = list(callbacks)
        if self.distributed:
            callbacks.insert(0, _AverageAcrossRanks())  # before anything reads the record
        writes = out is not None and self.is_main
        if writes:
            if not self.start_epoch:  # a resumed run continues in its own folder
                prepare_folder(out, overwrite)
            callbacks += [Checkpoint(os.path.join(out, CHECKPOINT), self.config),
                          MetricsFile(os.path.join(out, METRICS), self.config)]
        with single_threaded_blas():
            history = fit(self.model, self.loader, self.optimizer, cr.nn.CrossEntropyLoss(),
                          self.epochs, callbacks, scheduler=self.scheduler,
                          eval_data=(self.x_test, self.y_test),
                          start_epoch=self.start_epoch, history=self.history, jit=self.jit)
        if writes:
            plot_curves(history, os.path.join(out, CURVES), title=self.title())
        return history

    def title(self) -> str:
        """`mlp, adam, lr 0.002`: what the curves' title says."""
        return f"{self.config['model']}, {self.config['optimizer']}, lr {self.lr:g}"

    def __repr__(self):
        c = self.config
        return (f"Recipe(model={c['model']!r}, data={c['data']!r}, epochs={self.epochs}, "
                f"batch_size={self.batch_size}, lr={self.lr:g}, optimizer={c['optimizer']!r}, "
                f"seed={c['seed']})")



class _AverageAcrossRanks(Callback):
    """Data-parallel runs: each epoch's figures become the means over all ranks' samples."""

    def on_epoch_begin(self, state):
        self.samples = 0

    def on_batch_end(self, state):
        self.samples += state.loader.last_batch_size

    def on_epoch_end(self, state):
        from chainrule import distributed as dist
        state.record.update(dist.average_metrics(state.record, weight=self.samples))
