"""`chainrule train` and `chainrule evaluate`: arguments, progress bars, printing and exit
codes over the training library (`chainrule.train`), which does the work."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys

import chainrule as cr
from chainrule import train as lib
from chainrule.nn.models import MODELS

from .errors import CommandError
from .output import plural

EXAMPLES = """\
examples:
  chainrule train                          # MLP on the 8x8 digits, >= 97% test accuracy
  chainrule train --model cnn --epochs 10 --out runs/cnn
  chainrule train --model rnn --optimizer sgd --lr 0.05
  chainrule train --data mnist/            # a folder with MNIST's four IDX files
  chainrule evaluate runs/mlp
  mpirun -n 2 chainrule train --distributed --model cnn --out runs/cnn2
  chainrule train --resume --out runs/cnn  # continue a stopped run from its checkpoint
  chainrule train --model cnn --jit        # each step compiled: same weights, faster

--data takes an .npz (arrays x_train, y_train, x_test, y_test, or x, y), an IDX images
file whose labels file sits beside it (images -> labels, idx3 -> idx1 in the name), or a
folder with MNIST's four files. Data without a test part is split 80/20 with a fixed seed.
Without --out a run goes to runs/<model> (runs/<model>-2, -3, ... when that holds a run).
"""

MAX_SEED = 2**32 - 1


# ----- arguments --------------------------------------------------------------------------

def _number(kind, low, high=math.inf, what=None):
    """An argparse type: a finite `kind` number in [low, high] (above low for floats)."""
    what = what or f"a positive {kind.__name__}"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if (value is None or not math.isfinite(value) or not low <= value <= high
                or (kind is float and value == low)):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    parse.__name__ = what
    return parse


def _one_of(names, what):
    def parse(text):
        if text.lower() not in names:
            raise argparse.ArgumentTypeError(f"unknown {what} {text!r}; choose one of "
                                             f"{', '.join(names)}")
        return text.lower()
    parse.__name__ = what
    return parse


def add_parsers(subparsers):
    p = subparsers.add_parser(
        "train",
        help="train an MLP, CNN, RNN or transformer on the digits (or your IDX / .npz images)",
        description="Train a classifier with backpropagation. Shows a progress bar per epoch, "
                    "writes the model (checkpointed after every epoch), metrics.json and "
                    "a PNG of the curves to --out.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="mlp", type=_one_of(MODELS, "model"), metavar="NAME",
                   help=f"one of {', '.join(MODELS)} (default mlp)")
    p.add_argument("--epochs", type=_number(int, 1), metavar="N",
                   help="passes over the training set (default: 30 mlp, 20 cnn, 30 rnn, "
                        "30 transformer)")
    p.add_argument("--batch-size", type=_number(int, 1), metavar="N",
                   help="samples per step (default 32)")
    p.add_argument("--lr", type=_number(float, 0.0), metavar="RATE",
                   help="learning rate (default for adam/adamw 2e-3 mlp and transformer, "
                        "3e-3 cnn and rnn; 1e-3 rmsprop, 0.05 sgd), annealed to 0 by a cosine "
                        "schedule")
    p.add_argument("--optimizer", default="adam", type=_one_of(lib.OPTIMIZERS, "optimizer"),
                   metavar="NAME", help=f"one of {', '.join(lib.OPTIMIZERS)} (sgd: Nesterov "
                                        "momentum 0.9; default adam)")
    p.add_argument("--seed", type=_number(int, 0, MAX_SEED, "a whole number from 0 to 2**32-1"),
                   default=0, help="seeds the initial weights and the shuffling (default 0)")
    p.add_argument("--data", metavar="PATH", help="IDX or .npz images (default: the digits "
                                                  "bundled with scikit-learn)")
    p.add_argument("--out", metavar="DIR", help="output folder (default runs/<model>)")
    p.add_argument("--force", action="store_true",
                   help="overwrite the run already in --out (its three files are replaced)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--detect-anomaly", action="store_true",
                   help="stop at the first operation whose value or gradient is not finite, "
                        "naming it and the line that made it (slower: for debugging)")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel over the processes of `mpirun -n N` (needs Open MPI "
                        "and mpi4py): the global batch is split across them")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint (the settings "
                        "are read from it)")
    p.add_argument("--memory-budget", metavar="SIZE",
                   help="recompute instead of store to keep what backprop saves within SIZE "
                        "(e.g. 20MB): checkpointed segments for layer chains, revolve for "
                        "recurrent layers (docs/memory.md)")
    p.add_argument("--jit", action="store_true",
                   help="compile each training step (forward, backward, optimizer update) "
                        "with cr.jit: the same weights, less per-op overhead "
                        "(docs/symbolic.md)")
    p.set_defaults(run=run_train)

    e = subparsers.add_parser(
        "evaluate", help="reload a trained model and print its test accuracy",
        description="Reload DIR/model.npz (written by `chainrule train`) and print its "
                    "accuracy on the test split of the data it was trained on.")
    e.add_argument("dir", metavar="DIR", help="the --out folder of a training run (or the "
                                              ".npz file itself)")
    e.add_argument("--data", metavar="PATH", help="score on these images instead")
    e.set_defaults(run=run_evaluate)


# ----- train ------------------------------------------------------------------------------

class Progress(lib.Callback):
    """A tqdm bar per epoch on stderr, with the running loss and accuracy."""

    def __init__(self, quiet: bool):
        self.quiet, self.bar = quiet, None

    def on_epoch_begin(self, state):
        from tqdm import tqdm
        self.bar = tqdm(total=len(state.loader), desc=f"epoch {state.epoch}/{state.epochs}",
                        unit="batch", disable=self.quiet, leave=True, file=sys.stderr,
                        dynamic_ncols=True, mininterval=0.2)

    def _postfix(self, record, refresh):
        figures = {"loss": f"{record['train_loss']:.4f}",
                   "acc": f"{record.get('train_accuracy', math.nan):.3f}"}
        if "test_accuracy" in record:
            figures["test_acc"] = f"{record['test_accuracy']:.3f}"
        self.bar.set_postfix(figures, refresh=refresh)

    def on_batch_end(self, state):
        self._postfix(state.record, refresh=False)
        self.bar.update()

    def on_epoch_end(self, state):
        self._postfix(state.record, refresh=True)
        self.close()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _recipe(args):
    try:
        if args.resume:
            return _resumed(args)
        return lib.Recipe(model=args.model, data=args.data, epochs=args.epochs,
                          batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
                          seed=args.seed, distributed=args.distributed, jit=args.jit)
    except (OSError, ValueError) as err:
        raise CommandError(str(err)) from None
    except _distributed_error() as err:
        raise CommandError(str(err)) from None


def _distributed_error():
    from chainrule.distributed import DistributedError
    return DistributedError


def _resumed(args):
    """The recipe stored in --out's checkpoint, restored to its last finished epoch."""
    if not args.out:
        raise CommandError("--resume needs --out: the folder of the run to continue")
    try:
        _, ckpt = lib.load_checkpoint(args.out)
    except lib.CheckpointError as err:
        raise CommandError(str(err)) from None
    c = ckpt["config"]
    data = None if c.get("data", "digits") == "digits" else c["data"]
    recipe = lib.Recipe(model=c["model"], data=data, epochs=args.epochs or c["epochs"],
                        batch_size=c["batch_size"], lr=c["lr"], optimizer=c["optimizer"],
                        seed=c["seed"], distributed=args.distributed, jit=args.jit)
    return recipe.resume(ckpt, lib.read_history(os.path.join(args.out, lib.METRICS)))


