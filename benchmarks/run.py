"""Core-engine benchmarks: chainrule vs hand-written NumPy vs PyTorch CPU, in one run.

(a) 1,000 chained elementwise ops on 16-element float64 vectors, forward + backward:
    measures per-op overhead of recording and sweeping.
(b) One training step of an MLP 784-512-512-10 (ReLU, batch 128, float32, softmax
    cross-entropy, forward + backward + SGD).
Run: python benchmarks/run.py   (PyTorch is optional: `pip install torch==2.13.0`).
`--against OTHER/src`: (a) and (b) of this tree and of another chainrule checkout (e.g. a
worktree of an older commit), interleaved round by round in two worker processes, medians
of CPU time (a regression check for the engine's per-op cost).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import chainrule as cr  # noqa: E402
from timing import compare, optional_torch, table  # noqa: E402
from workers import Workers, interleaved, script_worker, serve  # noqa: E402

torch = optional_torch()   # the bench extra is optional

N_OPS = 1000


# ----- (a) chain of elementwise ops --------------------------------------------------------

def chain(lib, y):
    """The benchmark's forward ops, for any library with sin and tanh (chainrule, torch)."""
    for _ in range(N_OPS // 4):
        y = lib.tanh(lib.sin(y) * 1.001) + 0.1
    return y


def chain_chainrule(x0):
    x = cr.tensor(x0, requires_grad=True)
    chain(cr, x).sum().backward()
    return x.grad.data


def chain_numpy(x0):
    saved = []
    y = x0
    for _ in range(N_OPS // 4):
        saved.append(y)
        y = np.sin(y)
        y = y * 1.001
        t = np.tanh(y)
        saved.append(t)
        y = t + 0.1
    g = np.ones_like(y)
    for i in range(N_OPS // 4 - 1, -1, -1):
        t = saved[2 * i + 1]
        g = g * (1 - t * t)
        g = g * 1.001
        g = g * np.cos(saved[2 * i])
    return g


def chain_torch(x0):
    x = torch.tensor(x0, requires_grad=True)
    chain(torch, x).sum().backward()
    return x.grad.numpy()


def compiled_chain_gradient(x0):
    """The chain's gradient as a symbolic graph compiled to plain NumPy (symbol-to-symbol)."""
    from chainrule import symbolic

    graph = symbolic.simplify(symbolic.grad_graph(symbolic.trace(
        lambda x: cr.sum(chain(cr, x)))(x0)))
    fn = symbolic.compile_graph(graph)
    assert np.allclose(fn(x0), chain_numpy(x0), rtol=1e-10)
    return fn


# ----- (b) MLP training step ---------------------------------------------------------------

def mlp_setup(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    sizes = [784, 512, 512, 10]
    weights = [(rng.standard_normal((i, o)) / np.sqrt(i)).astype(dtype)
               for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros(o, dtype) for o in sizes[1:]]
    x = rng.standard_normal((128, 784)).astype(dtype)
    y = rng.integers(0, 10, 128)
    return weights, biases, x, y


LR = 0.01


def mlp_step_numpy(weights, biases, x, y):
    acts = [x]
    h = x
    for i, (w, b) in enumerate(zip(weights, biases)):
        h = h @ w + b
        if i < len(weights) - 1:
            h = np.maximum(h, 0)
        acts.append(h)
    logits = acts[-1]
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -logp[np.arange(len(y)), y].mean()
    g = np.exp(logp)
    g[np.arange(len(y)), y] -= 1
    g /= len(y)
    for i in range(len(weights) - 1, -1, -1):
        gw = acts[i].T @ g
        gb = g.sum(axis=0)
        if i > 0:
            g = (g @ weights[i].T) * (acts[i] > 0)
        weights[i] -= LR * gw
        biases[i] -= LR * gb
    return loss


def mlp_step_chainrule(params, x, y):
    h = cr.tensor(x)
    n = len(params) // 2
    for i in range(n):
        h = h @ params[2 * i] + params[2 * i + 1]
        if i < n - 1:
            h = cr.relu(h)
    loss = cr.nn.functional.cross_entropy(h, y)   # as torch's F.cross_entropy: fused
    for p in params:
        p.grad = None
    loss.backward()
    for p in params:
        p.data -= LR * p.grad.data
    return loss.item()


def mlp_step_torch(params, x, y):
    h = x
    n = len(params) // 2
    for i in range(n):
        h = h @ params[2 * i] + params[2 * i + 1]
        if i < n - 1:
            h = torch.relu(h)
    loss = torch.nn.functional.cross_entropy(h, y)
    for p in params:
        p.grad = None
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= LR * p.grad
    return loss.item()


def check_agreement():
    """The three implementations compute the same gradient and the same first loss."""
    x0 = np.linspace(-1, 1, 16)
    ref = chain_numpy(x0)
    assert np.allclose(chain_chainrule(x0), ref, rtol=1e-10), "chain gradient differs"
    if torch is not None:
        assert np.allclose(chain_torch(x0), ref, rtol=1e-10), "torch chain gradient differs"
    w, b, x, y = mlp_setup(dtype=np.float64)
    params = [cr.tensor(a.copy(), requires_grad=True) for pair in zip(w, b) for a in pair]
    l1 = mlp_step_chainrule(params, x, y)
    l2 = mlp_step_numpy([a.copy() for a in w], [a.copy() for a in b], x, y)
    assert abs(l1 - l2) < 1e-10, (l1, l2)
    # after one step the weights agree too
    w2, b2 = [a.copy() for a in w], [a.copy() for a in b]
    mlp_step_numpy(w2, b2, x, y)
    assert np.allclose(params[0].data, w2[0], atol=1e-12)


def _cells(t):
    return [f"{t['numpy'] * 1e3:.2f}", f"{t['chainrule'] * 1e3:.2f}", f"{t['torch'] * 1e3:.2f}",
            f"{t['chainrule'] / t['numpy']:.2f}", f"{t['chainrule'] / t['torch']:.2f}"]


def main():
    check_agreement()
    rows = []
    x0 = np.linspace(-1, 1, 16)
    fns = {"numpy": lambda: chain_numpy(x0), "chainrule": lambda: chain_chainrule(x0)}
    if torch:
        fns["torch"] = lambda: chain_torch(x0)
    t = compare(fns, repeats=40)
    t.setdefault("torch", float("nan"))
    rows.append(["(a) 1,000 elementwise ops, fwd+bwd", *_cells(t)])
    per_op = t["chainrule"] / N_OPS * 1e6
    per_op_torch = t["torch"] / N_OPS * 1e6
    compiled = compiled_chain_gradient(x0)
    t_compiled = compare({"compiled": lambda: compiled(x0)}, repeats=40)["compiled"]
    rows.append(["(a') the same gradient, traced once + simplified + compiled",
                 f"{t['numpy'] * 1e3:.2f}", f"{t_compiled * 1e3:.2f}", "",
                 f"{t_compiled / t['numpy']:.2f}", f"{t_compiled / t['torch']:.2f}"])

    w, b, x, y = mlp_setup()
    w_np, b_np = [a.copy() for a in w], [a.copy() for a in b]
    params = [cr.tensor(a.copy(), requires_grad=True) for pair in zip(w, b) for a in pair]
    fns = {"numpy": lambda: mlp_step_numpy(w_np, b_np, x, y),
           "chainrule": lambda: mlp_step_chainrule(params, x, y)}
    if torch:
        tparams = [torch.tensor(a.copy(), requires_grad=True) for pair in zip(w, b)
                   for a in pair]
        tx, ty = torch.tensor(x), torch.tensor(y)
        fns["torch"] = lambda: mlp_step_torch(tparams, tx, ty)
    t = compare(fns, repeats=40)
    t.setdefault("torch", float("nan"))
    rows.append(["(b) MLP 784-512-512-10 step, batch 128, f32", *_cells(t)])
    print(table(rows, ["benchmark (median ms)", "NumPy by hand", "chainrule", "PyTorch CPU",
                       "chainrule / NumPy", "chainrule / PyTorch"]))
    print(f"\nper-op cost of (a), forward+backward: chainrule {per_op:.1f} us, "
          f"PyTorch {per_op_torch:.1f} us")


AGAINST = ("(a) fwd+bwd", "(a) fwd", "(b)")


def _worker():
    """Serve `--against` (workers.serve): one timing of (a), its forward alone or (b)."""
    x0 = np.linspace(-1, 1, 16)
    w, b, x, y = mlp_setup()
    params = [cr.tensor(a.copy(), requires_grad=True) for pair in zip(w, b) for a in pair]
    fns = (lambda: chain_chainrule(x0),
           lambda: chain(cr, cr.tensor(x0, requires_grad=True)).sum(),
           lambda: mlp_step_chainrule(params, x, y))
    serve(dict(zip(AGAINST, fns)), warmup=3)


def against(other_src: str, rounds: int) -> None:
    """(a) and (b): this tree vs `other_src`, interleaved rounds in two processes."""
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    trees = {"other": os.path.abspath(other_src), "this": here}
    with Workers({k: script_worker(__file__, env={"PYTHONPATH": path})
                  for k, path in trees.items()}) as workers:
        times = interleaved(workers, {name: trees for name in AGAINST}, rounds)
    rows = []
    for name in AGAINST:
        o, t = (times[k][name] * 1e3 for k in ("other", "this"))
        rows.append([name, f"{o:.2f}", f"{t:.2f}", f"{t / o:.3f}"])
    print(table(rows, ["benchmark (median CPU ms)", f"{other_src}", "this tree", "ratio"]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="SRC", help="another checkout's src directory")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker()
    elif args.against:
        against(args.against, args.rounds)
    else:
        main()
