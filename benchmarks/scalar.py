"""Scalar workloads (issue 13 items 4 and 5): chainrule vs PyTorch eager vs a micrograd-style
`Value` class written here (the floor: a dict-free node per op and nothing else), and the
`micrograd` package itself when it is installed.

- mlp: micrograd's own workload, an MLP 2-16-16-1 (ReLU) over 32 samples one by one,
  each sample forward + squared error + backward; reported in µs per recorded node.
- diamond: `y = sin(y) + cos(y)` to depth 2,000, forward + backward; µs per layer.
- chain: 100,000 scalar ops (`* 0.999`, `+ 0.001` alternating), forward + backward; µs
  per node, its forward and its backward apart, and the graph's size as RSS growth per
  node (measured first thing in the library's fresh worker).
- --million: a 1,000,000-node chain goes backward (chainrule only; prints its time).

Each library runs in its own fresh worker process that imports only that library
(workers.py): Python's cyclic collector scans every tracked object in the process at each
full collection, so in one shared process chainrule's graphs (Python objects) would pay
for the ~165,000 objects importing torch adds, which no user who runs chainrule alone
pays. The parent drives the workers round by round (interleaved, contenders' order
rotating), checks that every library computes the same losses and gradients, and reports
medians of CPU time (`time.thread_time`, one thread everywhere): on a shared machine wall
time also counts waiting for a core. Each worker warms each workload up once; the
collector runs with Python's defaults. Expect 5-10 % noise between runs all the same.

Run: python benchmarks/scalar.py [--quick] [--million].
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from timing import table  # noqa: E402
from workers import Workers, interleaved, script_worker, serve  # noqa: E402


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


# ----- the libraries, behind one small interface (built in each library's own worker) -----

def _chainrule_lib():
    import chainrule as cr

    def nodes(t):
        return sum(1 for u in cr.core.topological_order([t]) if u._node is not None)
    return {"param": lambda v: cr.tensor(v, requires_grad=True), "relu": cr.relu,
            "sin": cr.sin, "cos": cr.cos, "value": lambda t: t.item(),
            "grad": lambda t: t.grad.item(), "nodes": nodes}


def _torch_lib():
    import torch

    torch.set_num_threads(1)  # scalars: threads only add overhead
    return {"param": lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True),
            "relu": torch.relu, "sin": torch.sin, "cos": torch.cos,
            "value": lambda t: t.item(), "grad": lambda t: t.grad.item()}


def _value_lib(cls):
    return {"param": cls, "relu": lambda v: v.relu(), "sin": lambda v: v.sin(),
            "cos": lambda v: v.cos(), "value": lambda v: v.data, "grad": lambda v: v.grad}


def _micrograd_lib():
    from micrograd.engine import Value as MicrogradValue  # pip install micrograd (optional)

    return _value_lib(MicrogradValue)


# name: (the module its worker imports, None for the floor; its interface)
LIBRARIES = {"chainrule": ("chainrule", _chainrule_lib), "torch": ("torch", _torch_lib),
             "Value (floor)": (None, lambda: _value_lib(Value)),
             "micrograd": ("micrograd", _micrograd_lib)}
# micrograd has no sin, and its recursive topological sort cannot take 100,000 nodes
SHALLOW = {"micrograd"}


def available() -> list:
    """The libraries installed here (found without importing them)."""
    return [name for name, (module, _) in LIBRARIES.items()
            if module is None or importlib.util.find_spec(module) is not None]


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


def mlp_nodes(lib, data) -> int:
    """Nodes chainrule records for the 32 samples (the same ops in every library)."""
    ws, bs = mlp_params(lib, data[0], data[1])
    return sum(lib["nodes"]((mlp_forward(lib, ws, bs, x) - y) ** 2)
               for x, y in zip(data[2], data[3]))


DEPTH = 2000


def diamond(lib, x0=0.3):
    x = lib["param"](x0)
    y = x
    for _ in range(DEPTH):
        y = lib["sin"](y) + lib["cos"](y)
    y.backward()
    return lib["grad"](x)


CHAIN = 100_000


def chain_forward(x, n=CHAIN, a=0.999, b=0.001):
    y = x
    for _ in range(n // 2):
        y = y * a + b
    return y


def chain(lib, times=None, **shape):
    """d/dx of the chain; `times`, a dict, receives its forward and backward CPU seconds."""
    x = lib["param"](0.5)
    t0 = time.thread_time()
    y = chain_forward(x, **shape)
    t1 = time.thread_time()
    y.backward()
    if times is not None:
        times.update(forward=t1 - t0, backward=time.thread_time() - t1)
    return lib["grad"](x)


def chain_times(lib) -> dict:
    """The chain's forward and backward CPU seconds (a timed task's phases)."""
    times = {}
    chain(lib, times)
    return times


def million(lib) -> dict:
    """A 1,000,000-node chain goes backward: its CPU seconds and d/dx against the exact one."""
    times = {}
    grad = chain(lib, times, n=1_000_000, a=0.999999, b=1e-6)
    return {**times, "grad": grad, "exact": 0.999999 ** 500_000}


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def chain_bytes_per_node(lib) -> float:
    """RSS growth per node while a 100,000-op chain's graph is held (ask a fresh worker)."""
    import gc

    y = chain_forward(lib["param"](0.5), n=200)  # warm up: imports and caches, not pools
    y.backward()
    gc.collect()
    x = lib["param"](0.5)
    before = _rss()
    y = chain_forward(x)
    grown = _rss() - before
    assert y is not None
    return grown / CHAIN


