"""cr.jit benchmarks, side by side in one run: eager chainrule, cr.jit, hand-written NumPy,
PyTorch eager and torch.compile (where it runs). Medians of interleaved rounds; the machine
is shared, so figures are noisy. Every compiled result is checked against eager (float64).

(1) 1,000 elementwise ops on 16 floats, fwd+bwd          target: jit <= 1.2x hand NumPy
(2) scalar MLP 2-16-16-1, 32 samples one by one, fwd+bwd  target: jit >= 20x faster than eager
(3) diamond y = sin(y) + cos(y), depth 2,000, gradient   target: <= 1 us/layer, compile < 1 s
(4) MLP 784-512-512-10 training step, batch 128, float32  target: jit <= 1.0x hand NumPy
(5) 200 elementwise ops on 16,384 float64, value_and_grad target: numba backend <= 0.5x NumPy
(6) compile time (trace + simplify + codegen) at 1k, 10k, 100k nodes: linear
(7) `chainrule train` epochs with and without --jit (mlp, cnn, rnn, transformer): same
    final accuracy (the weights are bitwise equal), epoch time
Run: python benchmarks/jit.py [--quick]
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
# benchmarks/coverage.py would shadow the `coverage` module numba imports: import numba first.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
try:
    import numba  # noqa: F401
except ImportError:
    pass
sys.path.insert(0, _HERE)
import chainrule as cr  # noqa: E402
from run import chain, chain_numpy  # noqa: E402
from timing import compare, table  # noqa: E402

try:
    import torch
    torch.set_num_threads(1)
except ImportError:  # the bench extra is optional
    torch = None

QUICK = "--quick" in sys.argv
REPEATS = 5 if QUICK else 25
rows = []


def check(got, want, what):
    """Compiled against eager, 1e-12 relative (float64)."""
    for g, w in zip(np.atleast_1d(np.asarray(got, dtype=object)),
                    np.atleast_1d(np.asarray(want, dtype=object))):
        np.testing.assert_allclose(np.asarray(g, float), np.asarray(w, float), rtol=1e-12,
                                   atol=1e-12, err_msg=what)


def torch_compiled(fn):
    """torch.compile(fn) if it works on this machine, else the reason it does not."""
    if torch is None:
        return None, "torch not installed"
    try:
        compiled = torch.compile(fn)
        return compiled, None
    except Exception as err:  # noqa: BLE001 - report whatever stops it
        return None, f"{type(err).__name__}: {str(err).splitlines()[0][:80]}"


def row(name, t, base="numpy", target=""):
    cells = [name] + [f"{t[k] * 1e3:.3f}" if k in t else "-" for k in
                      ("numpy", "eager", "jit", "numba", "torch", "torch.compile")]
    ratio = t.get("numba", t["jit"]) / t[base]
    cells += [f"{ratio:.2f}x {base}", f"{t['eager'] / t['jit']:.1f}x", target]
    rows.append(cells)


def timed_first_call(fn, *args):
    """(result, wall seconds, CPU seconds): on a loaded machine the CPU time is the figure
    that does not depend on how many other processes share the cores."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - t0, time.process_time() - c0


# ----- (1) elementwise chain ----------------------------------------------------------------

def bench_chain():
    x0 = np.linspace(-1, 1, 16)
    grad = cr.grad(lambda x: cr.sum(chain(cr, x)))
    jitted = cr.jit(grad)
    check(jitted(x0).data, grad(x0).data, "chain")
    fns = {"numpy": lambda: chain_numpy(x0), "eager": lambda: grad(x0),
           "jit": lambda: jitted(x0)}
    tc = None
    if torch is not None:
        def torch_grad(x):
            x = x.detach().requires_grad_()
            chain(torch, x).sum().backward()
            return x.grad
        xt = torch.tensor(x0)
        fns["torch"] = lambda: torch_grad(xt)
        compiled, why = torch_compiled(lambda x: chain(torch, x).sum())
        if compiled is not None:
            def run_compiled():
                x = xt.detach().requires_grad_()
                compiled(x).backward()
                return x.grad
            try:
                run_compiled()
                fns["torch.compile"] = run_compiled
            except Exception as err:  # noqa: BLE001
                tc = f"{type(err).__name__}: {str(err).splitlines()[0][:100]}"
        else:
            tc = why
    row("(1) 1,000 elementwise ops x 16 floats, fwd+bwd", compare(fns, REPEATS),
        target="<= 1.2x numpy")
    return tc


