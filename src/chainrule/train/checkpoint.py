"""The checkpoint `chainrule train` writes after every epoch, and its careful reader.

A checkpoint is one `cr.save` file: {"format": "chainrule-train/1", "config": {...},
"epoch": n, "model": state_dict, "optimizer": ..., "scheduler": ...}; `config` is what
`cr.nn.models.build_model` needs. `load_checkpoint` trusts nothing in the file: the config
is checked, the model it describes must have exactly as many numbers as the file holds
(checked before anything is allocated), and weights that are not finite are refused.
"""

from __future__ import annotations

import os

import numpy as np

import chainrule as cr
from chainrule.nn.models import build_model, parameter_count

from ..files import is_regular_file
from .loop import Callback

__all__ = ["FORMAT", "CHECKPOINT", "Checkpoint", "CheckpointError", "load_checkpoint",
           "save_checkpoint"]

FORMAT = "chainrule-train/1"
CHECKPOINT = "model.npz"   # its name inside a run's folder


class CheckpointError(ValueError):
    """The file is not a usable checkpoint; the message says why in one line."""


def save_checkpoint(path, model, optimizer=None, scheduler=None, config=None, epoch=None):
    """Write model (and optimizer and schedule) state with its config and epoch, atomically."""
    state = {"format": FORMAT, "config": config or {}, "epoch": epoch,
             "model": model.state_dict()}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    cr.save(state, path)


class Checkpoint(Callback):
    """Save a checkpoint to `path` at the end of every epoch (the file always holds the
    last finished epoch: a crash or Ctrl-C mid-epoch or mid-write keeps it)."""

    def __init__(self, path, config=None):
        self.path, self.config = os.fspath(path), config

    def on_epoch_end(self, state):
        save_checkpoint(self.path, state.model, state.optimizer, state.scheduler,
                        self.config, state.epoch)


def _stored_values(weights: dict) -> int:
    return sum(int(np.size(v)) for v in weights.values())


def load_checkpoint(path, max_bytes=cr.io.MAX_BYTES):
    """(model, checkpoint dict) from a file written by `chainrule train` (or a run's
    folder); CheckpointError, one line, for anything unusable."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, CHECKPOINT)
    if not os.path.exists(path):
        raise CheckpointError(f"no model at {path}; train one with `chainrule train --out DIR`")
    if not is_regular_file(path):
        raise CheckpointError(f"{path} is not a regular file")
    try:
        ckpt = cr.load(path, max_bytes=max_bytes)
    except (OSError, ValueError) as err:
        raise CheckpointError(str(err)) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a model written by `chainrule train`")
    missing = [k for k in ("config", "epoch", "model") if k not in ckpt]
    if missing:
        raise CheckpointError(f"{path} lacks {', '.join(missing)}: it is incomplete or was "
                              "edited; train again")
    epoch, weights = ckpt["epoch"], ckpt["model"]
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise CheckpointError(f"{path}: epoch must be a whole number, got {str(epoch)[:40]}")
    if not isinstance(weights, dict) or not all(
            isinstance(v, np.ndarray) for v in weights.values()):
        raise CheckpointError(f"{path}: 'model' must map names to arrays")
    try:
        expected = parameter_count(ckpt["config"])
    except ValueError as err:
        raise CheckpointError(f"{path}: {err}") from None
    held = _stored_values(weights)
    if expected != held:
        raise CheckpointError(f"{path}: its config describes a {ckpt['config']['model']} of "
                              f"{expected:,} numbers but the file holds {held:,}")
    bad = [k for k, v in weights.items() if v.dtype.kind not in "fiub"
           or not np.all(np.isfinite(v))]
    if bad:
        raise CheckpointError(f"{path}: the weights {', '.join(map(str, bad[:3]))} are not "
                              "finite numbers; the run diverged before this was saved, or the "
                              "file was altered")
    model = build_model(ckpt["config"])
    try:
        model.load_state_dict(weights)
    except (KeyError, ValueError, TypeError) as err:
        raise CheckpointError(f"{path}: the saved weights do not fit a "
                              f"{ckpt['config']['model']}: {err}") from None
    return model, ckpt
