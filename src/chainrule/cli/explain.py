"""`chainrule explain`: show backpropagation working on a small program, or chain costs."""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from ..files import write_text
from .errors import CommandError
from .explain_sources import FUNCTION_REF, function_graph, model_graph, model_summary

EXAMPLES = """\
examples:
  chainrule explain "(a+b)*(b+1)" --at a=2 b=1
  chainrule explain "c = a + b; d = b + 1; e = c * d" --at a=2 b=1 --wrt b --html colah.html
  chainrule explain "x * y" --at x=2 y=-6 --json
  chainrule explain --chain 784,256,256,10,1
  chainrule explain mycode.py:loss --at w=0.5 x=1,2,3 --html loss.html
  chainrule explain --model runs/mlp --image 3 --html mlp.html --svg mlp.svg
  chainrule explain --eliminate "c = a * b; d = sin(c); e = d * a + c" --at a=2 b=3
  chainrule explain --memory mlp --batch 64 --memory-budget 1MB
  chainrule explain "sin(x) * y" --at x=1 y=2 --symbolic   # and the derivative program

A program is statements `name = expression` separated by ';' or newlines; the last one
is the output. Numbers, names, + - * / ** @ and NumPy-named functions (sin, exp, tanh,
...) are allowed; it is parsed with `ast` against a whitelist, never eval'd. FILE.py:FUNC
runs your file and explains FUNC at the --at values (one per parameter). --model draws a
network trained by `chainrule train` on one test image, grouped by its modules.
"""


# Bounds on the work one command may ask for (the report is quadratic in its worst case).
MAX_CHAIN_WIDTHS = 200     # --chain: the optimal order is O(n^3), ~0.5 s at 200
MAX_WORK = 2_000_000       # graph nodes x inputs explained: 10,000 terms of one input pass


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "explain", help="show the graph, both sweeps and the path sums of a small program",
        description="Backpropagation you can see: the graph of a program (operation, inputs, "
                    "consumers, local partials), the forward and reverse sweeps, every path "
                    "from an input to the output and the work each method costs.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("program", nargs="?", help='e.g. "(a+b)*(b+1)", "c = a + b; e = c * c" '
                   "or FILE.py:FUNCTION")
    p.add_argument("--model", metavar="DIR",
                   help="a model trained by `chainrule train` (its folder or model.npz)")
    p.add_argument("--image", type=int, default=0, metavar="K",
                   help="with --model: the test image to explain (default 0)")
    p.add_argument("--at", nargs="+", default=[], metavar="NAME=VALUE",
                   help="input values, e.g. --at a=2 b=1 (x=1,2,3 gives a vector)")
    p.add_argument("--wrt", metavar="NAME",
                   help="the input for the forward sweep and the path sums (default: all)")
    p.add_argument("--svg", metavar="FILE", help="write the graph as SVG (needs graphviz)")
    p.add_argument("--png", metavar="FILE", help="write the graph as PNG (needs graphviz)")
    p.add_argument("--dot", metavar="FILE", help="write the graph as DOT text (no install)")
    p.add_argument("--html", metavar="FILE",
                   help="write a self-contained page stepping through both sweeps")
    p.add_argument("--max-paths", type=_count, default=20, metavar="N",
                   help="list at most N paths per input (they are always counted exactly)")
    p.add_argument("--json", action="store_true",
                   help="print the results as strict JSON (inf and nan as the strings "
                        '"inf", "-inf", "nan")')
    p.add_argument("--chain", metavar="D0,D1,...",
                   help="print the Jacobian-chain cost table for these layer widths")
    p.add_argument("--nan", action="store_true",
                   help="explain where a non-finite gradient of the program is born: the "
                        "edge, its local derivative, the path and the usual fix")
    p.add_argument("--eliminate", action="store_true",
                   help="compare vertex elimination orders (forward, reverse, Markowitz, "
                        "greedy, best found) for the Jacobian of the program")
    p.add_argument("--memory", metavar="MODEL", choices=("mlp", "cnn", "rnn", "transformer"),
                   help="list what backprop keeps for one training step of the digits MODEL "
                        "(mlp, cnn, rnn or transformer): op, shape, bytes, module; total "
                        "and peak")
    p.add_argument("--batch", type=int, default=64, metavar="N",
                   help="batch size for --memory (default 64)")
    p.add_argument("--memory-budget", metavar="SIZE",
                   help="with --memory: recompute instead of store to fit SIZE (e.g. 1MB) "
                        "and show the report again")
    p.add_argument("--symbolic", action="store_true",
                   help="also show the symbol-to-symbol view: the program as cr.jit records "
                        "it and its derivative program, simplified (text, --json, --html)")
    p.set_defaults(run=run)
    return p


