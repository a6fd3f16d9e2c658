"""`chainrule explain`: show backpropagation working on a small program, or chain costs."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from .main import CommandError

EXAMPLES = """\
examples:
  chainrule explain "(a+b)*(b+1)" --at a=2 b=1
  chainrule explain "c = a + b; d = b + 1; e = c * d" --at a=2 b=1 --wrt b --html colah.html
  chainrule explain "x * y" --at x=2 y=-6 --json
  chainrule explain --chain 784,256,256,10,1
  chainrule explain --memory mlp --batch 64 --memory-budget 1MB

A program is statements `name = expression` separated by ';' or newlines; the last one
is the output. Numbers, names, + - * / ** @ and NumPy-named functions (sin, exp, tanh,
...) are allowed; it is parsed with `ast` against a whitelist, never eval'd.
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "explain", help="show the graph, both sweeps and the path sums of a small program",
        description="Backpropagation you can see: the graph of a program (operation, inputs, "
                    "consumers, local partials), the forward and reverse sweeps, every path "
                    "from an input to the output and the work each method costs.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("program", nargs="?", help='e.g. "(a+b)*(b+1)" or "c = a + b; e = c * c"')
    p.add_argument("--at", nargs="+", default=[], metavar="NAME=VALUE",
                   help="input values, e.g. --at a=2 b=1 (x=1,2,3 gives a vector)")
    p.add_argument("--wrt", metavar="NAME",
                   help="the input for the forward sweep and the path sums (default: all)")
    p.add_argument("--svg", metavar="FILE", help="write the graph as SVG (needs graphviz)")
    p.add_argument("--png", metavar="FILE", help="write the graph as PNG (needs graphviz)")
    p.add_argument("--dot", metavar="FILE", help="write the graph as DOT text (no install)")
    p.add_argument("--html", metavar="FILE",
                   help="write a self-contained page stepping through both sweeps")
    p.add_argument("--max-paths", type=int, default=20, metavar="N",
                   help="list at most N paths per input (they are always counted exactly)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--chain", metavar="D0,D1,...",
                   help="print the Jacobian-chain cost table for these layer widths")
    p.add_argument("--memory", metavar="MODEL", choices=("mlp", "cnn", "rnn"),
                   help="list what backprop keeps for one training step of the digits MODEL "
                        "(mlp, cnn or rnn): op, shape, bytes, module; total and peak")
    p.add_argument("--batch", type=int, default=64, metavar="N",
                   help="batch size for --memory (default 64)")
    p.add_argument("--memory-budget", metavar="SIZE",
                   help="with --memory: recompute instead of store to fit SIZE (e.g. 1MB) "
                        "and show the report again")
    p.set_defaults(run=run)
    return p


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
    from .. import explain

    if args.max_paths < 0:
        raise CommandError("--max-paths must be 0 or more")
    if args.memory:
        return _memory(args)
    out = {}
    if args.chain:
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
            print(json.dumps({"chain": _chain_json(out["chain"])}, indent=2))
        else:
            print(out["chain"].table())
        return 0
    graph = _graph(explain, args)
    if graph.output.size != 1:
        raise CommandError(f"the output has shape {graph.output.shape}; reduce it to a number "
                           "(e.g. sum(...)) to backpropagate from it")
    if args.wrt is not None and args.wrt not in [n.name for n in graph.inputs]:
        if args.wrt in graph.run.program.inputs:
            raise CommandError(f"--wrt {args.wrt}: the output does not depend on {args.wrt} "
                               "(no path, gradient 0)")
        raise CommandError(f"--wrt {args.wrt}: not an input of the program (inputs: "
                           f"{', '.join(graph.run.program.inputs)})")
    if args.json:
        result = explain.explain_json(graph, args.wrt, args.max_paths)
        if "chain" in out:
            result["chain"] = _chain_json(out["chain"])
        print(json.dumps(result, indent=2))
    else:
        print(explain.explain_text(graph, args.wrt, args.max_paths), end="")
        if "chain" in out:
            print()
            print(out["chain"].table())
    _write_files(graph, args)
    return 0


def _memory(args) -> int:
    """The memory report of one training step of a digits model (and with a budget)."""
    import chainrule as cr

    from .models import build_model

    if args.batch < 1:
        raise CommandError("--batch must be 1 or more")
    model = build_model({"model": args.memory, "height": 8, "width": 8, "classes": 10,
                         "hidden": 128 if args.memory != "cnn" else 16})
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
        print(f"\nwith --memory-budget {args.memory_budget}: " + "; ".join(changed))
        print(after)
    return 0


def _graph(explain, args):
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


def _chain_json(costs) -> dict:
    return {"widths": list(costs.widths), "forward": costs.forward, "reverse": costs.reverse,
            "optimal": costs.optimal, "forward_order": costs.forward_order,
            "reverse_order": costs.reverse_order, "optimal_order": costs.optimal_order}


def _write_files(graph, args) -> None:
    from ..explain.render import GraphvizMissing, render_to_file

    adjoints = graph.reverse_sweep() if (args.svg or args.png or args.dot) else None
    try:
        if args.dot:
            with open(args.dot, "w", encoding="utf-8") as f:
                f.write(graph.to_dot(adjoints))
            print(f"wrote {args.dot}", file=sys.stderr)
        for path, fmt in ((args.svg, "svg"), (args.png, "png")):
            if path:
                render_to_file(graph.to_dot(adjoints), path, fmt)
                print(f"wrote {path}", file=sys.stderr)
        if args.html:
            graph.to_html(args.html, wrt=args.wrt)
            print(f"wrote {args.html}", file=sys.stderr)
    except (GraphvizMissing, ValueError) as err:
        raise CommandError(str(err)) from None
    except OSError as err:
        raise CommandError(f"cannot write {err.filename}: {err.strerror}") from None
