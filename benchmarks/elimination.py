"""Vertex elimination on the AlphaGrad / graphax benchmark functions, in one run.

For each function (benchmarks/elimination_suite.py): the multiplications of forward,
reverse and Markowitz elimination and of the best order found (annealing from the
heuristics within --seconds), under both counting conventions:
  graphax   every product of two nonzero partials counts (the paper's convention),
  chainrule products with a +-1 partial (sums, copies, sign flips) are free.
Then the time to compute the Jacobian: running the best order on the linearized graph,
the whole `cr.jacobian(f, mode="eliminate")` at a point after its first call (tracing f
and evaluating the local partials into the stored structure included), and
`cr.jacfwd` / `cr.jacrev` and torch.func's (the same definitions run on torch's ops,
when torch is installed) on the same function, medians of interleaved rounds.
Run: python benchmarks/elimination.py [--seconds 20] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import chainrule as cr  # noqa: E402
from elimination_suite import suite, torch_ops  # noqa: E402
from timing import compare, table  # noqa: E402

HEURISTICS = ("forward", "reverse", "markowitz")

# The published counts (graphax counting): forward, reverse and Markowitz from AlphaGrad's
# src/alphagrad/alphazero/config/joint.yaml, and the best order AlphaGrad found from the
# "# N mults" notes of its eval/<task>/evaluation_<task>.ipynb (github.com/jamielohoff/
# alphagrad at 64aeec1; PropaneCombustion has no note: the best of its eval/ CSV logs).
PUBLISHED = {
    "RoeFlux_1d": (620, 364, 407, 320), "RoeFlux_3d": (1556, 979, 938, 811),
    "RobotArm_6DOF": (397, 301, 288, 231), "HumanHeartDipole": (240, 172, 194, 148),
    "PropaneCombustion": (151, 90, 111, 88), "Perceptron": (10930, 392, 4796, 389),
    "Encoder": (135010, 4688, 51869, 4656), "f": (17728, 8859, 12083, 6374),
    "g": (632, 566, 451, 417)}


def counts(f, args, argnums, free_units, seconds):
    """{order: multiplications} and the best order found, under one convention."""
    g = cr.elimination.graph(f, *args, argnums=argnums, free_units=free_units)
    found = {h: g.cost(h)[0] for h in HEURISTICS}
    best_order = g.order("best", seconds=seconds)
    found["best"] = g.cost(best_order)[0]
    return g, found, best_order


def timings(f, args, argnums, g, order, repeats, torch_f=None) -> dict:
    """Median milliseconds of each way to the Jacobian, interleaved rounds."""
    end_to_end = cr.jacobian(f, argnums, mode="eliminate")
    end_to_end(*args)   # searches the order once (then cached per shapes)
    fns = {
        "eliminate (run order)": lambda: g.eliminate(order).jacobian,
        "eliminate (end to end)": lambda: end_to_end(*args),
        "jacfwd": lambda: cr.jacfwd(f, argnums)(*args),
        "jacrev": lambda: cr.jacrev(f, argnums)(*args),
    }
    if torch_f is not None:
        import torch
        import torch.func
        targs = tuple(torch.tensor(np.asarray(a, dtype=np.float64)) for a in args)
        reference = torch.func.jacrev(torch_f, argnums=argnums)(*targs)
        for a, b in zip(_leaves(g.eliminate(order).jacobian), _leaves(reference)):
            assert np.allclose(a, b, rtol=0, atol=1e-10), "elimination and torch disagree"
        fns["torch jacfwd"] = lambda: torch.func.jacfwd(torch_f, argnums=argnums)(*targs)
        fns["torch jacrev"] = lambda: torch.func.jacrev(torch_f, argnums=argnums)(*targs)
    t = compare(fns, repeats=repeats)
    return {k: 1e3 * v for k, v in t.items()}


def _leaves(tree):
    if isinstance(tree, (tuple, list)):
        return [leaf for t in tree for leaf in _leaves(t)]
    return [tree.detach().numpy() if hasattr(tree, "detach") else np.asarray(tree.data)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20.0, help="search budget per function")
    p.add_argument("--repeats", type=int, default=31)
    p.add_argument("--only", nargs="*", default=None)
    opts = p.parse_args(argv)
    try:
        import torch
        torch.set_num_threads(1)
        torch_suite = suite(ops=torch_ops())
    except ImportError:
        print("no torch (pip install torch==2.13.0): its columns are left out", file=sys.stderr)
        torch_suite = {}
    count_rows, time_rows = [], []
    for name, (f, args, argnums) in suite().items():
        if opts.only and name not in opts.only:
            continue
        g, graphax, _ = counts(f, args, argnums, False, opts.seconds)
        g_free, free, best_free = counts(f, args, argnums, True, opts.seconds)
        baseline = min(graphax[h] for h in HEURISTICS)
        baseline_free = min(free[h] for h in HEURISTICS)
        paper = PUBLISHED.get(name)
        published = ["", "", ""] if paper is None else [
            "/".join(map(str, paper[:3])), paper[3], f"{1 - paper[3] / min(paper[:3]):.1%}"]
        count_rows.append([
            name, len(g.intermediates), *(graphax[h] for h in HEURISTICS), graphax["best"],
            f"{1 - graphax['best'] / baseline:.1%}", *published,
            *(free[h] for h in HEURISTICS), free["best"],
            f"{1 - free['best'] / baseline_free:.1%}"])
        # the eliminated Jacobian agrees with both sweeps, then the clocks
        elimination = g_free.eliminate(best_free)
        reference = cr.jacrev(f, argnums)(*args)
        if not all(np.isfinite(leaf).all() for leaf in _leaves(reference)):
            print(f"{name}: its Jacobian is not finite at this point: counted, not timed",
                  file=sys.stderr)
            continue
        for a, b in zip(_leaves(elimination.jacobian), _leaves(reference)):
            assert np.allclose(a, b, rtol=0, atol=1e-10), f"{name}: elimination disagrees"
        torch_f = torch_suite[name][0] if torch_suite else None
        ms = timings(f, args, argnums, g_free, best_free, opts.repeats, torch_f)
        end_to_end = ms["eliminate (end to end)"]
        row = [name, *(f"{v:.2f}" for v in ms.values()),
               f"{end_to_end / min(ms['jacfwd'], ms['jacrev']):.2f}"]
        if torch_f is not None:
            row.append(f"{end_to_end / min(ms['torch jacfwd'], ms['torch jacrev']):.2f}")
        time_rows.append(row)
        print(f"{name}: done", file=sys.stderr, flush=True)
    print("Multiplications (graphax counting | chainrule counting), best = annealing "
          f"from the heuristics for {opts.seconds:g} s:\n")
    print(table(count_rows, [
        "function", "intermediates", "fwd", "rev", "Markowitz", "best found", "saved",
        "published fwd/rev/Markowitz", "AlphaGrad", "AlphaGrad saved", "fwd (cr)", "rev (cr)",
        "Markowitz (cr)", "best (cr)", "saved (cr)"]))
    print("\nJacobian time, median ms (shared 2-core machine: +-10 % noise):\n")
    headers = ["function", "eliminate: run best order", "cr.jacobian(mode='eliminate')",
               "cr.jacfwd", "cr.jacrev"]
    if torch_suite:
        headers += ["torch.func.jacfwd", "torch.func.jacrev"]
    headers.append("end to end / best cr sweep")
    if torch_suite:
        headers.append("end to end / best torch")
    print(table(time_rows, headers))


if __name__ == "__main__":
    main()
