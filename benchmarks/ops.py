"""Per-primitive speed: chainrule fwd+bwd and fwd+JVP against hand NumPy and PyTorch CPU.

For each primitive and size (0-d, 1e3, 1e6 elements; matrices of matching size), one
thread, medians of interleaved rounds. The NumPy floor is the forward pass plus the
derivative products written by hand (the same floor serves the JVP column: for unary
elementwise ops the work is identical). Run: python benchmarks/ops.py [--rounds N] [--only a,b]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import chainrule as cr  # noqa: E402
from timing import compare, table  # noqa: E402

try:
    import torch
    torch.set_num_threads(1)
except ImportError:  # the bench extra is optional
    torch = None

SIZES = {"0-d": (), "1e3": (1000,), "1e6": (1000, 1000)}

# name: (chainrule fn, numpy forward, numpy derivative d(x, y), torch fn, input sampler)
_std = lambda rng, s: rng.standard_normal(s)  # noqa: E731
_pos = lambda rng, s: rng.uniform(0.5, 2.0, s)  # noqa: E731
_unit = lambda rng, s: rng.uniform(-0.9, 0.9, s)  # noqa: E731
_t = (lambda name: (lambda *a: getattr(torch, name)(*a))) if torch else (lambda name: None)

UNARY = {
    "negative": (lambda x: -x, np.negative, lambda x, y: -1.0, _t("neg"), _std),
    "square": (cr.square, np.square, lambda x, y: 2.0 * x, _t("square"), _std),
    "sqrt": (cr.sqrt, np.sqrt, lambda x, y: 0.5 / y, _t("sqrt"), _pos),
    "abs": (cr.abs, np.abs, lambda x, y: np.sign(x), _t("abs"), _std),
    "exp": (cr.exp, np.exp, lambda x, y: y, _t("exp"), _std),
    "expm1": (cr.expm1, np.expm1, lambda x, y: y + 1.0, _t("expm1"), _std),
    "log": (cr.log, np.log, lambda x, y: 1.0 / x, _t("log"), _pos),
    "log1p": (cr.log1p, np.log1p, lambda x, y: 1.0 / (1.0 + x), _t("log1p"), _pos),
    "sin": (cr.sin, np.sin, lambda x, y: np.cos(x), _t("sin"), _std),
    "cos": (cr.cos, np.cos, lambda x, y: -np.sin(x), _t("cos"), _std),
    "tan": (cr.tan, np.tan, lambda x, y: 1.0 + y * y, _t("tan"), _unit),
    "arcsin": (cr.arcsin, np.arcsin, lambda x, y: 1.0 / np.sqrt(1.0 - x * x), _t("asin"), _unit),
    "arccos": (cr.arccos, np.arccos, lambda x, y: -1.0 / np.sqrt(1.0 - x * x), _t("acos"), _unit),
    "arctan": (cr.arctan, np.arctan, lambda x, y: 1.0 / (1.0 + x * x), _t("atan"), _std),
    "sinh": (cr.sinh, np.sinh, lambda x, y: np.cosh(x), _t("sinh"), _std),
    "cosh": (cr.cosh, np.cosh, lambda x, y: np.sinh(x), _t("cosh"), _std),
    "tanh": (cr.tanh, np.tanh, lambda x, y: 1.0 - y * y, _t("tanh"), _std),
    "sigmoid": (cr.sigmoid, lambda x: 1.0 / (1.0 + np.exp(-x)), lambda x, y: y * (1.0 - y),
                _t("sigmoid"), _std),
    "relu": (cr.relu, lambda x: np.maximum(x, 0.0), lambda x, y: x > 0, _t("relu"), _std),
    "softplus": (cr.softplus, lambda x: np.logaddexp(0.0, x), lambda x, y: 1.0 / (1.0 + np.exp(-x)),
                 (lambda x: torch.nn.functional.softplus(x)) if torch else None, _std),
    "power (x**3)": (lambda x: x ** 3, lambda x: x ** 3, lambda x, y: 3.0 * x * x,
                     (lambda x: x ** 3), _std),
}

# name: (chainrule fn, numpy forward, numpy (dx, dy) given (x, y, out), torch fn, sampler)
BINARY = {
    "add": (lambda x, y: x + y, np.add, lambda x, y, o: (1.0, 1.0), lambda x, y: x + y, _std),
    "subtract": (lambda x, y: x - y, np.subtract, lambda x, y, o: (1.0, -1.0),
                 lambda x, y: x - y, _std),
    "multiply": (lambda x, y: x * y, np.multiply, lambda x, y, o: (y, x), lambda x, y: x * y, _std),
    "divide": (lambda x, y: x / y, np.divide, lambda x, y, o: (1.0 / y, -o / y),
               lambda x, y: x / y, _pos),
    "power": (lambda x, y: x ** y, np.power, lambda x, y, o: (y * o / x, o * np.log(x)),
              lambda x, y: x ** y, _pos),
    "maximum": (cr.maximum, np.maximum, lambda x, y, o: (x > y, x <= y),
                _t("maximum"), _std),
    "minimum": (cr.minimum, np.minimum, lambda x, y, o: (x < y, x >= y),
                _t("minimum"), _std),
    "arctan2": (cr.arctan2, np.arctan2,
                lambda x, y, o: (y / (x * x + y * y), -x / (x * x + y * y)),
                _t("atan2"), _std),
}


def _cr_fwd_bwd(fn, xs, seed):
    """Leaves made once outside the timed region (cr.tensor copies, torch.from_numpy does not)."""
    for x in xs:
        x.grad = None
    fn(*xs).backward(seed)
    return [x.grad.data for x in xs]


def _cr_fwd_jvp(fn, arrays, tangents):
    return cr.jvp(fn, arrays, tangents)[1].data


def _torch_fwd_bwd(fn, arrays, seed):
    xs = [torch.from_numpy(a).requires_grad_() for a in arrays]
    fn(*xs).backward(torch.from_numpy(seed))
    return [x.grad.numpy() for x in xs]


def _np_unary(fwd, deriv, x, g):
    y = fwd(x)
    return [g * deriv(x, y)]


def _np_binary(fwd, deriv, x, y, g):
    o = fwd(x, y)
    dx, dy = deriv(x, y, o)
    return [g * dx, g * dy]


def cases(rng, shape):
    """(name, chainrule fn, numpy fwd+bwd, torch fn, inputs, seed) for every benchmarked op."""
    out = []
    for name, (crf, fwd, d, tf, sample) in UNARY.items():
        x = np.asarray(sample(rng, shape))
        out.append((name, crf, lambda x, g, fwd=fwd, d=d: _np_unary(fwd, d, x, g), tf, [x]))
    for name, (crf, fwd, d, tf, sample) in BINARY.items():
        x, y = np.asarray(sample(rng, shape)), np.asarray(sample(rng, shape))
        out.append((name, crf, lambda x, y, g, fwd=fwd, d=d: _np_binary(fwd, d, x, y, g), tf,
                    [x, y]))
    out += _reductions(rng, shape)
    return out


def _reductions(rng, shape):
    x = np.asarray(rng.standard_normal(shape))
    rows = []
    rows.append(("sum", lambda t: t.sum(), lambda x, g: [np.broadcast_to(g, x.shape).copy()],
                 (lambda t: t.sum()), [x]))
    rows.append(("max", lambda t: t.max(), lambda x, g: [(x == x.max()) * g],
                 (lambda t: t.max()), [x]))
    rows.append(("prod (of 1+x/n)", lambda t: t.prod(), lambda x, g: [g * x.prod() / x],
                 (lambda t: t.prod()), [1.0 + x / max(x.size, 1)]))
    if x.ndim:
        rows.append(("cumsum", lambda t: t.cumsum(axis=-1),
                     lambda x, g: [np.flip(np.cumsum(np.flip(g, -1), -1), -1)],
                     (lambda t: t.cumsum(-1)), [x]))
    if x.ndim == 2:
        y = np.asarray(rng.standard_normal(shape))
        rows.append(("matmul", lambda a, b: a @ b, lambda a, b, g: [g @ b.T, a.T @ g],
                     (lambda a, b: a @ b), [x, y]))
    return rows


def _seed_for(crf, inputs):
    return np.ones_like(np.asarray(crf(*[cr.tensor(a) for a in inputs]).data))


def time_op(name, crf, npf, tf, inputs, rounds):
    """Check chainrule's gradient against the hand-written one, then time all contenders."""
    seed = _seed_for(crf, inputs).astype(inputs[0].dtype)
    tangents = [np.ones_like(a) for a in inputs]
    leaves = [cr.tensor(a, requires_grad=True) for a in inputs]
    cr_seed = cr.tensor(seed)
    for want, got in zip(npf(*inputs, seed), _cr_fwd_bwd(crf, leaves, cr_seed)):
        np.testing.assert_allclose(got, np.broadcast_to(want, got.shape), rtol=1e-5, atol=1e-6,
                                   err_msg=name)
    fns = {"numpy": lambda: npf(*inputs, seed),
           "cr": lambda: _cr_fwd_bwd(crf, leaves, cr_seed),
           "cr_jvp": lambda: _cr_fwd_jvp(crf, inputs, tangents)}
    if torch is not None and tf is not None:
        fns["torch"] = lambda: _torch_fwd_bwd(tf, inputs, seed)
    return {k: v * 1e6 for k, v in compare(fns, repeats=rounds, warmup=2).items()}