# ----- (2) scalar MLP ------------------------------------------------------------------------

def scalar_mlp_setup(seed=0):
    rng = np.random.default_rng(seed)
    sizes = [2, 16, 16, 1]
    params = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        params += [rng.uniform(-1, 1) for _ in range(i * o + o)]
    xs = rng.standard_normal((32, 2))
    ys = rng.standard_normal(32)
    return sizes, [np.float64(p) for p in params], xs, ys


def scalar_mlp_loss(sizes, xs, ys):
    """micrograd's MLP: every weight a 0-d tensor, samples fed one at a time, tanh units."""
    def loss(*params):
        total = 0.0
        for x, y in zip(xs, ys):
            acts, k = [x[0], x[1]], 0
            for layer, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
                out = []
                for _ in range(o):
                    s = params[k + i]
                    for j in range(i):
                        s = s + params[k + j] * acts[j]
                    k += i + 1
                    out.append(cr.tanh(s) if layer < len(sizes) - 2 else s)
                acts = out
            total = total + (acts[0] - y) ** 2
        return total
    return loss


def bench_scalar_mlp():
    sizes, params, xs, ys = scalar_mlp_setup()
    loss = scalar_mlp_loss(sizes, xs, ys)
    grad = cr.grad(loss, argnums=tuple(range(len(params))))
    jitted = cr.jit(grad)
    check([g.data for g in jitted(*params)], [g.data for g in grad(*params)], "scalar mlp")
    lowered = jitted.lower(*params)
    t = compare({"eager": lambda: grad(*params), "jit": lambda: jitted(*params)},
                max(3, REPEATS // 5))
    t["numpy"] = t["jit"]   # no hand-NumPy version: the ratio column is against itself
    row(f"(2) scalar MLP 2-16-16-1 x 32 ({lowered.nodes} nodes)", t, base="numpy",
        target=">= 20x faster than eager")
    return t["eager"] / t["jit"]


# ----- (3) diamond -----------------------------------------------------------------------------

def diamond(y, depth=2000):
    for _ in range(depth):
        y = cr.sin(y) + cr.cos(y)
    return y


def diamond_numpy(y0, depth=2000):
    ys = [y0]
    y = y0
    for _ in range(depth):
        y = np.sin(y) + np.cos(y)
        ys.append(y)
    g = 1.0
    for y in reversed(ys[:-1]):
        g = g * (np.cos(y) - np.sin(y))
    return g


def bench_diamond():
    x0 = np.float64(0.3)
    grad = cr.grad(diamond)
    jitted = cr.jit(grad)
    _, compile_s, compile_cpu = timed_first_call(jitted, x0)
    check(jitted(x0).data, grad(x0).data, "diamond")
    check(jitted(x0).data, diamond_numpy(0.3), "diamond vs numpy")
    t = compare({"numpy": lambda: diamond_numpy(0.3), "eager": lambda: grad(x0),
                 "jit": lambda: jitted(x0)}, max(3, REPEATS // 3))
    row(f"(3) diamond depth 2,000 (compile {compile_s:.2f} s wall, {compile_cpu:.2f} s CPU, "
        f"{t['jit'] / 2000 * 1e6:.2f} us/layer)", t, target="<= 1 us/layer, compile < 1 s")
    return compile_s, compile_cpu, t["jit"] / 2000


# ----- (4) MLP training step -------------------------------------------------------------------

def mlp_setup(dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    sizes = [784, 512, 512, 10]
    params = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        params += [(rng.standard_normal((i, o)) / np.sqrt(i)).astype(dtype), np.zeros(o, dtype)]
    x = rng.standard_normal((128, 784)).astype(dtype)
    Y = np.eye(10, dtype=dtype)[rng.integers(0, 10, 128)]
    return params, x, Y


LR = 0.01


def mlp_loss(x, Y, *params):
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i < len(params) - 2:
            h = cr.maximum(h, 0)
    logp = cr.log_softmax(h)
    return -(Y * logp).sum() / x.shape[0]


def mlp_step(params, x, Y):
    argnums = tuple(range(2, 2 + len(params)))
    loss, grads = cr.value_and_grad(mlp_loss, argnums=argnums)(x, Y, *params)
    return [p - LR * g for p, g in zip(params, grads)], loss


def mlp_step_numpy(params, x, Y):
    acts, h = [x], x
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i < len(params) - 2:
            h = np.maximum(h, 0)
        acts.append(h)
    shifted = h - h.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -(Y * logp).sum() / x.shape[0]
    g = (np.exp(logp) * Y.sum(axis=1, keepdims=True) - Y) / x.shape[0]
    new = list(params)
    for i in range(len(params) - 2, -1, -2):
        gw, gb = acts[i // 2].T @ g, g.sum(axis=0)
        if i > 0:
            g = (g @ params[i].T) * (acts[i // 2] > 0)
        new[i], new[i + 1] = params[i] - LR * gw, params[i + 1] - LR * gb
    return new, loss


def bench_mlp_step():
    p64, x64, Y64 = mlp_setup(np.float64)
    jitted = cr.jit(mlp_step)
    (new, loss), (e_new, e_loss) = jitted(p64, x64, Y64), mlp_step([cr.tensor(p) for p in p64],
                                                                     cr.tensor(x64), Y64)
    check([n.data for n in new] + [loss.data], [n.data for n in e_new] + [e_loss.data], "mlp")
    n_new, n_loss = mlp_step_numpy(p64, x64, Y64)
    check([n.data for n in new], n_new, "mlp vs numpy")
    params, x, Y = mlp_setup(np.float32)
    tensors = [cr.tensor(p) for p in params]
    fns = {"numpy": lambda: mlp_step_numpy(params, x, Y),
           "eager": lambda: mlp_step(tensors, cr.tensor(x), Y),
           "jit": lambda: jitted(params, x, Y)}
    if torch is not None:
        tp = [torch.tensor(p) for p in params]
        xt, Yt = torch.tensor(x), torch.tensor(Y)

        def torch_step():
            ps = [p.detach().requires_grad_() for p in tp]
            h = xt
            for i in range(0, len(ps), 2):
                h = h @ ps[i] + ps[i + 1]
                if i < len(ps) - 2:
                    h = torch.maximum(h, torch.zeros((), dtype=h.dtype))
            loss = -(Yt * torch.log_softmax(h, 1)).sum() / xt.shape[0]
            loss.backward()
            with torch.no_grad():
                return [p - LR * p.grad for p in ps], loss
        fns["torch"] = torch_step
    row("(4) MLP 784-512-512-10 step, batch 128, float32", compare(fns, REPEATS),
        target="<= 1.0x numpy")


# ----- (5) numba fusion ------------------------------------------------------------------------

def long_chain(x):
    for _ in range(50):
        x = cr.tanh(cr.sin(x) * 1.001) + 0.1
    return cr.sum(x)


def long_chain_numpy(x):
    saved, y = [], x
    for _ in range(50):
        s = np.sin(y)
        t = np.tanh(s * 1.001)
        saved.append((y, t))
        y = t + 0.1
    value, g = y.sum(), np.ones_like(x)
    for y_in, t in reversed(saved):
        g = g * (1 - t * t) * 1.001 * np.cos(y_in)
    return value, g


def affine_chain(x):
    for _ in range(100):
        x = x * 0.999 + 0.001
    return cr.sum(x * x)


def affine_chain_numpy(x):
    y = x
    for _ in range(100):
        y = y * 0.999 + 0.001
    g = 2 * y
    for _ in range(100):
        g = g * 0.999
    return (y * y).sum(), g


def bench_numba():
    bench_fused("(5) 200 elementwise ops (sin, tanh) x 16,384, value_and_grad", long_chain,
                long_chain_numpy)
    bench_fused("(5b) 200 arithmetic ops (x * a + b) x 16,384, value_and_grad", affine_chain,
                affine_chain_numpy)


def bench_fused(label, fn, hand):
    x0 = np.linspace(-1, 1, 16384)
    vg = cr.value_and_grad(fn)
    jitted = cr.jit(vg)
    v, g = vg(x0)
    check([jitted(x0)[0].data, jitted(x0)[1].data], [v.data, g.data], label)
    check(list(hand(x0)), [v.data, g.data], label + " by hand")
    fns = {"numpy": lambda: hand(x0), "eager": lambda: vg(x0), "jit": lambda: jitted(x0)}
    note = ""
    try:
        fused = cr.jit(vg, backend="numba")
        _, compile_s, _ = timed_first_call(fused, x0)
        check([fused(x0)[0].data, fused(x0)[1].data], [v.data, g.data], label + " numba")
        fns["numba"] = lambda: fused(x0)
        note = f" (numba compile {compile_s:.1f} s)"
    except ImportError as err:
        note = f" (numba backend unavailable: {err})"
    row(label + note, compare(fns, REPEATS), target="numba <= 0.5x numpy")


# ----- (6) compile time --------------------------------------------------------------------------

def bench_compile_time():
    out = []
    for n in (1_000, 10_000, 100_000):
        def f(x, n=n):
            for _ in range(n // 2):
                x = cr.sin(x) * 1.5
            return x
        t0, c0 = time.perf_counter(), time.process_time()
        lowered = cr.jit(f).lower(np.linspace(0, 1, 4))
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
        check(cr.jit(f)(np.linspace(0, 1, 4)).data, f(cr.tensor(np.linspace(0, 1, 4))).data,
              "compile chain")
        s = lowered.seconds
        out.append([f"{lowered.nodes_traced:,}", f"{s['trace']:.3f}", f"{s['simplify']:.3f}",
                    f"{s['codegen']:.3f}", f"{total:.3f}", f"{cpu:.3f}",
                    f"{cpu / n * 1e6:.1f}"])
    return out


# ----- (7) training epochs ---------------------------------------------------------------------

def bench_training():
    """Each model trained for a few epochs eagerly and with --jit at seed 0: the median
    epoch after the first (which pays the trace and compile) and the final accuracy."""
    from chainrule.train import Recipe
    epochs = 2 if QUICK else 4
    out = []
    for model in ("mlp", "cnn", "rnn", "transformer"):
        runs = {}
        for jit in (False, True):
            recipe = Recipe(model=model, epochs=epochs, seed=0, jit=jit)
            history = recipe.run()
            runs[jit] = (history, [p.data.copy() for p in recipe.model.parameters()])
        (eager, w_eager), (jitted, w_jit) = runs[False], runs[True]
        same = all(np.array_equal(a, b) for a, b in zip(w_eager, w_jit))
        assert eager[-1]["test_accuracy"] == jitted[-1]["test_accuracy"], model
        e = float(np.median([h["seconds"] for h in eager[1:]]))
        j = float(np.median([h["seconds"] for h in jitted[1:]]))
        out.append([model, f"{e:.3f}", f"{j:.3f}", f"{e / j:.2f}x",
                    f"{jitted[0]['seconds']:.2f}", f"{eager[-1]['test_accuracy']:.4f}",
                    f"{jitted[-1]['test_accuracy']:.4f}", "bitwise equal" if same else "DIFFER"])
    return out


def main():
    print(f"numpy {np.__version__}, torch {torch.__version__ if torch else 'absent'}; "
          "1 torch thread, 1 BLAS thread; medians of interleaved rounds (shared machine: noisy)")
    tc = bench_chain()
    speedup = bench_scalar_mlp()
    compile_s, compile_cpu, per_layer = bench_diamond()
    bench_mlp_step()
    bench_numba()
    print(table(rows, ["benchmark", "numpy ms", "eager ms", "jit ms", "numba ms", "torch ms",
                       "torch.compile ms", "ratio", "jit vs eager", "target"]))
    if tc:
        print(f"\ntorch.compile: not timed ({tc})")
    print(f"\nscalar MLP: jit {speedup:.1f}x faster than eager; diamond: "
          f"{per_layer * 1e6:.2f} us/layer, first call (trace+compile+run) {compile_s:.2f} s "
          f"wall, {compile_cpu:.2f} s CPU")
    print("\ncompile time (wall s per phase; total wall and CPU):")
    print(table(bench_compile_time(), ["nodes", "trace s", "simplify s", "codegen s",
                                       "total s", "CPU s", "CPU us/node"]))
    print("\n`chainrule train` epochs, eager and --jit (same seed):")
    print(table(bench_training(), ["model", "eager s/epoch", "jit s/epoch", "speed-up",
                                   "jit 1st epoch s", "test accuracy eager", "test accuracy jit",
                                   "weights"]))


if __name__ == "__main__":
    from chainrule.train import single_threaded_blas
    with single_threaded_blas():   # one BLAS thread, as torch gets one thread
        main()