def check(lib, data, deep: bool) -> dict:
    """The numbers the parent compares across libraries (and chainrule's node count)."""
    params = mlp_params(lib, data[0], data[1])
    out = {"mlp loss": mlp_run(lib, params, data), "mlp grad": lib["grad"](params[0][0][0][0])}
    if deep:
        out.update(diamond=diamond(lib), chain=chain(lib))
    if "nodes" in lib:
        out["nodes"] = mlp_nodes(lib, data)
    return out


def worker(name: str) -> None:
    """Serve one library's tasks to the parent (workers.serve), importing only it."""
    lib = LIBRARIES[name][1]()
    data = mlp_data()
    params = mlp_params(lib, data[0], data[1])
    deep = name not in SHALLOW
    timed = {"mlp": lambda: mlp_run(lib, params, data)}
    untimed = {"check": lambda: check(lib, data, deep)}
    if deep:
        timed.update(diamond=lambda: diamond(lib), chain=lambda: chain_times(lib))
        untimed.update(rss=lambda: chain_bytes_per_node(lib), million=lambda: million(lib))
    serve(timed, untimed)


# ----- the parent ----------------------------------------------------------------------

def check_agreement(checks: dict) -> None:
    """Every library computed the same losses and gradients as the first one."""
    ref_name, *others = checks
    ref = checks[ref_name]
    for name in others:
        for key, value in checks[name].items():
            if key in ref and key != "nodes":
                assert math.isclose(value, ref[key], rel_tol=1e-9), (name, key, value, ref)


def measure(rounds: int, want_million: bool) -> dict:
    """Everything the table shows, each library in its own fresh worker."""
    names = available()
    deep = [n for n in names if n not in SHALLOW]
    with Workers({n: script_worker(__file__, n) for n in names}) as workers:
        rss = workers.ask_all("rss", deep)  # first: the worker is still fresh
        checks = workers.ask_all("check")
        check_agreement(checks)
        times = interleaved(workers, {"mlp": names, "diamond": deep, "chain": deep}, rounds)
        big = workers.ask("chainrule", "million") if want_million else None
    return {"names": names, "times": times, "rss": rss, "million": big,
            "nodes": checks["chainrule"]["nodes"]}


def report(m: dict, rounds: int) -> None:
    """Print the table (µs per node or layer, ratios to torch) and the million-node line."""
    per = {"mlp": m["nodes"], "diamond": DEPTH, "chain": CHAIN, "chain forward": CHAIN,
           "chain backward": CHAIN}
    torch_t = m["times"].get("torch")
    rows = []
    for name in m["names"]:
        t = m["times"][name]

        def us(label, t=t):
            return f"{t[label] / per[label] * 1e6:.2f}" if label in t else ""

        def vs_torch(label, t=t):
            return f"{t[label] / torch_t[label]:.2f}" if torch_t and label in t else ""
        rss = m["rss"].get(name)
        rows.append([name, us("mlp"), vs_torch("mlp"), us("diamond"), vs_torch("diamond"),
                     us("chain"), vs_torch("chain"), us("chain forward"),
                     us("chain backward"), f"{rss:.0f}" if rss is not None else ""])
    print(f"MLP 2-16-16-1, {SAMPLES} samples one by one: {m['nodes']} nodes; diamond depth "
          f"{DEPTH}; chain of {CHAIN:,} ops. Medians of {rounds} interleaved rounds of CPU "
          f"time, one fresh worker process per library.\n")
    print(table(rows, ["library", "mlp µs/node", "/ torch", "diamond µs/layer", "/ torch",
                       "chain µs/node", "/ torch", "chain fwd µs/node", "chain bwd µs/node",
                       "chain bytes/node (RSS)"]))
    big = m["million"]
    if big:
        assert abs(big["grad"] - big["exact"]) < 1e-9 * big["exact"], big
        print(f"\n1,000,000-node chain (chainrule): forward {big['forward']:.2f} s, backward "
              f"{big['backward']:.2f} s CPU, d/dx = {big['grad']:.6f} "
              f"(exact {big['exact']:.6f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--million", action="store_true", help="also the 1M-node chain")
    parser.add_argument("--worker", metavar="LIBRARY", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    rounds = 5 if args.quick else 15
    report(measure(rounds, args.million), rounds)


if __name__ == "__main__":
    main()
