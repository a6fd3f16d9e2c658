"""`chainrule train` and `chainrule evaluate`: train a classifier on the bundled digits (or
a user's IDX / `.npz` images), checkpointing after every epoch; reload and score it."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time

import numpy as np

import chainrule as cr

from .main import CommandError
from .models import DEFAULTS, LEARNING_RATES, MODELS, build_model, min_size

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
CHECKPOINT = "model.npz"
METRICS = "metrics.json"
CURVES = "curves.png"
FORMAT = "chainrule-train/1"
TEST_SIZE, SPLIT_SEED = 0.2, 0  # the fixed split of data that has no test part of its own

EXAMPLES = """\
examples:
  chainrule train                          # MLP on the 8x8 digits, >= 97% test accuracy
  chainrule train --model cnn --epochs 10 --out runs/cnn
  chainrule train --model rnn --optimizer sgd --lr 0.05
  chainrule train --data mnist/            # a folder with MNIST's four IDX files
  chainrule evaluate runs/mlp

--data takes an .npz (arrays x_train, y_train, x_test, y_test, or x, y), an IDX images
file whose labels file sits beside it (images -> labels, idx3 -> idx1 in the name), or a
folder with MNIST's four files. Data without a test part is split 80/20 with a fixed seed.
"""


# ----- arguments --------------------------------------------------------------------------

def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value > 0 or not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got "
                                             f"{text!r}")
        return value
    parse.__name__ = f"positive {kind.__name__}"
    return parse


def add_parsers(subparsers):
    p = subparsers.add_parser(
        "train", help="train an MLP, CNN or RNN on the digits (or your IDX / .npz images)",
        description="Train a classifier with backpropagation. Shows a progress bar per epoch, "
                    "writes the model (checkpointed after every epoch), metrics.json and "
                    "a PNG of the curves to --out.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="mlp", metavar="NAME",
                   help=f"one of {', '.join(MODELS)} (default mlp)")
    p.add_argument("--epochs", type=_positive(int), metavar="N",
                   help="passes over the training set (default: 30 mlp, 20 cnn, 30 rnn)")
    p.add_argument("--batch-size", type=_positive(int), metavar="N",
                   help="samples per step (default 32)")
    p.add_argument("--lr", type=_positive(float), metavar="RATE",
                   help="learning rate (default for adam/adamw 2e-3 mlp, 3e-3 cnn and rnn; "
                        "1e-3 rmsprop, 0.05 sgd), annealed to 0 by a cosine schedule")
    p.add_argument("--optimizer", default="adam", metavar="NAME",
                   help=f"one of {', '.join(OPTIMIZERS)} (sgd: Nesterov momentum 0.9; "
                        "default adam)")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the initial weights and the shuffling (default 0)")
    p.add_argument("--data", metavar="PATH", help="IDX or .npz images (default: the digits "
                                                  "bundled with scikit-learn)")
    p.add_argument("--out", metavar="DIR", help="output folder (default runs/<model>)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=run_train)

    e = subparsers.add_parser(
        "evaluate", help="reload a trained model and print its test accuracy",
        description="Reload DIR/model.npz (written by `chainrule train`) and print its "
                    "accuracy on the test split of the data it was trained on.")
    e.add_argument("dir", metavar="DIR", help="the --out folder of a training run (or the "
                                              ".npz file itself)")
    e.add_argument("--data", metavar="PATH", help="score on these images instead")
    e.set_defaults(run=run_evaluate)


# ----- data -------------------------------------------------------------------------------

def _as_images(x, y, what):
    """Check and shape (images, labels) as (N, H, W) numbers and (N,) ints."""
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind not in "uif":
        raise CommandError(f"{what}: images must be numbers, got dtype {x.dtype}")
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    elif x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            raise CommandError(f"{what}: images of shape {x.shape} are flat but {x.shape[1]} "
                               "is not a square; give them as (N, H, W)")
        x = x.reshape(len(x), side, side)
    if x.ndim != 3 or min(x.shape) < 1:
        raise CommandError(f"{what}: images must have shape (N, H, W), (N, 1, H, W) or "
                           f"(N, H*W), got {x.shape}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != len(x):
        raise CommandError(f"{what}: labels of shape {y.shape} do not fit images of shape "
                           f"{x.shape}; expected ({len(x)},)")
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    if y.dtype.kind not in "ui" or (y.size and y.min() < 0):
        raise CommandError(f"{what}: labels must be class numbers 0, 1, 2, ..., got dtype "
                           f"{y.dtype}" + (f" with minimum {y.min()}" if y.size else ""))
    if not np.all(np.isfinite(x)):
        raise CommandError(f"{what}: images hold NaN or infinite values")
    return x, y.astype(np.int64)


def load_data(path):
    """(x_train, y_train, x_test, y_test, name): images (N, H, W) unscaled, int64 labels."""
    if path is None:
        x, y = cr.data.load_digits()
        name = "digits"
        parts = (x, y, None, None)
    else:
        name = os.path.abspath(path)
        try:
            parts = cr.data.load_images(path)
        except (OSError, ValueError, TypeError) as err:
            raise CommandError(f"--data {path}: {err}") from None
    x_train, y_train = _as_images(parts[0], parts[1], f"--data {path}" if path else "digits")
    if parts[2] is None:
        x_train, x_test, y_train, y_test = cr.data.train_test_split(
            x_train, y_train, test_size=TEST_SIZE, seed=SPLIT_SEED)
    else:
        x_test, y_test = _as_images(parts[2], parts[3], f"--data {path} (test part)")
        if x_test.shape[1:] != x_train.shape[1:]:
            raise CommandError(f"--data {path}: test images {x_test.shape[1:]} differ in size "
                               f"from training images {x_train.shape[1:]}")
    if len(x_train) < 1 or len(x_test) < 1:
        raise CommandError(f"--data {path}: too few samples to train and test")
    return x_train, y_train, x_test, y_test, name


def _scale(x, scale, dtype):
    out = np.asarray(x, dtype=dtype)
    return out / dtype(scale) if scale != 1 else out


# ----- training ---------------------------------------------------------------------------

def make_optimizer(name, params, lr):
    if name == "adam":
        return cr.optim.Adam(params, lr=lr)
    if name == "adamw":
        return cr.optim.AdamW(params, lr=lr)
    if name == "rmsprop":
        return cr.optim.RMSprop(params, lr=lr)
    return cr.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)


def evaluate_model(model, x, y, batch_size=512):
    """(mean cross-entropy, accuracy) of `model` on images x and labels y."""
    model.eval()
    total, correct = 0.0, 0
    with cr.no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(cr.tensor(x[start:start + batch_size]))
            yb = y[start:start + batch_size]
            total += float(cr.nn.functional.cross_entropy(logits, yb, reduction="sum").data)
            correct += int((logits.data.argmax(axis=1) == yb).sum())
    model.train()
    return total / len(x), correct / len(x)


def _write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def plot_curves(history, path):
    """Loss and accuracy per epoch (train and test) as a PNG, with matplotlib's Agg."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax1.plot(epochs, [h["test_loss"] for h in history], "o-", label="test")
    ax1.set(xlabel="epoch", ylabel="cross-entropy", title="loss", yscale="log")
    ax2.plot(epochs, [h["train_accuracy"] for h in history], "o-", label="train")
    ax2.plot(epochs, [h["test_accuracy"] for h in history], "o-", label="test")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


