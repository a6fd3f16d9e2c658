"""`fit` and `evaluate`: the training loop `chainrule train` runs, as a library function.

`fit` calls the hooks of its callbacks (`Callback`) around every batch and epoch and
returns the history, one dict per epoch. A loss that becomes non-finite, or grows
`divergence` times past the first batch's, stops training with `TrainingDiverged` before
the optimizer takes that step, so the weights (and a checkpoint written by a callback at
the end of the previous epoch) stay those of the last good epoch.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

import chainrule as cr

from .compiled import CompiledStep

__all__ = ["Callback", "FitState", "TrainingDiverged", "evaluate", "fit"]


class TrainingDiverged(ArithmeticError):
    """The loss became non-finite or exploded; a smaller learning rate usually helps."""

    def __init__(self, epoch: int, batch: int, loss: float, lr):
        self.epoch, self.batch, self.loss, self.lr = epoch, batch, loss, lr
        rate = f" than {lr:g}" if isinstance(lr, (int, float)) else ""
        super().__init__(f"training diverged: the loss reached {loss:.4g} in epoch {epoch} "
                         f"(batch {batch}); try a smaller learning rate{rate}")


class Callback:
    """Hooks `fit` calls; override the ones you need. Each receives the `FitState`;
    setting `state.stop = True` ends training after the current epoch."""

    def on_train_begin(self, state: FitState) -> None: ...

    def on_epoch_begin(self, state: FitState) -> None: ...

    def on_batch_end(self, state: FitState) -> None: ...

    def on_epoch_end(self, state: FitState) -> None: ...

    def on_train_end(self, state: FitState) -> None: ...


@dataclass
class FitState:
    """What the callbacks see: the objects being trained and the progress so far."""

    model: object
    optimizer: object
    loader: object
    epochs: int
    scheduler: object = None
    epoch: int = 0                    # 1-based while running
    batch: int = 0                    # batches done in this epoch
    loss: float = math.nan            # the last batch's loss
    record: dict = field(default_factory=dict)   # this epoch's figures (running means)
    history: list = field(default_factory=list)  # one record per finished epoch
    stop: bool = False


def _correct(logits, targets) -> int | None:
    """Right answers in a classification batch, or None when it is not one."""
    logits = np.asarray(logits.data if isinstance(logits, cr.Tensor) else logits)
    targets = np.asarray(targets.data if isinstance(targets, cr.Tensor) else targets)
    if logits.ndim != 2 or targets.shape != logits.shape[:1] or targets.dtype.kind not in "iu":
        return None
    return int((logits.argmax(axis=1) == targets).sum())


def _split(batch):
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError(f"fit: each batch must be a pair (inputs, targets), got "
                         f"{type(batch).__name__}" + (f" of {len(batch)}" if isinstance(
                             batch, (tuple, list)) else ""))
    return batch


def fit(model, loader, optimizer, loss_fn, epochs: int = 1, callbacks=(), scheduler=None,
        eval_data=None, divergence: float | None = 1e3, start_epoch: int = 0,
        history=(), jit: bool = False) -> list[dict]:
    """Train `model` for `epochs` passes over `loader` (batches of (inputs, targets)) and
    return the history: per epoch `epoch`, `train_loss` (mean over samples), `seconds`,
    `train_accuracy` for classifiers, and `test_loss`/`test_accuracy` on `eval_data`
    ((inputs, targets) arrays or a loader). `scheduler.step()` runs after each epoch.
    To resume, pass the epochs already done as `start_epoch` and their `history`.
    `jit=True` runs each step (forward, backward, update) as one `cr.jit` program
    (`CompiledStep`): the same numbers, less per-op overhead."""
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"fit: epochs must be a whole number >= 1, got {epochs!r}")
    callbacks = list(callbacks)
    step = CompiledStep(model, optimizer, loss_fn) if jit else _EagerStep(model, optimizer,
                                                                            loss_fn)
    state = FitState(model, optimizer, loader, int(epochs), scheduler, history=list(history))
    first_loss = None
    for cb in callbacks:
        cb.on_train_begin(state)
    # NumPy's overflow/invalid warnings are not shown: the loss check below reports what
    # they would have meant (a loss that is no longer finite), once, with a remedy.
    with np.errstate(all="ignore"):
        for epoch in range(int(start_epoch) + 1, state.epochs + 1):
            state.epoch, state.batch, started = epoch, 0, time.perf_counter()
            total, seen, correct = 0.0, 0, 0
            state.record = {"epoch": epoch}
            for cb in callbacks:
                cb.on_epoch_begin(state)
            model.train()
            for batch in loader:
                inputs, targets = _split(batch)
                value, logits = step(inputs, targets)
                first_loss = abs(value) if first_loss is None else first_loss
                if not math.isfinite(value) or (
                        divergence is not None and abs(value) > divergence * max(first_loss, 1.0)):
                    raise TrainingDiverged(epoch, state.batch + 1, value,
                                           optimizer.param_groups[0].get("lr"))
                step.apply()
                n = len(targets)
                total, seen = total + value * n, seen + n
                right = _correct(logits, targets)
                correct = None if right is None or correct is None else correct + right
                state.batch, state.loss = state.batch + 1, value
                state.record["train_loss"] = total / seen
                if correct is not None:
                    state.record["train_accuracy"] = correct / seen
                for cb in callbacks:
                    cb.on_batch_end(state)
            if seen == 0:
                raise ValueError("fit: the loader gave no batches (is it empty, or "
                                 "drop_last=True with fewer samples than batch_size?)")
            if scheduler is not None:
                scheduler.step()
            if eval_data is not None:
                score = evaluate(model, eval_data)
                state.record["test_loss"] = score["loss"]
                if "accuracy" in score:
                    state.record["test_accuracy"] = score["accuracy"]
            state.record["seconds"] = time.perf_counter() - started
            state.history.append(state.record)
            for cb in callbacks:
                cb.on_epoch_end(state)
            if state.stop:
                break
    for cb in callbacks:
        cb.on_train_end(state)
    return state.history


class _EagerStep:
    """The step on the tape: forward and loss now, backward and update in `apply()`."""

    def __init__(self, model, optimizer, loss_fn):
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.loss = None

    def __call__(self, inputs, targets):
        self.optimizer.zero_grad()
        logits = self.model(inputs)
        self.loss = self.loss_fn(logits, targets)
        return float(np.asarray(self.loss.data)), logits

    def apply(self) -> None:
        self.loss.backward()
        self.loss = None
        self.optimizer.step()


def _batches(data, batch_size):
    if isinstance(data, (tuple, list)) and len(data) == 2 and not isinstance(data[0], tuple):
        x, y = (np.asarray(a.data if isinstance(a, cr.Tensor) else a) for a in data)
        for start in range(0, len(x), batch_size):
            yield cr.tensor(x[start:start + batch_size]), y[start:start + batch_size]
    else:
        yield from data


def evaluate(model, data, loss_fn=None, batch_size: int = 512) -> dict:
    """Score `model` on `data` ((inputs, targets) arrays, or a loader of such batches)
    without recording a graph: {"loss": mean per sample, "accuracy": for classifiers}.
    The loss defaults to cross-entropy; the model's train/eval mode is restored."""
    loss_fn = loss_fn or cr.nn.CrossEntropyLoss()
    was_training = getattr(model, "training", False)
    model.eval()
    total, seen, correct = 0.0, 0, 0
    try:
        with cr.no_grad(), np.errstate(all="ignore"):
            for inputs, targets in _batches(data, batch_size):
                logits = model(inputs)
                n = len(targets)
                total += float(np.asarray(loss_fn(logits, targets).data)) * n
                seen += n
                right = _correct(logits, targets)
                correct = None if right is None or correct is None else correct + right
    finally:
        model.train(was_training)
    if seen == 0:
        raise ValueError("evaluate: no samples to score")
    score = {"loss": total / seen}
    if correct is not None:
        score["accuracy"] = correct / seen
    return score
