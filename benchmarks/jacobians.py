"""Jacobians and Hessian-vector products: chainrule vs torch.func, in one run.

f(x) = tanh(A @ tanh(B @ x)) with a hidden layer of 200, for R^1000 -> R^10 (reverse mode
should win), R^10 -> R^1000 (forward should win) and R^300 -> R^300. Each chainrule mode
is compared with the same torch.func mode, and `cr.jacobian`'s pick is checked against the
faster of chainrule's two modes. Then the HVP of g(x) = sum(tanh(A @ tanh(B @ x))), x in
R^1000, forward-over-reverse, against torch.func.jvp of torch.func.grad, and against one
gradient. Everything runs on one thread (BLAS and torch) in float64.
Run: python benchmarks/jacobians.py   (needs the bench extra: torch==2.13.0).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import torch  # noqa: E402
import torch.func  # noqa: E402

import chainrule as cr  # noqa: E402
from timing import compare, table  # noqa: E402

torch.set_num_threads(1)
HIDDEN = 200
CASES = [(1000, 10), (10, 1000), (300, 300)]


def _weights(n, m, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((m, HIDDEN)) / np.sqrt(HIDDEN),
            rng.standard_normal((HIDDEN, n)) / np.sqrt(n), rng.standard_normal(n))


def _both(A, B):
    """The same f in chainrule and in torch."""
    cA, cB = cr.tensor(A), cr.tensor(B)
    tA, tB = torch.tensor(A), torch.tensor(B)
    return (lambda x: cr.tanh(cA @ cr.tanh(cB @ x)),
            lambda x: torch.tanh(tA @ torch.tanh(tB @ x)))


def jacobian_row(n, m, repeats):
    A, B, x = _weights(n, m)
    f_cr, f_t = _both(A, B)
    xt = torch.tensor(x)
    jac_auto = cr.jacobian(f_cr)
    ref = torch.func.jacrev(f_t)(xt).numpy()
    for fn in (cr.jacfwd(f_cr), cr.jacrev(f_cr), jac_auto):
        assert np.allclose(fn(x).data, ref, atol=1e-10), "chainrule and torch disagree"
    t = compare({
        "cr fwd": lambda: cr.jacfwd(f_cr)(x), "cr rev": lambda: cr.jacrev(f_cr)(x),
        "cr auto": lambda: jac_auto(x),
        "torch fwd": lambda: torch.func.jacfwd(f_t)(xt),
        "torch rev": lambda: torch.func.jacrev(f_t)(xt)}, repeats=repeats)
    pick = jac_auto.choose_mode(x)
    picked, other = t["cr " + pick], t["cr rev" if pick == "fwd" else "cr fwd"]
    verdict = "yes" if picked <= other else "tie (<5%)" if picked <= 1.05 * other else "NO"
    ms = {k: f"{v * 1e3:.2f}" for k, v in t.items()}
    return (f"R^{n} -> R^{m}", ms["cr fwd"], ms["torch fwd"],
            f"{t['cr fwd'] / t['torch fwd']:.2f}", ms["cr rev"], ms["torch rev"],
            f"{t['cr rev'] / t['torch rev']:.2f}", f"{pick} ({ms['cr auto']})", verdict)


def hvp_rows(repeats, n=1000):
    A, B, x = _weights(n, 10, seed=1)
    v = np.random.default_rng(2).standard_normal(n)
    f_cr, f_t = _both(A, B)
    g_cr = lambda z: f_cr(z).sum()  # noqa: E731
    g_t = lambda z: f_t(z).sum()  # noqa: E731
    xt, vt = torch.tensor(x), torch.tensor(v)
    hvp_t = lambda: torch.func.jvp(torch.func.grad(g_t), (xt,), (vt,))[1]  # noqa: E731
    assert np.allclose(cr.hvp(g_cr, (x,), (v,)).data, hvp_t().numpy(), atol=1e-10)
    t = compare({"cr hvp": lambda: cr.hvp(g_cr, (x,), (v,)), "torch hvp": hvp_t,
                 "cr grad": lambda: cr.grad(g_cr)(x),
                 "torch grad": lambda: torch.func.grad(g_t)(xt)}, repeats=repeats)
    t_hess = compare({"cr hessian": lambda: cr.hessian(g_cr)(x)}, repeats=3, warmup=1)
    ms = lambda k: f"{t[k] * 1e3:.2f}"  # noqa: E731
    return [
        ("HVP (fwd-over-rev)", ms("cr hvp"), ms("torch hvp"),
         f"{t['cr hvp'] / t['torch hvp']:.2f}", f"{t['cr hvp'] / t['cr grad']:.2f}"),
        ("one gradient", ms("cr grad"), ms("torch grad"),
         f"{t['cr grad'] / t['torch grad']:.2f}", "1.00"),
        ("full Hessian (for scale)", f"{t_hess['cr hessian'] * 1e3:.1f}", "", "",
         f"{t_hess['cr hessian'] / t['cr grad']:.0f}"),
    ]


def main(repeats=30):
    print(f"Jacobians of f(x) = tanh(A @ tanh(B @ x)), hidden {HIDDEN}, float64, 1 thread; "
          "median ms\n")
    print(table([jacobian_row(n, m, repeats) for n, m in CASES], [
        "f", "cr jacfwd", "torch jacfwd", "ratio", "cr jacrev", "torch jacrev", "ratio",
        "cr.jacobian picks (ms)", "pick is faster"]))
    print("\nHVP of g(x) = sum(tanh(A @ tanh(B @ x))), x in R^1000; median ms\n")
    print(table(hvp_rows(repeats), ["", "chainrule", "torch.func", "ratio",
                                    "chainrule / its gradient"]))


if __name__ == "__main__":
    main()
