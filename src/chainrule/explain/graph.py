"""The graph view: nodes in topological order with Goodfellow's operation, inputs, consumers.

Every number here comes from the engine: values are the recorded tensors' data and each
edge's local partial derivative is obtained by calling the consumer's own VJP rule on
basis cotangents (`op.vjp[i](e_k, ans, *inputs, **params)`), never by a separate
calculator. Walks are iterative (`core.topological_order`), so deep graphs are fine.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np

from ..core import TensorBase, _new_tensor, no_grad, topological_order
from ..tensor import tensor as make_tensor
from .format import fmt

__all__ = ["Edge", "Graph", "Node", "graph_of", "record"]

# Local Jacobians with more entries than this are described by their shape only.
MAX_JACOBIAN_ENTRIES = 256


@dataclass(eq=False)
class Node:
    """One variable of the graph: an input, a constant, or the result of an operation."""

    index: int
    name: str
    kind: str  # "input", "const" or "op"
    tensor: TensorBase
    op: str  # the primitive's name; "input" / "const" for leaves
    params: dict = field(default_factory=dict)
    expr: str = ""  # source text, for nodes made by a program
    inputs: list = field(default_factory=list)  # Nodes, in the operation's argument order
    consumers: list = field(default_factory=list)  # Nodes that use this one, in order
    edges_in: list = field(default_factory=list)  # differentiable Edges into this node
    group: int | None = None  # index into Graph.groups: the module call that made it

    @property
    def value(self) -> np.ndarray:
        return self.tensor.data

    @property
    def shape(self) -> tuple:
        return tuple(self.tensor.data.shape)

    @property
    def size(self) -> int:
        return int(self.tensor.data.size)

    @property
    def grad(self):
        """`.grad` of the tensor (set on inputs by `backward()`), as an ndarray or None."""
        g = self.tensor.grad
        return None if g is None else np.asarray(g.data)

    def __repr__(self):
        return f"<node {self.name}: {self.op} = {fmt(self.value)}>"


@dataclass(eq=False)
class Edge:
    """Input `src` of `dst` (argument `position`), with the local partial d dst / d src.

    `partial` is a float for scalar nodes, the Jacobian (shape dst.shape + src.shape) for
    small tensors, and None when the Jacobian has more than MAX_JACOBIAN_ENTRIES entries.
    """

    src: Node
    dst: Node
    position: int
    partial: object
    jacobian_shape: tuple

    @property
    def scalar(self) -> bool:
        return self.src.size == 1 and self.dst.size == 1

    @property
    def cost(self) -> int:
        """Multiply-adds of one Jacobian-vector product through this edge (dense)."""
        return self.src.size * self.dst.size

    def label(self) -> str:
        if self.scalar:
            return fmt(self.partial)
        shape = "x".join(str(d) for d in self.jacobian_shape) or "scalar"
        if self.partial is not None and np.size(self.partial) <= 9:
            return f"J {shape} = {fmt(self.partial)}"
        return f"J {shape}"

    def __repr__(self):
        return f"<edge d{self.dst.name}/d{self.src.name} = {self.label()}>"


def local_partial(t: TensorBase, position: int, limit: int = MAX_JACOBIAN_ENTRIES):
    """d t / d t.inputs[position] from t's VJP rule, one basis cotangent per entry of t."""
    node = t._node
    x = node.inputs[position]
    m, n = int(t.data.size), int(x.data.size)
    if m * n > limit:
        return None
    rule = node.op.vjp[position]
    rows = np.zeros((m, n), dtype=np.float64)
    with no_grad():
        for k in range(m):
            basis = np.zeros(m, dtype=t.data.dtype)
            basis[k] = 1
            g = rule(_new_tensor(basis.reshape(t.data.shape)), t, *node.inputs, **node.params)
            if g is not None:
                rows[k] = np.broadcast_to(np.asarray(g.data), x.data.shape).reshape(n)
    if m == 1 and n == 1:
        return float(rows[0, 0])
    return rows.reshape(t.data.shape + x.data.shape)