def _progress(loader, epoch, epochs, quiet):
    from tqdm import tqdm
    return tqdm(total=len(loader), desc=f"epoch {epoch}/{epochs}", unit="batch", disable=quiet,
                leave=True, file=sys.stderr, dynamic_ncols=True, mininterval=0.2)


def single_threaded_blas():
    """BLAS limited to one thread: these models' matrices are tiny, and on a busy 2-core
    machine OpenBLAS's threads waiting for each other made a CNN epoch 10x slower (1.6 s
    instead of 0.1 s). Uses threadpoolctl (a scikit-learn dependency) when present."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def run_train(args):
    with single_threaded_blas():
        return _train(args)


def _train(args):
    model_name = args.model.lower()
    if model_name not in MODELS:
        raise CommandError(f"unknown model {args.model!r}; choose one of {', '.join(MODELS)}")
    opt_name = args.optimizer.lower()
    if opt_name not in OPTIMIZERS:
        raise CommandError(f"unknown optimizer {args.optimizer!r}; choose one of "
                           f"{', '.join(OPTIMIZERS)}")
    defaults = DEFAULTS[model_name]
    epochs = args.epochs or defaults["epochs"]
    batch_size = args.batch_size or defaults["batch_size"]
    lr = args.lr or LEARNING_RATES.get(opt_name, defaults["lr"])
    out = args.out or os.path.join("runs", model_name)

    x_train, y_train, x_test, y_test, data_name = load_data(args.data)
    height, width = x_train.shape[1:]
    if min(height, width) < min_size(model_name):
        raise CommandError(f"--model {model_name} needs images of at least "
                           f"{min_size(model_name)}x{min_size(model_name)}, got "
                           f"{height}x{width}")
    if x_train.dtype == np.uint8:
        scale = 255.0
    else:
        top = float(np.abs(x_train).max()) if x_train.size else 1.0
        scale = top if top > 1 else 1.0
    dtype = np.dtype(cr.nn.init.get_default_dtype()).type
    x_train, x_test = _scale(x_train, scale, dtype), _scale(x_test, scale, dtype)
    classes = max(int(y_train.max()), int(y_test.max())) + 1
    config = {"model": model_name, "height": int(height), "width": int(width),
              "classes": classes, "hidden": defaults["hidden"], "scale": scale,
              "data": data_name, "optimizer": opt_name, "lr": lr, "epochs": epochs,
              "batch_size": batch_size, "seed": args.seed}

    try:
        os.makedirs(out, exist_ok=True)
    except OSError as err:
        raise CommandError(f"--out {out}: cannot create the folder: {err.strerror}") from None
    checkpoint = os.path.join(out, CHECKPOINT)

    cr.nn.init.manual_seed(args.seed)
    model = build_model(config)
    opt = make_optimizer(opt_name, model.parameters(), lr)
    sched = cr.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loader = cr.data.DataLoader((x_train, y_train), batch_size, shuffle=True, seed=args.seed)
    loss_fn = cr.nn.CrossEntropyLoss()

    if not args.quiet:
        print(f"training {model_name} ({model.num_parameters():,} parameters) on "
              f"{data_name if args.data is None else args.data}: {len(x_train)} train / "
              f"{len(x_test)} test images of {height}x{width}, {classes} classes; "
              f"{opt_name} lr={lr:g}, batch {batch_size}, {epochs} epochs", file=sys.stderr)
    history = []
    started = time.perf_counter()
    epoch = 0
    try:
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            total, correct, seen = 0.0, 0, 0
            bar = _progress(loader, epoch, epochs, args.quiet)
            try:
                for xb, yb in loader:
                    opt.zero_grad()
                    logits = model(xb)
                    loss = loss_fn(logits, yb)
                    loss.backward()
                    opt.step()
                    value = float(loss.data)
                    if not math.isfinite(value):
                        raise CommandError(f"training diverged (loss {value}) in epoch "
                                           f"{epoch}; try a smaller --lr than {lr:g}")
                    n = len(yb.data)
                    total += value * n
                    seen += n
                    correct += int((logits.data.argmax(axis=1) == yb.data).sum())
                    bar.set_postfix(loss=f"{total / seen:.4f}", acc=f"{correct / seen:.3f}",
                                    refresh=False)
                    bar.update()
                sched.step()
                test_loss, test_acc = evaluate_model(model, x_test, y_test)
                bar.set_postfix(loss=f"{total / seen:.4f}", acc=f"{correct / seen:.3f}",
                                test_acc=f"{test_acc:.3f}")
            finally:
                bar.close()
            history.append({"epoch": epoch, "train_loss": total / seen,
                            "train_accuracy": correct / seen, "test_loss": test_loss,
                            "test_accuracy": test_acc,
                            "seconds": time.perf_counter() - t0})
            try:
                cr.save({"format": FORMAT, "config": config, "epoch": epoch,
                         "model": model.state_dict(), "optimizer": opt.state_dict(),
                         "scheduler": sched.state_dict()}, checkpoint)
                _write_json(os.path.join(out, METRICS), _metrics(config, history, started))
            except OSError as err:
                raise CommandError(f"cannot write to {out}: {err.strerror or err}") from None
    except KeyboardInterrupt:
        if history:
            print(f"chainrule train: stopped in epoch {epoch}; {checkpoint} holds epoch "
                  f"{history[-1]['epoch']}", file=sys.stderr)
        raise

    metrics = _metrics(config, history, started)
    try:
        _write_json(os.path.join(out, METRICS), metrics)
        plot_curves(history, os.path.join(out, CURVES))
    except OSError as err:
        raise CommandError(f"cannot write to {out}: {err.strerror or err}") from None
    acc = history[-1]["test_accuracy"]
    print(f"test accuracy: {acc:.4f} ({round(acc * len(x_test))}/{len(x_test)}) after "
          f"{epochs} epochs in {metrics['seconds']:.1f} s; wrote {checkpoint}, "
          f"{os.path.join(out, METRICS)}, {os.path.join(out, CURVES)}")
    return 0


def _metrics(config, history, started):
    return {"config": config, "epochs": history,
            "final_test_accuracy": history[-1]["test_accuracy"] if history else None,
            "final_test_loss": history[-1]["test_loss"] if history else None,
            "seconds": time.perf_counter() - started}


# ----- evaluate ---------------------------------------------------------------------------

def load_checkpoint(path):
    """(model, checkpoint dict) from a file written by `chainrule train`."""
    if os.path.isdir(path):
        path = os.path.join(path, CHECKPOINT)
    if not os.path.isfile(path):
        raise CommandError(f"no model at {path}; train one with `chainrule train --out DIR`")
    try:
        ckpt = cr.load(path)
    except (OSError, ValueError) as err:
        raise CommandError(str(err)) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CommandError(f"{path} is not a model written by `chainrule train`")
    config = ckpt["config"]
    if config.get("model") not in MODELS:
        raise CommandError(f"{path}: unknown model {config.get('model')!r}")
    try:
        model = build_model(config)
        model.load_state_dict(ckpt["model"])
    except (KeyError, ValueError, TypeError) as err:
        raise CommandError(f"{path}: the saved weights do not fit a {config['model']}: "
                           f"{err}") from None
    return model, ckpt


def run_evaluate(args):
    with single_threaded_blas():
        return _evaluate(args)


def _evaluate(args):
    model, ckpt = load_checkpoint(args.dir)
    config = ckpt["config"]
    data = args.data
    if data is None and config["data"] != "digits":
        data = config["data"]
    x_train, y_train, x_test, y_test, _ = load_data(data)
    shape = (config["height"], config["width"])
    if x_test.shape[1:] != shape:
        raise CommandError(f"the model reads {shape[0]}x{shape[1]} images; --data has "
                           f"{x_test.shape[1]}x{x_test.shape[2]}")
    if y_test.size and int(y_test.max()) >= config["classes"]:
        raise CommandError(f"the model knows {config['classes']} classes; the data has label "
                           f"{int(y_test.max())}")
    dtype = np.dtype(cr.nn.init.get_default_dtype()).type
    loss, acc = evaluate_model(model, _scale(x_test, config["scale"], dtype), y_test)
    print(f"test accuracy: {acc:.4f} ({round(acc * len(x_test))}/{len(x_test)}), "
          f"loss {loss:.4f}: {config['model']} after epoch {ckpt['epoch']}, "
          f"{len(x_test)} test images")
    return 0
