"""Scalar workloads (issue 13 items 4 and 5): chainrule vs PyTorch eager vs a micrograd-style
`Value` class written here (the floor: a dict-free node per op and nothing else), and the
`micrograd` package itself when it is installed.

- mlp: micrograd's own workload, an MLP 2-16-16-1 (ReLU) over 32 samples one by one,
  each sample forward + squared error + backward; reported in µs per recorded node.
- diamond: `y = sin(y) + cos(y)` to depth 2,000, forward + backward; µs per layer.
- chain: 100,000 scalar ops (`* 0.999`, `+ 0.001` alternating), forward + backward; µs
  per node, and the graph's size as RSS growth per node (measured in a fresh process).
- --million: a 1,000,000-node chain goes backward (chainrule only; prints its time).

Run: python benchmarks/scalar.py [--quick] [--million]. Times are medians of interleaved
rounds of CPU time (`time.thread_time`, one thread everywhere): on a shared machine wall
time also counts waiting for a core. Expect 5-10 % noise between runs all the same.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import chainrule as cr  # noqa: E402
from timing import compare, optional_torch, table  # noqa: E402

torch = optional_torch()
if torch is not None:
    torch.set_num_threads(1)  # scalars: threads only add overhead
try:
    from micrograd.engine import Value as MicrogradValue
except ImportError:  # pip install micrograd (optional)
    MicrogradValue = None


class Value:
    """The floor: micrograd's Value with slots, math functions and an iterative sweep."""

    __slots__ = ("data", "grad", "_backward", "_prev")

    def __init__(self, data, prev=()):
        self.data = data
        self.grad = 0.0
        self._backward = None
        self._prev = prev

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    __radd__ = __add__

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    __rmul__ = __mul__

    def __sub__(self, other):
        return self + (-other if not isinstance(other, Value) else other * -1.0)

    def __pow__(self, k):
        out = Value(self.data ** k, (self,))

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def _unary(self, value, slope):
        out = Value(value, (self,))

        def _backward():
            self.grad += slope * out.grad
        out._backward = _backward
        return out

    def relu(self):
        return self._unary(self.data if self.data > 0 else 0.0, 1.0 if self.data > 0 else 0.0)

    def sin(self):
        return self._unary(math.sin(self.data), math.cos(self.data))

    def cos(self):
        return self._unary(math.cos(self.data), -math.sin(self.data))

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            v, done = stack.pop()
            if done:
                order.append(v)
            elif id(v) not in seen:
                seen.add(id(v))
                stack.append((v, True))
                stack.extend((p, False) for p in v._prev)
        self.grad = 1.0
        for v in reversed(order):
            if v._backward is not None:
                v._backward()


# ----- the libraries, behind one small interface ---------------------------------------------

def _chainrule_lib():
    return {"param": lambda v: cr.tensor(v, requires_grad=True), "relu": cr.relu,
            "sin": cr.sin, "cos": cr.cos, "value": lambda t: t.item(),
            "grad": lambda t: t.grad.item()}


def _torch_lib():
    return {"param": lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True),
            "relu": torch.relu, "sin": torch.sin, "cos": torch.cos,
            "value": lambda t: t.item(), "grad": lambda t: t.grad.item()}


def _value_lib(cls):
    return {"param": cls, "relu": lambda v: v.relu(), "sin": lambda v: v.sin(),
            "cos": lambda v: v.cos(), "value": lambda v: v.data, "grad": lambda v: v.grad}


def libraries() -> dict:
    libs = {"chainrule": _chainrule_lib()}
    if torch is not None:
        libs["torch"] = _torch_lib()
    libs["Value (floor)"] = _value_lib(Value)
    if MicrogradValue is not None:
        libs["micrograd"] = _value_lib(MicrogradValue)
    return libs


# ----- workloads -------------------------------------------------------------------------

SIZES = (2, 16, 16, 1)
SAMPLES = 32


def mlp_data(seed=0):
    rng = random.Random(seed)
    weights = [[[rng.uniform(-1, 1) for _ in range(n_in)] for _ in range(n_out)]
               for n_in, n_out in zip(SIZES[:-1], SIZES[1:])]
    biases = [[0.0] * n_out for n_out in SIZES[1:]]
    xs = [[rng.uniform(-2, 2) for _ in range(SIZES[0])] for _ in range(SAMPLES)]
    ys = [1.0 if x[0] * x[1] > 0 else -1.0 for x in xs]
    return weights, biases, xs, ys


def mlp_params(lib, weights, biases):
    param = lib["param"]
    return ([[[param(w) for w in row] for row in layer] for layer in weights],
            [[param(b) for b in layer] for layer in biases])


def mlp_forward(lib, ws, bs, x):
    """micrograd's MLP: each neuron is sum(w_i * x_i, b), ReLU except on the last layer."""
    relu = lib["relu"]
    h = x
    for k, (w_layer, b_layer) in enumerate(zip(ws, bs)):
        last = k == len(ws) - 1
        out = []
        for w_row, b in zip(w_layer, b_layer):
            act = b
            for w, hi in zip(w_row, h):
                act = act + w * hi
            out.append(act if last else relu(act))
        h = out
    return h[0]


def mlp_run(lib, params, data):
    """32 samples one by one: forward, squared error, backward (gradients accumulate)."""
    ws, bs = params
    _, _, xs, ys = data
    total = 0.0
    for x, y in zip(xs, ys):
        loss = (mlp_forward(lib, ws, bs, x) - y) ** 2
        loss.backward()
        total += lib["value"](loss)
    return total