class Graph:
    """A function's graph, ready to be shown: nodes, edges, sweeps, paths, pictures.

    Build one with `record(f, *args)`, `graph_of(out)` or `chainrule.explain.program(...)`.
    """

    def __init__(self, output: TensorBase, names: dict | None = None,
                 exprs: dict | None = None, max_jacobian: int = MAX_JACOBIAN_ENTRIES):
        if not isinstance(output, TensorBase):
            raise TypeError(f"explain: expected a Tensor output, got {type(output).__name__}")
        if not output.requires_grad:
            raise ValueError("explain: the output does not require grad, so it has no graph; "
                             "make the inputs with requires_grad=True")
        names, exprs = names or {}, exprs or {}
        order = topological_order([output])
        self.output_tensor = output
        self.nodes: list[Node] = []
        self.constants: list[Node] = []
        self.edges: list[Edge] = []
        by_id: dict = {}
        taken = set(names.values())
        counter = 0
        for t in order:
            key = id(t)
            name = names.get(key)
            if t._node is None:
                kind, op, params = "input", "input", {}
                if name is None:
                    name = _fresh("x", taken, len([n for n in self.nodes if n.kind == "input"]))
            else:
                if t._node.inputs is None:
                    raise RuntimeError(
                        f"explain: the graph through '{t._node.op.name}' was freed by a "
                        "backward(); call backward(retain_graph=True) before explaining it")
                kind, op, params = "op", t._node.op.name, dict(t._node.params)
                if name is None:
                    counter += 1
                    name = _fresh("t", taken, counter)
            taken.add(name)
            node = Node(len(self.nodes), name, kind, t, op, params, exprs.get(key, ""))
            by_id[key] = node
            self.nodes.append(node)
            if kind == "input":
                continue
            for position, a in enumerate(t._node.inputs):
                src = by_id.get(id(a))
                differentiable = (src is not None and src.kind != "const"
                                  and position in t._node.flows)
                if src is None:  # a constant: shown, but not part of any path
                    src = self._constant(a, names, taken, by_id)
                node.inputs.append(src)
                if node not in src.consumers:
                    src.consumers.append(node)
                if differentiable:
                    partial = local_partial(t, position, max_jacobian)
                    edge = Edge(src, node, position, partial, node.shape + src.shape)
                    node.edges_in.append(edge)
                    self.edges.append(edge)
        self.output = self.nodes[-1]
        self.inputs = [n for n in self.nodes if n.kind == "input"]
        self.groups: list = []  # module boxes, set by graph_of(..., scopes=...)
        self._reverse = None
        self._by_name = {n.name: n for n in self.nodes + self.constants}

    def _constant(self, a, names, taken, by_id) -> Node:
        name = names.get(id(a)) or fmt(a.data, width=24)
        if name.startswith("array of shape"):
            name = _fresh(f"const{'x'.join(map(str, a.shape))}_", taken, 1)
            taken.add(name)
        node = Node(-1 - len(self.constants), name, "const", a, "const")
        self.constants.append(node)
        by_id[id(a)] = node
        return node

    def __getitem__(self, name: str) -> Node:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"explain: no node named {name!r}; nodes are "
                           f"{', '.join(n.name for n in self.nodes)}") from None

    def __len__(self):
        return len(self.nodes)

    def input_node(self, wrt) -> Node:
        """The input named `wrt` (or the first input when wrt is None)."""
        if wrt is None:
            return self.inputs[0]
        if isinstance(wrt, Node):
            return wrt
        for n in self.inputs:
            if n.name == wrt:
                return n
        raise KeyError(f"explain: {wrt!r} is not an input; inputs are "
                       f"{', '.join(n.name for n in self.inputs)}")

    # ----- the views, each in its own module ---------------------------------------------
    def forward_sweep(self, wrt=None):
        from .sweeps import forward_sweep
        return forward_sweep(self, wrt)

    def reverse_sweep(self, seed=None):
        """d output / d node for every node (the engine's sweep, logged); the default
        seed's sweep is computed once per graph."""
        from .sweeps import reverse_sweep
        if seed is not None:
            return reverse_sweep(self, seed)
        if self._reverse is None:
            self._reverse = reverse_sweep(self)
        return self._reverse

    def paths(self, wrt=None, max_paths: int = 20):
        from .paths import path_sums
        return path_sums(self, wrt, max_paths)

    def count_paths(self, wrt=None) -> int:
        from .paths import count_paths
        return count_paths(self, wrt)

    def work(self):
        from .paths import work_counts
        return work_counts(self)

    def to_dot(self, adjoints=None, title: str | None = None, dpi: int | None = None,
               collapse: bool | None = None) -> str:
        from .dot import to_dot
        return to_dot(self, adjoints, title, dpi, collapse)

    def render(self, path, format: str | None = None, adjoints=None, dpi: int | None = None,
               collapse: bool | None = None):
        """Write SVG or PNG (by the suffix); `dpi` sharpens a PNG (graphviz's default 96);
        `collapse` draws each layer as one box (default: for big graphs)."""
        from .render import render_to_file
        return render_to_file(self.to_dot(adjoints, dpi=dpi, collapse=collapse), path, format)

    def svg(self, adjoints=None) -> str:
        from .render import render
        return render(self.to_dot(adjoints), "svg").decode("utf-8")

    def _repr_svg_(self):
        from .render import GraphvizMissing
        try:
            return self.svg()
        except GraphvizMissing:
            return None

    def to_html(self, path=None, wrt=None, title: str = "chainrule explain",
                view: str | None = None) -> str:
        """The interactive page as a document (written to `path` when given); `view` is
        "operations" or "layers" (modules collapsed), by default chosen by size."""
        from .html import to_html
        return to_html(self, path, wrt, title, view)

    def _repr_html_(self):
        """In Jupyter: the interactive page (scoped, so several pages work in one notebook)."""
        from .html import fragment
        from .render import GraphvizMissing
        try:
            return fragment(self)
        except GraphvizMissing:
            return None

    def table(self) -> str:
        from .report import graph_table
        return graph_table(self)

    def __str__(self):
        return self.table()

    def __repr__(self):
        return (f"<chainrule.explain.Graph: {len(self.nodes)} nodes, {len(self.edges)} edges, "
                f"output {self.output.name}>")


