"""`chainrule.train`: the training library under `chainrule train`.

    from chainrule.train import fit, evaluate, Recipe
    history = fit(model, loader, optimizer, loss_fn, epochs=3, callbacks=[...])
    evaluate(model, (x_test, y_test))            # {"loss": ..., "accuracy": ...}
    Recipe(model="cnn").run(out="runs/cnn")      # what the command does, from Python
    fit(..., jit=True)                           # each step one cr.jit program, same weights

Checkpoints (`save_checkpoint`, `load_checkpoint`, the `Checkpoint` callback) hold the
model, optimizer and schedule with the config that rebuilds the model from `cr.nn.models`.
"""

from .checkpoint import (
    CHECKPOINT,
    FORMAT,
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from .compiled import CompiledStep, JitUnsupported
from .loop import Callback, FitState, TrainingDiverged, evaluate, fit
from .recipe import (
    DEFAULTS,
    LEARNING_RATES,
    OPTIMIZERS,
    Recipe,
    make_optimizer,
    single_threaded_blas,
)
from .report import (
    CURVES,
    METRICS,
    RUN_FILES,
    MetricsFile,
    free_folder,
    holds_a_run,
    metrics,
    plot_curves,
    prepare_folder,
    read_history,
)

__all__ = ["CHECKPOINT", "CURVES", "DEFAULTS", "FORMAT", "LEARNING_RATES", "METRICS",
           "OPTIMIZERS", "RUN_FILES", "Callback", "Checkpoint", "CheckpointError", "CompiledStep",
           "FitState", "JitUnsupported",
           "MetricsFile", "Recipe", "TrainingDiverged", "evaluate", "fit", "free_folder",
           "holds_a_run", "load_checkpoint", "make_optimizer", "metrics", "plot_curves",
           "prepare_folder", "read_history", "save_checkpoint", "single_threaded_blas"]
