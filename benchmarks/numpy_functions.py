"""Gradients of the NumPy functions of issue 10: chainrule vs NumPy by hand vs PyTorch CPU.

Each row is a forward pass and the gradient of sum(w * f(x)) (w fixed, random), on a
(256, 512) float64 batch along the last axis: sort, median, cumprod, nanmean,
logaddexp, remainder. The hand-written NumPy versions use the textbook backward formulas
(scatter through the permutation, reverse cumulative sums). Everything runs on one thread.
Run: python benchmarks/numpy_functions.py   (needs the bench extra: torch==2.13.0).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import torch  # noqa: E402

import chainrule as cr  # noqa: E402
from timing import compare, table  # noqa: E402

torch.set_num_threads(1)
SHAPE = (256, 512)
rng = np.random.default_rng(0)
X = rng.standard_normal(SHAPE)
Y = rng.standard_normal(SHAPE)
W = rng.standard_normal(SHAPE)
XN = X.copy()
XN[rng.random(SHAPE) < 0.1] = np.nan
P = rng.uniform(0.5, 1.5, SHAPE)


# ----- NumPy by hand: value and gradient with respect to x ----------------------------------

def np_sort(x, w):
    idx = np.argsort(x, axis=-1, kind="stable")
    g = np.empty_like(x)
    np.put_along_axis(g, idx, w, axis=-1)
    return np.take_along_axis(x, idx, -1), g


def np_median(x, w):
    n = x.shape[-1]
    idx = np.argsort(x, axis=-1, kind="stable")
    s = np.take_along_axis(x, idx, -1)
    value = (s[:, n // 2 - 1] + s[:, n // 2]) / 2
    gs = np.zeros_like(x)
    gs[:, n // 2 - 1] += w[:, 0] / 2
    gs[:, n // 2] += w[:, 0] / 2
    g = np.empty_like(x)
    np.put_along_axis(g, idx, gs, axis=-1)
    return value, g


def np_cumprod(x, w):
    y = np.cumprod(x, axis=-1)
    return y, np.flip(np.cumsum(np.flip(w * y, -1), -1), -1) / x


def np_nanmean(x, w):
    mask = ~np.isnan(x)
    count = mask.sum(-1, keepdims=True)
    return np.where(mask, x, 0).sum(-1) / count[:, 0], np.where(mask, w[:, :1] / count, 0)


def np_logaddexp(x, w):
    out = np.logaddexp(x, Y)
    return out, w * np.exp(x - out)


def np_remainder(x, w):
    return np.remainder(x, P), w.copy()


# ----- chainrule and torch --------------------------------------------------------------

CASES = {
    "sort": (np_sort, lambda x: cr.sort(x, axis=-1),
             lambda x: torch.sort(x, dim=-1, stable=True).values, X),
    "median (even n)": (np_median, lambda x: cr.median(x, axis=-1),
                        lambda x: torch.quantile(x, 0.5, dim=-1), X),
    "cumprod": (np_cumprod, lambda x: cr.cumprod(x, axis=-1),
                lambda x: torch.cumprod(x, dim=-1), P),
    "nanmean": (np_nanmean, lambda x: cr.nanmean(x, axis=-1),
                lambda x: torch.nanmean(x, dim=-1), XN),
    "logaddexp": (np_logaddexp, lambda x: cr.logaddexp(x, Y),
                  lambda x: torch.logaddexp(x, torch.tensor(Y)), X),
    "remainder": (np_remainder, lambda x: cr.remainder(x, P),
                  lambda x: torch.remainder(x, torch.tensor(P)), X),
}


def _weights_for(value):
    return W[:, :1] if value.ndim == 1 else W


def row(name, repeats):
    by_hand, f_cr, f_t, x = CASES[name]
    value, _ = by_hand(x, W)
    w = _weights_for(value)
    w_flat = w[:, 0] if value.ndim == 1 else w
    cr_grad = cr.grad(lambda x: cr.sum(f_cr(x) * w_flat))
    wt = torch.tensor(w_flat)

    def torch_grad():
        xt = torch.tensor(x, requires_grad=True)
        (f_t(xt) * wt).sum().backward()
        return xt.grad

    g_hand = by_hand(x, w)[1]
    assert np.allclose(cr_grad(x).data, g_hand), f"{name}: chainrule and NumPy disagree"
    assert np.allclose(torch_grad().numpy(), g_hand), f"{name}: torch and NumPy disagree"
    t = compare({"numpy": lambda: by_hand(x, w), "chainrule": lambda: cr_grad(x),
                 "torch": torch_grad}, repeats=repeats)
    ms = {k: v * 1e3 for k, v in t.items()}
    return [name, f"{ms['numpy']:.2f}", f"{ms['chainrule']:.2f}", f"{ms['torch']:.2f}",
            f"{ms['chainrule'] / ms['numpy']:.2f}", f"{ms['chainrule'] / ms['torch']:.2f}"]


def main(repeats=15):
    rows = [row(name, repeats) for name in CASES]
    print(f"value + gradient on a {SHAPE} float64 batch, median ms of {repeats} "
          "round-robin repeats")
    print(table(rows, ["function", "NumPy by hand", "chainrule", "PyTorch CPU",
                       "chainrule / NumPy", "chainrule / PyTorch"]))


if __name__ == "__main__":
    main()
