"""Training on the digits: seconds per epoch, chainrule vs PyTorch CPU, same models, same
initial weights, same batches (the `chainrule train` MLP, CNN and transformer, and a
depthwise-separable CNN, Adam, batch 32).

First a correctness check in float64: both frameworks train from the same weights on the
same batches and their losses must agree to 1e-10 at every one of the first steps. Then
one epoch (45 steps of 32 images) of each is timed round-robin; medians and ratios.
Run: python benchmarks/training.py [--threads N] [mlp cnn dwsep transformer] (needs
torch==2.13.0, the `bench` extra). --threads limits both NumPy's BLAS (threadpoolctl)
and PyTorch to N threads; the default leaves both at their own defaults (all cores).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import chainrule as cr  # noqa: E402
from chainrule.nn.models import build_model  # noqa: E402
from chainrule.train import DEFAULTS  # noqa: E402
from timing import compare, table  # noqa: E402

try:
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
except ImportError:  # pragma: no cover
    sys.exit("benchmarks/training.py needs PyTorch: pip install torch==2.13.0")

CHECK_STEPS = 20
REPEATS = 15
TOLERANCE = 1e-10
MODELS = ("mlp", "cnn", "dwsep", "transformer")


def data():
    x, y = cr.data.load_digits()
    x_train, _, y_train, _ = cr.data.train_test_split(x, y, test_size=0.2, seed=0)
    return x_train, y_train


def depthwise_separable(nn, c):
    """A stem conv, then two blocks of depthwise 3x3 + pointwise 1x1 (MobileNet's unit)."""
    return nn.Sequential(nn.Unflatten(1, (1, 8)), nn.Conv2d(1, c, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(c, c, 3, padding=1, groups=c), nn.Conv2d(c, 2 * c, 1),
                         nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(2 * c, 2 * c, 3, padding=1, groups=2 * c),
                         nn.Conv2d(2 * c, 2 * c, 1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(2 * c * 4, 10))


class TorchRowTransformer(torch.nn.Module):
    """chainrule.nn.models.RowTransformer in PyTorch, the same parameter names."""

    def __init__(self, hidden):
        super().__init__()
        nn = torch.nn
        self.embed = nn.Linear(8, hidden)
        self.position = nn.Parameter(torch.zeros(8, hidden))
        layer = nn.TransformerEncoderLayer(hidden, 4, 2 * hidden, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden)
        self.head = nn.Linear(hidden, 10)

    def forward(self, x):
        return self.head(self.norm(self.encoder(self.embed(x) + self.position)).mean(dim=1))


def torch_model(name):
    nn = torch.nn
    if name == "transformer":
        return TorchRowTransformer(DEFAULTS["transformer"]["hidden"])
    if name == "dwsep":
        return depthwise_separable(nn, DEFAULTS["cnn"]["hidden"])
    if name == "mlp":
        h = DEFAULTS["mlp"]["hidden"]
        return TorchTwin(net=nn.Sequential(nn.Flatten(), nn.Linear(64, h), nn.ReLU(),
                                           nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 10)))
    c = DEFAULTS["cnn"]["hidden"]
    return TorchTwin(image=nn.Unflatten(1, (1, 8)), features=nn.Sequential(
        nn.Conv2d(1, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        classifier=nn.Sequential(nn.Flatten(), nn.Linear(2 * c * 4, 10)))


class TorchTwin(torch.nn.Module):
    """Named stages applied in turn: the parameter names of chainrule.nn.models' MLP
    (`net`) and CNN (`features`, `classifier`)."""

    def __init__(self, **stages):
        super().__init__()
        for key, stage in stages.items():
            self.add_module(key, stage)

    def forward(self, x):
        for stage in self.children():
            x = stage(x)
        return x


def pair(name, dtype):
    """A chainrule model and a PyTorch model with the same weights, in `dtype`."""
    cr.nn.init.manual_seed(0)
    if name == "dwsep":
        ours = depthwise_separable(cr.nn, DEFAULTS["cnn"]["hidden"]).to(dtype)
    else:
        ours = build_model({"model": name, "height": 8, "width": 8, "classes": 10,
                            "hidden": DEFAULTS[name]["hidden"]}).to(dtype)
    theirs = torch_model(name).to(getattr(torch, np.dtype(dtype).name))
    mine, other = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert mine.keys() == other.keys(), sorted(set(mine) ^ set(other))
    with torch.no_grad():
        for key, p in mine.items():
            assert p.shape == tuple(other[key].shape), (key, p.shape, other[key].shape)
            other[key].copy_(torch.from_numpy(p.data))
    return ours, theirs


def batches(x, y, dtype, seed=0):
    loader = cr.data.DataLoader((x, y), 32, shuffle=True, seed=seed)
    return [(x[i].astype(dtype), y[i]) for i in loader.batch_indices()]


def chainrule_epoch(model, opt, loss_fn, epoch):
    losses = []
    for xb, yb in epoch:
        opt.zero_grad()
        loss = loss_fn(model(cr.tensor(xb)), yb)
        loss.backward()
        opt.step()
        losses.append(float(loss.data))
    return losses


def torch_epoch(model, opt, loss_fn, epoch):
    losses = []
    for xb, yb in epoch:
        opt.zero_grad()
        loss = loss_fn(model(torch.from_numpy(xb)), torch.from_numpy(yb))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def setup(name, dtype):
    ours, theirs = pair(name, dtype)
    lr = DEFAULTS["cnn" if name == "dwsep" else name]["lr"]
    return (ours, cr.optim.Adam(ours.parameters(), lr=lr), cr.nn.CrossEntropyLoss(),
            theirs, torch.optim.Adam(theirs.parameters(), lr=lr), torch.nn.CrossEntropyLoss())


def check(name, x, y):
    """Max |loss difference| over the first CHECK_STEPS steps, in float64."""
    ours, opt, loss_fn, theirs, topt, tloss = setup(name, np.float64)
    epoch = batches(x, y, np.float64)[:CHECK_STEPS]
    a = chainrule_epoch(ours, opt, loss_fn, epoch)
    b = torch_epoch(theirs, topt, tloss, epoch)
    return max(abs(u - v) for u, v in zip(a, b)), a[0], a[-1]


def contenders(name, dtype, x, y):
    """One epoch of each framework, as functions to time."""
    ours, opt, loss_fn, theirs, topt, tloss = setup(name, dtype)
    epoch = batches(x, y, dtype)
    return {"chainrule": lambda: chainrule_epoch(ours, opt, loss_fn, epoch),
            "torch": lambda: torch_epoch(theirs, topt, tloss, epoch)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, help="BLAS and PyTorch threads")
    parser.add_argument("models", nargs="*", help=f"a subset of {', '.join(MODELS)}")
    args = parser.parse_args()
    limit = contextlib.nullcontext()
    if args.threads:
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(limits=args.threads, user_api="blas")
        torch.set_num_threads(args.threads)
    with limit:
        run(args.models or MODELS)


def run(names=MODELS):
    x, y = data()
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), numpy "
          f"{np.__version__}, {os.cpu_count()} cores; {len(x)} training images, batch 32, "
          "Adam\n")
    rows = []
    for name in names:
        diff, first, last = check(name, x, y)
        status = "OK" if diff < TOLERANCE else "MISMATCH"
        print(f"{name}: float64 losses over the first {CHECK_STEPS} steps "
              f"({first:.4f} -> {last:.4f}) agree to {diff:.1e} [{status}]")
        for dtype in (np.float32, np.float64):
            times = compare(contenders(name, dtype, x, y), repeats=REPEATS, warmup=2)
            ratio = times["chainrule"] / times["torch"]
            rows.append([f"{name} {np.dtype(dtype).name}", f"{times['chainrule'] * 1e3:.1f}",
                         f"{times['torch'] * 1e3:.1f}", f"{ratio:.2f}",
                         f"{diff:.1e}" if dtype == np.float64 else ""])
    print()
    print(table(rows, ["digits model (ms per epoch, median)", "chainrule", "PyTorch CPU",
                       "chainrule / PyTorch", "float64 loss diff (20 steps)"]))


if __name__ == "__main__":
    main()
