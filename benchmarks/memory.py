"""Store vs recompute: peak memory and step time, chainrule beside NumPy by hand and PyTorch.

(a) A 1,000-layer tanh MLP (width 256, batch 64, float64), one forward + backward:
    every activation stored (chainrule, NumPy by hand, PyTorch) against sqrt(n) checkpointed
    segments (`cr.checkpoint_sequential`, `torch.utils.checkpoint.checkpoint_sequential`).
(b) An LSTM over 1,000 steps (input 64, hidden 128, batch 32, float64): every step stored
    against revolve's binomial schedule with 10 snapshots (`nn.LSTM(checkpoint=10)`, i.e.
    `cr.scan`) and against PyTorch's `checkpoint` over sqrt(n) chunks of steps.

Figures: the median step time over interleaved rounds; the peak of saved values (exact:
`cr.memory.report` for chainrule, the saved list for NumPy, saved_tensors_hooks for
PyTorch without checkpointing); and the peak resident memory of the step (all memory,
every framework alike, the gradient buffers included), measured in a fresh process per
contender: after a warm-up step the gradients are dropped and the kernel's high-water
mark is reset, and glibc maps every block of 4 KB or more on its own and returns it when
freed (MALLOC_MMAP_THRESHOLD_), so the mark is the step's own peak over the resting state.

Run: python benchmarks/memory.py [--quick] [--plot docs/memory-sweep.png]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

# One thread for every library: the machine is shared, and BLAS or torch threads spinning
# against other work make timings swing by several times.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import chainrule as cr  # noqa: E402
from chainrule.core import topological_order  # noqa: E402
from chainrule.transforms import revolve  # noqa: E402
from timing import compare, table  # noqa: E402

try:
    import torch
    import torch.utils.checkpoint as torch_ckpt
    torch.set_num_threads(1)
except ImportError:  # the bench extra is optional
    torch = None

F = cr.nn.functional
SIZES = {"full": {"depth": 1000, "width": 256, "batch": 64, "steps": 1000},
         "quick": {"depth": 100, "width": 64, "batch": 16, "steps": 100}}
# Wall time, and the CPU time of this process (every contender runs on one thread, so that
# is the step's own work; on a shared machine the wall time adds the waits for a core).
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
LSTM = {"input": 64, "hidden": 128, "batch": 32, "snapshots": 10}


# ----- (a) the MLP ------------------------------------------------------------------------

def mlp_data(depth, width, batch, seed=0):
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(depth, width, width)) / math.sqrt(width)   # (out, in) each
    biases = rng.normal(size=(depth, width)) * 0.1
    return weights, biases, rng.normal(size=(batch, width))


class MLPChainrule:
    def __init__(self, weights, biases):
        self.params = [(cr.tensor(w, requires_grad=True), cr.tensor(b, requires_grad=True))
                       for w, b in zip(weights, biases)]
        self.layers = [lambda x, w=w, b=b: cr.tanh(F.linear(x, w, b)) for w, b in self.params]
        self.segmented = cr.checkpoint_sequential(self.layers, segments="sqrt")

    def loss(self, x, schedule):
        run = self.segmented if schedule == "sqrt" else self._plain
        return cr.sum(run(x))

    def _plain(self, x):
        for f in self.layers:
            x = f(x)
        return x

    def release(self):
        for w, b in self.params:
            w.grad = b.grad = None

    def step(self, x, schedule):
        self.release()
        self.loss(cr.tensor(x), schedule).backward()
        return self.params[0][0].grad.data


def mlp_numpy(weights, biases, x):
    """Forward storing each tanh output, backward by hand: the reference."""
    saved = [x]
    for w, b in zip(weights, biases):
        x = np.tanh(x @ w.T + b)
        saved.append(x)
    g = np.ones_like(x)
    grads = [None] * len(weights)
    for i in range(len(weights) - 1, -1, -1):
        t = saved.pop()
        g = g * (1 - t * t)
        grads[i] = (g.T @ saved[-1], g.sum(0))
        g = g @ weights[i]
    return grads[0][0]


class MLPTorch:
    def __init__(self, weights, biases):
        layers = []
        for w, b in zip(weights, biases):
            lin = torch.nn.Linear(w.shape[1], w.shape[0], dtype=torch.float64)
            lin.weight = torch.nn.Parameter(torch.from_numpy(w))   # shares the memory
            lin.bias = torch.nn.Parameter(torch.from_numpy(b))
            layers += [lin, torch.nn.Tanh()]
        self.model = torch.nn.Sequential(*layers)
        self.segments = max(1, round(math.sqrt(len(weights))))

    def release(self):
        self.model.zero_grad(set_to_none=True)

    def step(self, x, schedule):
        self.release()
        x = torch.from_numpy(x)
        if schedule == "sqrt":
            out = torch_ckpt.checkpoint_sequential(self.model, self.segments, x,
                                                   use_reentrant=False)
        else:
            out = self.model(x)
        out.sum().backward()
        return self.model[0].weight.grad.numpy()


# ----- (b) the LSTM -----------------------------------------------------------------------

def lstm_data(steps, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(steps, LSTM["batch"], LSTM["input"])) * 0.5


class LSTMChainrule:
    def __init__(self, seed=0):
        cr.nn.init.manual_seed(seed)
        self.plain = cr.nn.LSTM(LSTM["input"], LSTM["hidden"], dtype=np.float64)
        self.revolve = cr.nn.LSTM(LSTM["input"], LSTM["hidden"], dtype=np.float64,
                                  checkpoint=LSTM["snapshots"])
        self.revolve.load_state_dict(self.plain.state_dict())

    def release(self):
        for model in (self.plain, self.revolve):
            for p in model.parameters():
                p.grad = None

    def step(self, x, schedule):
        model = self.revolve if schedule == "revolve" else self.plain
        model.zero_grad()
        out, _ = model(cr.tensor(x))
        cr.sum(out).backward()
        return model.weight_hh_l0.grad.data


class LSTMTorch:
    def __init__(self, chainrule_model):
        self.model = torch.nn.LSTM(LSTM["input"], LSTM["hidden"], dtype=torch.float64)
        with torch.no_grad():
            for name, p in self.model.named_parameters():
                p.copy_(torch.from_numpy(chainrule_model.state_dict()[name]))

    def release(self):
        self.model.zero_grad(set_to_none=True)

    def step(self, x, schedule):
        self.release()
        x = torch.from_numpy(x)
        if schedule == "chunks":   # torch's checkpoint over sqrt(n) chunks of steps
            n = x.shape[0]
            size = max(1, round(math.sqrt(n)))
            h = c = torch.zeros(1, x.shape[1], LSTM["hidden"], dtype=x.dtype)
            outs = []
            for a in range(0, n, size):
                out, (h, c) = torch_ckpt.checkpoint(self.model, x[a:a + size], (h, c),
                                                    use_reentrant=False)
                outs.append(out)
            out = torch.cat(outs)
        else:
            out, _ = self.model(x)
        out.sum().backward()
        return self.model.weight_hh_l0.grad.numpy()


# ----- contenders, built in one process (timing) or alone (peak memory) ------------------

def contenders(size, only=""):
    """{name: step function}, all computing the same gradient (names starting `only`)."""
    fns, mlp, x, lstm, xs = {}, None, None, None, None
    if "mlp".startswith(only[:3]):
        weights, biases, x = mlp_data(size["depth"], size["width"], size["batch"])
        mlp = MLPChainrule(weights, biases)
        fns.update({"mlp/numpy": lambda: mlp_numpy(weights, biases, x),
                    "mlp/chainrule": lambda: mlp.step(x, "plain"),
                    "mlp/chainrule-sqrt": lambda: mlp.step(x, "sqrt")})
        if torch is not None:
            tmlp = MLPTorch(weights, biases)
            mlp.torch = tmlp
            fns.update({"mlp/torch": lambda: tmlp.step(x, "plain"),
                        "mlp/torch-sqrt": lambda: tmlp.step(x, "sqrt")})
    if "lstm".startswith(only[:4]):
        xs = lstm_data(size["steps"])
        lstm = LSTMChainrule()
        fns.update({"lstm/chainrule": lambda: lstm.step(xs, "plain"),
                    "lstm/chainrule-revolve": lambda: lstm.step(xs, "revolve")})
        if torch is not None:
            tlstm = LSTMTorch(lstm.plain)
            lstm.torch = tlstm
            fns.update({"lstm/torch": lambda: tlstm.step(xs, "plain"),
                        "lstm/torch-chunks": lambda: tlstm.step(xs, "chunks")})
    return fns, (mlp, x, lstm, xs)


def peak_rss_of(name, quick) -> int:
    """The step's peak resident bytes over the resting state, in a fresh process."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="4096", MALLOC_TRIM_THRESHOLD_="0")
    cmd = [sys.executable, __file__, "--peak", name] + (["--quick"] if quick else [])
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["peak"]


