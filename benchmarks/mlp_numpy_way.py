"""(c) The MLP step of issue 13 written the NumPy way, against hand NumPy and PyTorch.

`cr.maximum(z, 0.0)`, `cr.log_softmax(z, axis=1)`, `-(Y * logp).sum() / N` with one-hot Y,
SGD by hand; MLP 784-512-512-10, batch 128, float32, one thread. Also the gradient's cost
over the function's: value_and_grad(loss) / loss. Medians of interleaved rounds in CPU
time (cpu_timing.py). Run: python benchmarks/mlp_numpy_way.py [--rounds N]
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import chainrule as cr  # noqa: E402
from cpu_timing import interleaved  # noqa: E402
from run import LR, mlp_setup, mlp_step_numpy  # noqa: E402
from timing import table  # noqa: E402

try:
    import torch
    torch.set_num_threads(1)
except ImportError:  # the bench extra is optional
    torch = None


def loss_numpy_way(lib, params, x, onehot, log_softmax):
    """The loss as people write it, for chainrule and torch alike."""
    h = x
    n = len(params) // 2
    for i in range(n):
        h = h @ params[2 * i] + params[2 * i + 1]
        if i < n - 1:
            h = lib.maximum(h, 0.0) if lib is cr else torch.clamp_min(h, 0.0)
    logp = log_softmax(h)
    return -(onehot * logp).sum() / x.shape[0]


def cr_loss(*params_and_data):
    *params, x, onehot = params_and_data
    return loss_numpy_way(cr, params, x, onehot, lambda z: cr.log_softmax(z, axis=1))


def step_chainrule(params, x, onehot):
    for p in params:
        p.grad = None
    loss = cr_loss(*params, x, onehot)
    loss.backward()
    for p in params:
        p.data -= LR * p.grad.data
    return loss.item()


def step_torch(params, x, onehot):
    for p in params:
        p.grad = None
    loss = loss_numpy_way(torch, params, x, onehot, lambda z: torch.log_softmax(z, dim=1))
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= LR * p.grad
    return loss.item()


def main():
    from threadpoolctl import threadpool_limits
    w, b, x, y = mlp_setup()
    onehot = np.eye(10, dtype=np.float32)[y]
    arrays = [a for pair in zip(w, b) for a in pair]
    params = [cr.tensor(a.copy(), requires_grad=True) for a in arrays]
    w_np, b_np = [a.copy() for a in w], [a.copy() for a in b]
    l_cr, l_np = step_chainrule(params, x, onehot), mlp_step_numpy(w_np, b_np, x, y)
    assert abs(l_cr - l_np) < 1e-4, (l_cr, l_np)
    assert np.allclose(params[0].data, w_np[0], atol=1e-5), "weights differ after one step"
    fns = {"numpy": lambda: mlp_step_numpy(w_np, b_np, x, y),
           "chainrule": lambda: step_chainrule(params, x, onehot)}
    if torch is not None:
        tparams = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
        t_x, t_y = torch.from_numpy(x), torch.from_numpy(onehot)
        fns["torch"] = lambda: step_torch(tparams, t_x, t_y)
    const = [p.data for p in params]
    vg = cr.value_and_grad(cr_loss, argnums=tuple(range(len(params))))
    fns["f alone"] = lambda: cr_loss(*[cr.tensor(a) for a in const], x, onehot)
    fns["value_and_grad"] = lambda: vg(*const, x, onehot)
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    rounds = parser.parse_args().rounds
    with threadpool_limits(1):
        for fn in fns.values():   # warm-up
            fn()
        t = interleaved(fns, rounds)
    ms = {k: v * 1e3 for k, v in t.items()}
    rows = [["(c) MLP step, NumPy way, f32", f"{ms['numpy']:.2f}", f"{ms['chainrule']:.2f}",
             f"{ms.get('torch', float('nan')):.2f}", f"{ms['chainrule'] / ms['numpy']:.2f}",
             f"{ms['value_and_grad'] / ms['f alone']:.2f}"]]
    print(table(rows, ["benchmark (median ms)", "NumPy by hand", "chainrule", "PyTorch CPU",
                       "chainrule / NumPy", "value_and_grad / f"]))


if __name__ == "__main__":
    main()