def _fresh(prefix: str, taken: set, k: int) -> str:
    name = f"{prefix}{k}"
    while name in taken:
        k += 1
        name = f"{prefix}{k}"
    return name


def graph_of(output: TensorBase, names: dict | None = None, model=None, scopes=None,
             **kwargs) -> Graph:
    """The graph recorded behind `output`; `names` maps tensors (or their ids) to names.

    `model`: an nn.Module whose parameters are named by `named_parameters()` ("0.weight");
    `scopes`: the record of `with cr.explain.scopes() as calls:` around the forward pass,
    which groups the nodes by the module call that made them (`graph.groups`).
    """
    names = {(k if isinstance(k, int) else id(k)): v for k, v in (names or {}).items()}
    if model is not None:
        for name, p in model.named_parameters():
            names.setdefault(id(p), name)
        names.setdefault(id(output), "loss" if output.size == 1 else "out")
    if scopes is not None:  # what the outermost calls were given: the data
        given = [t for c in scopes.calls if c.parent is None for t in c.inputs
                 if t._node is None]
        for k, t in enumerate(t for t in given if id(t) not in names):
            names.setdefault(id(t), "input" if k == 0 else f"input{k}")
    graph = Graph(output, names, **kwargs)
    if scopes is not None:
        from .scopes import assign_groups
        graph.groups = assign_groups(graph.nodes, graph.constants, scopes, model)
    return graph


def record(f, *args, names=None, **kwargs) -> Graph:
    """Call `f` on fresh input tensors made from `args` and return the recorded graph.

    Inputs are named after f's parameters (or `names`); f must return one tensor.
    """
    if names is None:
        try:
            params = [p.name for p in inspect.signature(f).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            params = []
        names = params[:len(args)] if len(params) >= len(args) else \
            [f"x{i}" for i in range(len(args))]
    leaves = [make_tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in args]
    out = f(*leaves)
    return Graph(out, {id(t): n for t, n in zip(leaves, names)}, **kwargs)