def _count(text) -> int:
    """An argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number 0 or more, got {text!r}")
    return value


def parse_values(items) -> dict:
    """`["a=2", "x=1,2,3"]` -> {"a": 2.0, "x": array([1., 2., 3.])}."""
    values = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier() or not text.strip():
            raise CommandError(f"--at {item!r}: write NAME=VALUE, e.g. --at a=2 b=1")
        try:
            parts = [float(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise CommandError(f"--at {item!r}: {text!r} is not a number (or a list "
                               "like 1,2,3)") from None
        if name in values:
            raise CommandError(f"--at: {name} is given twice")
        values[name] = parts[0] if len(parts) == 1 and "," not in text else np.array(parts)
    return values


def run(args) -> int:
    # inf and nan are answers here (1/0 is shown as inf, and its sweeps explained), so
    # NumPy's warnings about them would only repeat what the output says.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _run(args)


def _run(args) -> int:
    from .. import explain

    if args.max_paths < 0:
        raise CommandError("--max-paths must be 0 or more")
    if args.symbolic:
        others = [f"--{f}" for f in ("memory", "model", "eliminate", "nan") if getattr(args, f)]
        if others or not args.program:
            raise CommandError("--symbolic shows a program's derivative program: give a "
                               "program (or FILE.py:FUNCTION)" + (
                                   f", without {', '.join(others)}" if others else ""))
    if args.memory:
        return _memory(args)
    _check_outputs(args)
    if args.model:
        return _explain_model(args)
    out = {}
    if args.chain:
        count = len([w for w in args.chain.split(",") if w.strip()])
        if count > MAX_CHAIN_WIDTHS:
            raise CommandError(f"--chain: {count:,} widths; the cheapest order costs about "
                               f"n^3/6 steps to find, so at most {MAX_CHAIN_WIDTHS} are "
                               "accepted")
        try:
            costs = explain.chain_costs(args.chain)
        except ValueError as err:
            raise CommandError(str(err)) from None
        out["chain"] = costs
    if not args.program:
        if not args.chain:
            raise CommandError('give a program, e.g. chainrule explain "(a+b)*(b+1)" --at a=2 '
                               "b=1, or --chain 784,256,256,10,1")
        if args.json:
            print(json.dumps({"chain": _chain_json(out["chain"])}, indent=2, allow_nan=False))
        else:
            print(out["chain"].table())
        return 0
    if args.eliminate:
        return _eliminate(explain, args)
    graph = _graph(explain, args)
    if args.nan:
        names = {id(n.tensor): n.name for n in graph.inputs}
        print(explain.nan_report(graph.output.tensor, names))
        return 0
    work = len(graph.nodes) * (1 if args.wrt else max(len(graph.inputs), 1))
    if work > MAX_WORK:
        raise CommandError(f"the program has {len(graph.nodes):,} nodes and "
                           f"{len(graph.inputs):,} inputs: explaining each input costs a "
                           f"sweep over the graph ({work:,} steps, more than {MAX_WORK:,}); "
                           "pass --wrt NAME to explain one input, or a smaller program")
    if graph.output.size != 1:
        raise CommandError(f"the output has shape {graph.output.shape}; reduce it to a number "
                           "(e.g. sum(...)) to backpropagate from it")
    if args.wrt is not None and args.wrt not in [n.name for n in graph.inputs]:
        if args.wrt in getattr(getattr(graph, "run", None), "program", graph).inputs:
            raise CommandError(f"--wrt {args.wrt}: the output does not depend on {args.wrt} "
                               "(no path, gradient 0)")
        raise CommandError(f"--wrt {args.wrt}: not an input (inputs: "
                           f"{', '.join(n.name for n in graph.inputs)})")
    # Before the sweeps: the view replays the tape they walk.
    view = _symbolic(graph, args) if args.symbolic else None
    if args.json:
        result = explain.explain_json(graph, args.wrt, args.max_paths)
        if "chain" in out:
            result["chain"] = _chain_json(out["chain"])
        if view is not None:
            result["symbolic"] = view.json()
        print(json.dumps(result, indent=2, allow_nan=False))
    else:
        print(explain.explain_text(graph, args.wrt, args.max_paths), end="")
        if view is not None:
            print()
            print(view.text(), end="")
        if "chain" in out:
            print()
            print(out["chain"].table())
    _write_files(graph, args, view)
    return 0


def _symbolic(graph, args):
    """The --symbolic view, or a one-line error when the program cannot be recorded."""
    from .explain_symbolic import symbolic_view
    try:
        return symbolic_view(graph, args.wrt)
    except (TypeError, ValueError) as err:
        raise CommandError(f"--symbolic: {err}") from None


def _memory(args) -> int:
    """The memory report of one training step of a digits model (and with a budget)."""
    import chainrule as cr

    if args.batch < 1:
        raise CommandError("--batch must be 1 or more")
    hidden = {"cnn": 16, "transformer": 32}.get(args.memory, 128)
    model = cr.nn.models.build_model({"model": args.memory, "height": 8, "width": 8,
                                      "classes": 10, "hidden": hidden})
    images = np.random.default_rng(0).random((args.batch, 8, 8)).astype(np.float32)
    labels = np.arange(args.batch) % 10
    step = lambda x: cr.nn.functional.cross_entropy(model(x), labels)  # noqa: E731
    print(f"{args.memory}, batch {args.batch}:")
    print(cr.memory.report(step, images))
    if args.memory_budget:
        try:
            changed = cr.memory.apply_budget(model, args.memory_budget)
            after = cr.memory.report(step, images)
        except ValueError as err:
            raise CommandError(str(err)) from None
        print(f"\nwith --memory-budget {args.memory_budget}: "
              + ("; ".join(changed) or "nothing to checkpoint (no nn.Sequential, RNN, LSTM "
                                       "or GRU in this model)"))
        print(after)
    return 0


def _graph(explain, args):
    if FUNCTION_REF.match(args.program):
        return function_graph(args.program, parse_values(args.at))
    try:
        parsed = explain.parse_program(args.program)
        if not parsed.inputs:
            raise CommandError("the program has no inputs (names it uses before assigning "
                               'them), so there is nothing to differentiate; e.g. "x * x" '
                               "--at x=3")
        return explain.program(args.program, **parse_values(args.at))
    except explain.ProgramError as err:
        raise CommandError(str(err)) from None
    except (ValueError, TypeError, ArithmeticError) as err:
        raise CommandError(f"evaluating the program failed: {err}") from None


def _eliminate(explain, args) -> int:
    """`--eliminate`: the elimination orders of the program's Jacobian, side by side."""
    from .. import elimination

    if FUNCTION_REF.match(args.program):
        raise CommandError("--eliminate takes a program such as \"c = a * b; e = sin(c) + a\"; "
                           "for a function in your file use cr.elimination.compare(f, ...)")
    try:
        run = explain.run_program(args.program, parse_values(args.at))
    except explain.ProgramError as err:
        raise CommandError(str(err)) from None
    except (ValueError, TypeError, ArithmeticError) as err:
        raise CommandError(f"evaluating the program failed: {err}") from None
    if not run.inputs:
        raise CommandError('the program has no inputs, so there is no Jacobian; e.g. "x * x" '
                           "--at x=3")
    names = {**run.exprs, **run.names}   # program names first, else the source text
    g = elimination.linearize(list(run.inputs.values()), [run.output], names=names)
    comparison = elimination.compare(g, repeats=1)
    if args.json:
        print(json.dumps({"eliminate": [
            {"order": r.order, "sequence": r.sequence, "multiplications": r.multiplications,
             "additions": r.additions, "peak_entries": r.peak_entries, "seconds": r.seconds}
            for r in comparison.rows]}, indent=2))
    else:
        print(comparison)
    if args.html:   # the best order, the graph shrinking vertex by vertex
        from ..explain.render import GraphvizMissing, render
        try:
            text = comparison.best.to_html(render)
        except GraphvizMissing:
            text = comparison.best.to_html()   # DOT text instead of pictures
        try:
            with open(args.html, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as err:
            raise CommandError(f"cannot write {err.filename}: {err.strerror}") from None
        print(f"wrote {args.html}", file=sys.stderr)
    return 0


def _chain_json(costs) -> dict:
    return {"widths": list(costs.widths), "forward": costs.forward, "reverse": costs.reverse,
            "optimal": costs.optimal, "forward_order": costs.forward_order,
            "reverse_order": costs.reverse_order, "optimal_order": costs.optimal_order}


def _write_files(graph, args, view=None) -> None:
    from ..explain.render import GraphvizMissing, render_to_file

    adjoints = graph.reverse_sweep() if (args.svg or args.png or args.dot) else None
    try:
        if args.dot:
            write_text(args.dot, graph.to_dot(adjoints))
            print(f"wrote {args.dot}", file=sys.stderr)
        for path, fmt in ((args.svg, "svg"), (args.png, "png")):
            if path:
                render_to_file(graph.to_dot(adjoints), path, fmt)
                print(f"wrote {path}", file=sys.stderr)
        if args.html:
            page = graph.to_html(None, wrt=args.wrt)
            if view is not None:   # the derivative program below the tape's page
                page = page.replace("</body>", view.html() + "\n</body>")
            write_text(args.html, page)
            print(f"wrote {args.html}", file=sys.stderr)
    except (GraphvizMissing, ValueError) as err:
        raise CommandError(str(err)) from None
    except OSError as err:
        raise CommandError(f"cannot write {err.filename}: {err.strerror}") from None


def _check_outputs(args) -> None:
    """Every output path is writable, and graphviz is there if a picture needs it, before
    any work is done."""
    from ..explain.render import GraphvizMissing, require_graphviz

    for flag in ("dot", "svg", "png", "html"):
        path = getattr(args, flag)
        if not path:
            continue
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise CommandError(f"--{flag} {path}: is a folder; give a file name")
        if not os.path.isdir(folder):
            raise CommandError(f"--{flag} {path}: the folder {folder} does not exist")
        if not os.access(folder, os.W_OK) or (os.path.exists(path)
                                              and not os.access(path, os.W_OK)):
            raise CommandError(f"--{flag} {path}: not writable")
    if args.svg or args.png or args.html:
        try:
            require_graphviz()
        except GraphvizMissing as err:
            raise CommandError(str(err)) from None


def _explain_model(args) -> int:
    if args.program or args.chain or args.json or args.wrt:
        raise CommandError("--model explains a trained network on one test image; it takes "
                           "--image, --html, --svg, --png and --dot, not a program, --chain, "
                           "--json or --wrt")
    graph, label, prediction = model_graph(args.model, args.image)
    print(model_summary(graph, label, prediction), end="")
    _write_files(graph, args)
    return 0