def _status(field) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure_peak(name, quick):
    fns, models = contenders(SIZES["quick" if quick else "full"], only=name)
    fn = fns[name]
    fn()                                   # warm-up: lazy buffers, caches
    for model in models[::2]:              # every contender starts without gradients
        if model is not None:
            model.release()
            if hasattr(model, "torch"):
                model.torch.release()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")                       # reset the high-water mark (VmHWM)
    base = _status("VmRSS:")
    fn()
    print(json.dumps({"peak": _status("VmHWM:") - base}))


def saved_peaks(mlp, x, lstm, xs):
    """Exact peak saved bytes: chainrule's report, NumPy's list, PyTorch's hooks."""
    out = {}
    if mlp is not None:
        for schedule in ("plain", "sqrt"):
            rep = cr.memory.report(lambda v, s=schedule: mlp.loss(v, s), x)
            out[f"mlp/chainrule{'-sqrt' if schedule == 'sqrt' else ''}"] = rep
        out["mlp/numpy"] = x.nbytes * (len(mlp.params) + 1)
        if torch is not None:
            tm = MLPTorch([w.data for w, _ in mlp.params], [b.data for _, b in mlp.params])
            out["mlp/torch"] = _torch_saved(tm.model,
                                            lambda: tm.model(torch.from_numpy(x)).sum())
    if lstm is not None:
        out["lstm/chainrule"] = cr.memory.report(lambda v: cr.sum(lstm.plain(v)[0]), xs)
        out["lstm/chainrule-revolve"] = cr.memory.report(
            lambda v: cr.sum(lstm.revolve(v)[0]), xs)
        if torch is not None:
            tl = LSTMTorch(lstm.plain).model
            out["lstm/torch"] = _torch_saved(tl, lambda: tl(torch.from_numpy(xs))[0].sum())
    return out


