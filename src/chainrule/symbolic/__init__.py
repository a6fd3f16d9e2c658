"""Symbol-to-symbol: trace a function into a graph, differentiate it into more graph,
simplify it with rewrite rules written as data, and compile it to plain NumPy code."""

from __future__ import annotations

from ..transforms.api import grad as _grad
from .codegen import compile_graph, to_source
from .graph import Eqn, Graph, Var
from .rewrite import RULES, simplify
from .tape import replay
from .trace import trace


def grad_graph(graph: Graph, argnums=0) -> Graph:
    """The graph of d(graph)/d(inputs[argnums]): the backward pass, recorded as a graph."""
    return trace(_grad(graph, argnums))(*graph.examples)


__all__ = ["Eqn", "Graph", "RULES", "Var", "compile_graph", "grad_graph", "replay",
           "simplify", "to_source", "trace"]
