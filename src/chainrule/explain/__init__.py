"""The glass box: see backpropagation work on any function, with chainrule's own engine.

    g = cr.explain.program("(a + b) * (b + 1)", a=2, b=1)   # or record(f, *args), graph_of(t)
    with cr.explain.scopes() as calls: loss = loss_fn(model(x), y)
    g = cr.explain.graph_of(loss, model=model, scopes=calls)  # grouped by module
    print(g)                       # nodes: operation, inputs, consumers, value; edge partials
    g.forward_sweep("b")           # d node / d b for every node (cr.jvp)
    g.reverse_sweep()              # d e / d node for every node (the VJP rules)
    g.paths("b")                   # 1·2 + 1·3 = 5, with the exact path count
    g.work(); chain_costs([784, 256, 256, 10, 1])
    g.to_dot(); g.render("g.png", dpi=200); g.to_html("g.html"); g  # in Jupyter: the page
    cr.explain.examples.colah(), .neuron(), .mlp(), .lstm()   # the worked examples

Renderers import graphviz lazily; nothing here is imported by the rest of the package.
"""

from . import examples
from .chain import ChainCosts, brute_force_cost, chain_costs, parse_widths, widths_from_graph
from .graph import Edge, Graph, Node, graph_of, record
from .nan import NanReport, nan, nan_report
from .paths import Path, PathSums, Work, count_paths, path_sums, work_counts
from .program import ProgramError, parse_program, program, run_program
from .render import GraphvizMissing
from .scopes import Scopes, scopes
from .summary import explain_json, explain_text
from .sweeps import ForwardSweep, ReverseSweep, forward_sweep, reverse_sweep

__all__ = [
    "ChainCosts", "Edge", "ForwardSweep", "Graph", "GraphvizMissing", "NanReport", "Node", "Path",
    "PathSums", "ProgramError", "ReverseSweep", "Scopes", "Work", "brute_force_cost", "chain_costs",
    "count_paths", "explain_json", "explain_text", "forward_sweep", "graph_of", "nan",
    "nan_report", "parse_program",
    "path_sums", "program", "record", "reverse_sweep", "run_program", "scopes", "widths_from_graph",
    "work_counts",
]