def _torch_saved(module, forward) -> int:
    """Bytes of distinct storages PyTorch saves for backward, parameters (and views of
    them, such as a transposed weight) left out."""
    params = {p.untyped_storage().data_ptr() for p in module.parameters()}
    seen = {}

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in params:
            seen[ptr] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        forward()
    return sum(seen.values())


def revolve_figures(lstm, xs):
    """Recomputations, peak states and the memory timeline of one revolve backward."""
    out, _ = lstm.revolve(cr.tensor(xs))
    ops = [t._node.op for t in topological_order([out]) if t._node is not None
           and t._node.op.name.startswith("scan[") and t._node.op.name.endswith(".ys")]
    cr.sum(out).backward()
    return ops[0].stats, revolve.recomputations(xs.shape[0], LSTM["snapshots"])


def plot(path, reports, timeline):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for name, rep in reports:
        work, live = np.array(rep.curve, dtype=float).T
        left.plot(work / work[-1], live / 1e6, label=name)
    left.set(title="1,000-layer tanh MLP", xlabel="progress of the backward sweep",
             ylabel="live saved values (MB)", yscale="log")
    left.legend()
    for name, curve in timeline:
        if isinstance(curve[0], tuple):
            work, live = np.array(curve, dtype=float).T
            work = work / work[-1]
        else:
            live, work = np.array(curve, dtype=float), np.linspace(0, 1, len(curve))
        right.plot(work, live / 1e6, label=name)
    right.set(title="LSTM over 1,000 steps", xlabel="progress of the backward sweep",
              ylabel="live saved values (MB)", yscale="log")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--quick", action="store_true", help="small sizes, to try it out")
    args.add_argument("--peak", help=argparse.SUPPRESS)
    args.add_argument("--rounds", type=int, default=7)
    args.add_argument("--only", default="", choices=("", "mlp", "lstm"),
                      help="one benchmark only (times and saved peaks, no RSS or plot)")
    args.add_argument("--plot", metavar="PNG", help="write the memory-over-the-sweep plot")
    args = args.parse_args()
    if args.peak:
        return measure_peak(args.peak, args.quick)
    size = SIZES["quick" if args.quick else "full"]
    fns, (mlp, x, lstm, xs) = contenders(size, only=args.only)
    ref = {k: fn() for k, fn in fns.items()}   # every contender gets the same gradient
    for k, g in ref.items():
        base = ref[k.split("/")[0] + "/chainrule"]
        assert np.allclose(g, base, rtol=1e-9, atol=1e-12), f"{k} disagrees"
    times = {}
    groups = [g for g in ("mlp", "lstm") if g.startswith(args.only)]
    for group in groups:   # interleaved within a benchmark, one after the other
        times.update(compare({k: f for k, f in fns.items() if k.startswith(group)},
                             repeats=args.rounds, warmup=0, clocks=CLOCKS))
    saved = saved_peaks(mlp, x, lstm, xs)
    rss = {} if args.only else {k: peak_rss_of(k, args.quick) for k in fns}
    rows = []
    for k in fns:
        s = saved.get(k)
        s = s.peak_bytes if hasattr(s, "peak_bytes") else s
        base = times[k.split("/")[0] + "/chainrule"]
        rows.append([k] + [f"{times[k][c] * 1e3:.0f} ({times[k][c] / base[c]:.2f})"
                           for c in CLOCKS]
                    + ["" if s is None else f"{s / 1e6:.1f}",
                       f"{rss[k] / 1e6:.0f}" if k in rss else ""])
    print(f"sizes: {size}; LSTM {LSTM}; medians of {args.rounds} interleaved rounds on a "
          "shared 2-core machine (noisy); ratios to chainrule storing everything")
    print(table(rows, ["contender"] + [f"{c} ms (ratio)" for c in CLOCKS]
                + ["peak saved MB", "peak step RSS MB"]))
    for group, slow in (("mlp", "sqrt"), ("lstm", "revolve")):
        if group in groups:
            t, t_slow = times[f"{group}/chainrule"], times[f"{group}/chainrule-{slow}"]
            print(f"{group}: {slow} / store all: " + ", ".join(
                f"{c} {t_slow[c] / t[c]:.2f}x" for c in CLOCKS))
    if "mlp" in groups:
        p, q = saved["mlp/chainrule"].peak_bytes, saved["mlp/chainrule-sqrt"].peak_bytes
        print(f"mlp: sqrt(n) segments cut peak saved bytes {p / q:.1f}x")
    if "lstm" in groups:
        stats, optimum = revolve_figures(lstm, xs)
        print(f"revolve, n={xs.shape[0]}, s={LSTM['snapshots']}: recomputed steps "
              f"{stats['recomputations']} (optimum {optimum}), peak stored states "
              f"{stats['peak_states']}")
    if args.plot and not args.only:
        plain_lstm = saved["lstm/chainrule"]
        plot(args.plot, [("store every layer", saved["mlp/chainrule"]),
                         ("sqrt(n) segments", saved["mlp/chainrule-sqrt"])],
             [("store every step", plain_lstm.curve),
              (f"revolve, {LSTM['snapshots']} snapshots", stats["timeline"])])
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