def _folder(args) -> str:
    if args.resume:
        return args.out
    out = args.out or lib.free_folder(os.path.join("runs", args.model))
    try:
        return lib.prepare_folder(out, overwrite=args.force)
    except FileExistsError:
        raise CommandError(f"--out {out} already holds a run ({', '.join(lib.RUN_FILES)})"
                           "; pass --force to overwrite it, or choose another --out") from None
    except OSError as err:
        raise CommandError(f"--out {out}: cannot create the folder: "
                           f"{err.strerror or err}") from None


def _header(recipe, args) -> str:
    c = recipe.config
    return (f"training {c['model']} ({recipe.model.num_parameters():,} parameters) on "
            f"{c['data'] if args.data is None else args.data}: "
            f"{len(recipe.x_train)} train / {plural(len(recipe.x_test), 'test image')} of "
            f"{c['height']}x{c['width']}, {plural(c['classes'], 'class', 'classes')}; "
            f"{c['optimizer']} lr={recipe.lr:g}, batch {recipe.batch_size}, "
            f"{plural(recipe.epochs, 'epoch')}")


def _apply_memory_budget(recipe, budget, quiet):
    """Checkpoint the model's chains and loops to fit `budget`; a probe forward pass (no
    dropout, its graph dropped) makes the choices now, so a budget too small is said at
    once."""
    try:
        changed = cr.memory.apply_budget(recipe.model, budget)
        recipe.model.eval()
        recipe.model(recipe.x_train[:recipe.batch_size])
    except ValueError as err:
        raise CommandError(f"--memory-budget {budget}: {err}") from None
    finally:
        recipe.model.train()
    if not quiet:
        print("memory budget: " + ("; ".join(changed) or "nothing to checkpoint in this "
                                   "model"), file=sys.stderr)