def run(rounds, only, dtype):
    rng = np.random.default_rng(0)
    rows = []
    for label, shape in SIZES.items():
        for name, crf, npf, tf, inputs in cases(rng, shape):
            if only and name.split()[0] not in only:
                continue
            inputs = [np.asarray(a, dtype=dtype) for a in inputs]
            n = rounds if shape != (1000, 1000) else max(5, rounds // 4)
            us = time_op(f"{name} {label}", crf, npf, tf, inputs, n)
            torch_us = us.get("torch")
            rows.append((name, label, f"{us['numpy']:.1f}", f"{us['cr']:.1f}",
                         f"{us['cr_jvp']:.1f}", f"{torch_us:.1f}" if torch_us else "",
                         f"{us['cr'] / us['numpy']:.2f}", f"{us['cr_jvp'] / us['numpy']:.2f}",
                         f"{us['cr'] / torch_us:.2f}" if torch_us else ""))
            print(" | ".join(rows[-1]), flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--only", default="", help="comma-separated op names")
    parser.add_argument("--dtype", default="float64")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):
        rows = run(args.rounds, set(filter(None, args.only.split(","))), np.dtype(args.dtype))
    print()
    print(table(rows, ["op", "size", "NumPy µs", "cr fwd+bwd µs", "cr fwd+JVP µs",
                       "torch fwd+bwd µs", "cr/NumPy", "JVP/NumPy", "cr/torch"]))
    slow = [r for r in rows if (r[1] == "1e6" and float(r[6]) > 1.3)
            or (r[1] == "1e3" and float(r[6]) > 2.0)]
    print(f"\n{len(slow)} of {len(rows)} rows miss the target (1.3x at 1e6, 2x at 1e3):",
          ", ".join(f"{r[0]}@{r[1]}" for r in slow) or "none")


if __name__ == "__main__":
    main()
