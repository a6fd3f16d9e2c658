"""What a training run leaves in its folder besides the checkpoint: `metrics.json` (kept
current after every epoch) and `curves.png`; and the rule that a run never silently
overwrites another."""

from __future__ import annotations

import json
import os
import time

from ..files import atomic_write
from .loop import Callback

__all__ = ["CURVES", "METRICS", "RUN_FILES", "MetricsFile", "free_folder", "holds_a_run", "metrics",
           "plot_curves", "prepare_folder", "read_history"]

METRICS = "metrics.json"
CURVES = "curves.png"
RUN_FILES = ("model.npz", METRICS, CURVES)


def metrics(config: dict, history: list, seconds: float) -> dict:
    """The content of metrics.json."""
    last = history[-1] if history else {}
    return {"config": config, "epochs": history,
            "final_test_accuracy": last.get("test_accuracy"),
            "final_test_loss": last.get("test_loss"), "seconds": seconds}


def read_history(path) -> list[dict]:
    """The per-epoch records of a metrics.json (to resume a run); [] when unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            epochs = json.load(f).get("epochs", [])
    except (OSError, ValueError, AttributeError):
        return []
    if not isinstance(epochs, list):
        return []
    return [e for e in epochs if isinstance(e, dict) and isinstance(e.get("epoch"), int)]


class MetricsFile(Callback):
    """Rewrite `path` (metrics.json) atomically after every epoch."""

    def __init__(self, path, config: dict):
        self.path, self.config, self.started = os.fspath(path), config, time.perf_counter()

    def on_train_begin(self, state):
        self.started = time.perf_counter()

    def on_epoch_end(self, state):
        self.write(state.history)

    def write(self, history):
        with atomic_write(self.path, "w") as f:
            json.dump(metrics(self.config, history, time.perf_counter() - self.started), f,
                      indent=2)
            f.write("\n")


def plot_curves(history: list, path, title: str = "") -> None:
    """Loss and accuracy per epoch (train and test) as a PNG, with matplotlib's Agg."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.8))
    for ax, key, label in ((ax1, "loss", "cross-entropy"), (ax2, "accuracy", "accuracy")):
        for part in ("train", "test"):
            values = [h.get(f"{part}_{key}") for h in history]
            if all(v is not None for v in values):
                ax.plot(epochs, values, "o-", label=part)
        ax.set(xlabel="epoch", ylabel=label, title=key)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs only
        ax.grid(alpha=0.3)
        ax.legend()
    ax1.set_yscale("log")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    try:
        with atomic_write(path) as f:
            fig.savefig(f, format="png", dpi=100)
    finally:
        plt.close(fig)


def holds_a_run(folder) -> bool:
    """True when `folder` already holds a training run's files."""
    return any(os.path.exists(os.path.join(folder, name)) for name in RUN_FILES)


def free_folder(base) -> str:
    """`base` if it holds no run yet, else the first of `base-2`, `base-3`, ... that holds
    none (how a default output folder avoids overwriting the last run)."""
    candidate, k = os.fspath(base), 1
    while holds_a_run(candidate):
        k += 1
        candidate = f"{os.fspath(base)}-{k}"
    return candidate


def prepare_folder(folder, overwrite: bool = False) -> str:
    """Create `folder`; FileExistsError if it holds a run, unless `overwrite` (then the
    old run's files are deleted first, so nothing stale is left beside the new ones)."""
    folder = os.fspath(folder)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise NotADirectoryError(f"{folder} exists and is not a folder")
    if holds_a_run(folder):
        if not overwrite:
            raise FileExistsError(f"{folder} already holds a run")
        for name in RUN_FILES:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                os.unlink(path)
    os.makedirs(folder, exist_ok=True)
    return folder