def mlp_nodes(data) -> int:
    """Nodes chainrule records for the 32 samples (the same ops in every library)."""
    lib = _chainrule_lib()
    ws, bs = mlp_params(lib, data[0], data[1])
    nodes = 0
    for x, y in zip(data[2], data[3]):
        loss = (mlp_forward(lib, ws, bs, x) - y) ** 2
        nodes += sum(1 for t in cr.core.topological_order([loss]) if t._node is not None)
    return nodes


DEPTH = 2000


def diamond(lib, x0=0.3):
    x = lib["param"](x0)
    y = x
    for _ in range(DEPTH):
        y = lib["sin"](y) + lib["cos"](y)
    y.backward()
    return lib["grad"](x)


CHAIN = 100_000


def chain_forward(lib, x):
    y = x
    for _ in range(CHAIN // 2):
        y = y * 0.999 + 0.001
    return y


def chain(lib):
    x = lib["param"](0.5)
    chain_forward(lib, x).backward()
    return lib["grad"](x)


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def chain_bytes_per_node(name: str) -> float:
    """RSS growth per node while a 100,000-op chain's graph is held (a fresh process)."""
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); "
            f"import scalar as S; print(S._measure_rss({name!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.split()[-1])


def _measure_rss(name: str) -> float:
    import gc

    lib = libraries()[name]
    y = lib["param"](0.5)
    for _ in range(100):  # warm up: imports and caches, but not the graph's memory pools
        y = y * 0.999 + 0.001
    y.backward()
    gc.collect()
    x = lib["param"](0.5)
    before = _rss()
    y = chain_forward(lib, x)
    grown = _rss() - before
    assert y is not None
    return grown / CHAIN


def million() -> None:
    """A 1,000,000-node chain goes backward (chainrule), and its time."""
    import time

    x = cr.tensor(0.5, requires_grad=True)
    t0 = time.perf_counter()
    y = x
    for _ in range(500_000):
        y = y * 0.999999 + 1e-6
    t1 = time.perf_counter()
    y.backward()
    t2 = time.perf_counter()
    expected = 0.999999 ** 500_000
    assert abs(x.grad.item() - expected) < 1e-9 * expected, (x.grad.item(), expected)
    print(f"1,000,000-node chain: forward {t1 - t0:.2f} s, backward {t2 - t1:.2f} s, "
          f"d/dx = {x.grad.item():.6f} (exact {expected:.6f})")


def check_agreement(libs, data):
    """Every library computes the same losses and gradients."""
    ref = None
    for name, lib in libs.items():
        params = mlp_params(lib, data[0], data[1])
        total = mlp_run(lib, params, data)
        g = lib["grad"](params[0][0][0][0])
        d = diamond(lib) if name != "micrograd" else None
        if ref is None:
            ref = (total, g, d)
            continue
        assert math.isclose(total, ref[0], rel_tol=1e-9), (name, total, ref[0])
        assert math.isclose(g, ref[1], rel_tol=1e-9), (name, g, ref[1])
        assert d is None or math.isclose(d, ref[2], rel_tol=1e-9), (name, d, ref[2])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--million", action="store_true", help="also the 1M-node chain")
    args = parser.parse_args()
    rounds = 5 if args.quick else 15
    libs = libraries()
    data = mlp_data()
    check_agreement(libs, data)
    nodes = mlp_nodes(data)

    params = {name: mlp_params(lib, data[0], data[1]) for name, lib in libs.items()}
    t_mlp = compare({name: (lambda lib=lib, p=params[name]: mlp_run(lib, p, data))
                     for name, lib in libs.items()}, repeats=rounds, warmup=1,
                    clock=time.thread_time)
    # micrograd has no sin, and its recursive topological sort cannot take 100,000 nodes
    deep = {k: v for k, v in libs.items() if k != "micrograd"}
    t_diamond = compare({name: (lambda lib=lib: diamond(lib)) for name, lib in deep.items()},
                        repeats=rounds, warmup=1,
                    clock=time.thread_time)
    t_chain = compare({name: (lambda lib=lib: chain(lib)) for name, lib in deep.items()},
                      repeats=max(3, rounds // 3), warmup=1,
                      clock=time.thread_time)
    rss = {name: chain_bytes_per_node(name) for name in deep}

    torch_ref = "torch" in libs
    rows = []
    for name in libs:
        mlp_us = t_mlp[name] / nodes * 1e6
        dia_us = t_diamond[name] / DEPTH * 1e6 if name in t_diamond else float("nan")
        ch_us = t_chain[name] / CHAIN * 1e6 if name in t_chain else float("nan")

        def vs_torch(t, name=name):
            return f"{t[name] / t['torch']:.2f}" if torch_ref and name in t else ""
        rows.append([name, f"{mlp_us:.2f}", vs_torch(t_mlp), f"{dia_us:.2f}",
                     vs_torch(t_diamond), f"{ch_us:.2f}", vs_torch(t_chain),
                     f"{rss.get(name, float('nan')):.0f}"])
    print(f"MLP 2-16-16-1, {SAMPLES} samples one by one: {nodes} nodes; diamond depth "
          f"{DEPTH}; chain of {CHAIN:,} ops. Medians of {rounds} interleaved rounds.\n")
    print(table(rows, ["library", "mlp µs/node", "/ torch", "diamond µs/layer", "/ torch",
                       "chain µs/node", "/ torch", "chain bytes/node (RSS)"]))
    if args.million:
        million()


if __name__ == "__main__":
    main()
