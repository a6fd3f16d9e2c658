"""Jacobians by vertex elimination: the linearized graph, orders and their exact costs."""

from ..transforms.api import JACOBIAN_MODES
from .api import Comparison, compare, graph, jacobian
from .linearized import LinearizedGraph, Vertex, linearize
from .result import Elimination, Step

JACOBIAN_MODES["eliminate"] = jacobian

__all__ = ["Comparison", "Elimination", "LinearizedGraph", "Step", "Vertex", "compare",
           "graph", "jacobian", "linearize"]