def _check_jit(args):
    """--jit runs a compiled program: no per-op anomaly checks, no recomputation plan."""
    if not args.jit:
        return
    for flag, why in (("detect_anomaly", "it checks each operation as it runs"),
                      ("memory_budget", "its recomputation plan runs on the tape")):
        if getattr(args, flag):
            raise CommandError(f"--jit and --{flag.replace('_', '-')} do not combine ({why}); "
                               "drop one of them")


def run_train(args):
    _check_jit(args)
    recipe = _recipe(args)
    out = _agreed_folder(args) if recipe.distributed else _folder(args)
    checkpoint = os.path.join(out, lib.CHECKPOINT)
    quiet = args.quiet or not recipe.is_main  # only rank 0 prints
    if not quiet:
        print(_header(recipe, args), file=sys.stderr)
    if args.memory_budget:
        _apply_memory_budget(recipe, args.memory_budget, quiet)
    progress = Progress(quiet)
    try:
        with cr.detect_anomaly() if args.detect_anomaly else contextlib.nullcontext():
            history = recipe.run(out, callbacks=[progress], overwrite=args.force)
    except FloatingPointError as err:  # from --detect-anomaly
        progress.close()
        raise CommandError(str(err), code=1) from None
    except lib.TrainingDiverged as err:
        progress.close()
        kept = (f"{checkpoint} holds epoch {err.epoch - 1}" if err.epoch > 1
                else "no epoch finished, so no model was saved")
        raise CommandError(f"training diverged: the loss reached {err.loss:.3g} in epoch "
                           f"{err.epoch}; try a smaller --lr than {recipe.lr:g}; {kept}",
                           code=1) from None
    except KeyboardInterrupt:
        progress.close()
        done = _finished_epoch(checkpoint)
        if done:
            print(f"chainrule train: stopped; {checkpoint} holds epoch {done}", file=sys.stderr)
        raise
    except OSError as err:
        raise CommandError(f"cannot write to {out}: {err.strerror or err}") from None
    except _distributed_error() as err:
        progress.close()
        raise CommandError(str(err), code=1) from None
    if not recipe.is_main:
        return 0
    acc, n_test = history[-1]["test_accuracy"], len(recipe.x_test)
    seconds = sum(h["seconds"] for h in history)
    print(f"test accuracy: {acc:.4f} ({round(acc * n_test)}/{n_test}) after "
          f"{plural(len(history), 'epoch')} in {seconds:.1f} s; wrote {checkpoint}, "
          f"{os.path.join(out, lib.METRICS)}, {os.path.join(out, lib.CURVES)}")
    return 0


def _agreed_folder(args) -> str:
    """Rank 0 prepares --out; every rank learns whether it could, so all stop together."""
    from chainrule import distributed as dist
    out, error = args.out or "", None
    if dist.is_main():
        try:
            out = _folder(args)
        except CommandError as err:
            error = err
    if not dist.all_ranks_ok(error is None):
        raise error or CommandError("rank 0 could not prepare --out (it says why)")
    return out


def _finished_epoch(checkpoint):
    try:
        return cr.load(checkpoint)["epoch"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


# ----- evaluate ---------------------------------------------------------------------------

def run_evaluate(args):
    try:
        model, ckpt = lib.load_checkpoint(args.dir)
    except lib.CheckpointError as err:
        raise CommandError(str(err)) from None
    config = ckpt["config"]
    data = args.data
    if data is None and config.get("data", "digits") != "digits":
        data = config["data"]
        if not isinstance(data, str):
            raise CommandError(f"{args.dir}: the checkpoint names its data as "
                               f"{str(data)[:40]}, not a path; pass --data")
    scale = config.get("scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (
            0 < scale < math.inf):
        raise CommandError(f"{args.dir}: the checkpoint's pixel scale {str(scale)[:40]} is "
                           "not a positive number")
    try:
        _, _, x_test, y_test, _ = cr.data.load_split(data)
    except (OSError, ValueError) as err:
        raise CommandError(str(err)) from None
    shape = (config["height"], config["width"])
    if x_test.shape[1:] != shape:
        raise CommandError(f"the model reads {shape[0]}x{shape[1]} images; the data has "
                           f"{x_test.shape[1]}x{x_test.shape[2]}")
    if y_test.size and int(y_test.max()) >= config["classes"]:
        raise CommandError(f"the model knows {plural(config['classes'], 'class', 'classes')}; "
                           f"the data has label {int(y_test.max())}")
    x = cr.data.scale_images(x_test, scale, cr.nn.init.get_default_dtype())
    with lib.single_threaded_blas():
        score = lib.evaluate(model, (x, y_test))
    acc = score["accuracy"]
    print(f"test accuracy: {acc:.4f} ({round(acc * len(x_test))}/{len(x_test)}), "
          f"loss {score['loss']:.4f}: {config['model']} after epoch {ckpt['epoch']}, "
          f"{plural(len(x_test), 'test image')}")
    return 0

