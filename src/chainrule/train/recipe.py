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
from .loop import fit
from .report import CURVES, METRICS, MetricsFile, plot_curves

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
    and loader (seeded by `seed`); `run` trains. ValueError for unusable settings."""

    def __init__(self, model: str = "mlp", data=None, epochs=None, batch_size=None, lr=None,
                 optimizer: str = "adam", seed: int = 0):
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
        self.loader = cr.data.DataLoader((self.x_train, self.y_train), self.batch_size,
                                         shuffle=True, seed=seed)

    def run(self, out=None, callbacks=()) -> list[dict]:
        """Train; with `out` (an existing folder), write `model.npz` and `metrics.json`
        after every epoch and `curves.png` at the end. Returns the history."""
        callbacks = list(callbacks)
        if out is not None:
            callbacks += [Checkpoint(os.path.join(out, CHECKPOINT), self.config),
                          MetricsFile(os.path.join(out, METRICS), self.config)]
        with single_threaded_blas():
            history = fit(self.model, self.loader, self.optimizer, cr.nn.CrossEntropyLoss(),
                          self.epochs, callbacks, scheduler=self.scheduler,
                          eval_data=(self.x_test, self.y_test))
        if out is not None:
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

