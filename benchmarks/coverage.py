"""Coverage-wave benchmarks: a gradient through a decomposition or an FFT, chainrule vs
hand-written NumPy (forward + the analytic gradient) vs PyTorch CPU, in one run.

(a) Gaussian log-likelihood through cholesky: 0.5 y^T K^-1 y + log det K / 2, d/dK, n=200.
(b) Nuclear norm through svd, d/dA, 100 x 80.
(c) Power spectrum sum |rfft(x)|^2 over a (64, 1024) batch, d/dx.
Run: python benchmarks/coverage.py   (PyTorch is optional: `pip install torch==2.13.0`).
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import chainrule as cr  # noqa: E402
from timing import compare, optional_torch, table  # noqa: E402

torch = optional_torch()   # the bench extra is optional

rng = np.random.default_rng(0)
X = rng.standard_normal((200, 50))
K = X @ X.T + np.eye(200)
Y = rng.standard_normal(200)
A = rng.standard_normal((100, 80))
S = rng.standard_normal((64, 1024))


def gauss_cr(k):
    L = cr.linalg.cholesky(k)
    z = cr.linalg.solve(L, Y)
    return 0.5 * cr.sum(z * z) + cr.sum(cr.log(cr.einsum("ii->i", L)))


def gauss_numpy():
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, Y))
    kinv = np.linalg.inv(K)
    return 0.5 * (kinv - np.outer(alpha, alpha))


def gauss_torch(k):
    L = torch.linalg.cholesky(k)
    z = torch.linalg.solve_triangular(L, torch.as_tensor(Y)[:, None], upper=False)
    return 0.5 * (z * z).sum() + torch.log(torch.diagonal(L)).sum()


def nuc_numpy():
    u, _, vh = np.linalg.svd(A, full_matrices=False)
    return u @ vh


def power_numpy():
    spec = np.fft.rfft(S)
    ct = np.zeros(S.shape, complex)
    ct[:, :spec.shape[1]] = 2 * np.conj(spec)
    return np.real(np.fft.fft(ct))


def torch_grad(fn, x):
    def run():
        t = torch.tensor(x, requires_grad=True)
        fn(t).backward()
        return t.grad
    return run


def main():
    cases = {
        "gaussian logpdf via cholesky, n=200": (
            lambda: cr.grad(gauss_cr)(K), gauss_numpy,
            torch and torch_grad(gauss_torch, K)),
        "nuclear norm via svd, 100x80": (
            lambda: cr.grad(lambda a: cr.linalg.norm(a, "nuc"))(A), nuc_numpy,
            torch and torch_grad(lambda a: torch.linalg.matrix_norm(a, "nuc"), A)),
        "power spectrum via rfft, 64x1024": (
            lambda: cr.grad(lambda s: cr.sum(cr.abs(cr.fft.rfft(s)) ** 2))(S), power_numpy,
            torch and torch_grad(lambda s: (torch.fft.rfft(s).abs() ** 2).sum(), S)),
    }
    rows = []
    for name, (ours, by_hand, theirs) in cases.items():
        fns = {"chainrule": ours, "numpy": by_hand}
        if theirs:
            fns["torch"] = theirs
        t = compare(fns, repeats=15)
        rows.append([name, f"{t['chainrule'] * 1e3:.2f}", f"{t['numpy'] * 1e3:.2f}",
                     f"{t['chainrule'] / t['numpy']:.2f}",
                     f"{t['torch'] * 1e3:.2f}" if theirs else "-",
                     f"{t['chainrule'] / t['torch']:.2f}" if theirs else "-"])
    print(table(rows, ["gradient", "chainrule ms", "numpy ms", "ratio", "torch ms", "ratio"]))
    print("\nMedians of 15 interleaved rounds on a shared machine: expect noise of 10-30 %.")


if __name__ == "__main__":
    main()
