"""The linearized graph of a function: vertices are its values, edges their local Jacobians.

`f` is run once with a fresh variable per argument, as `cr.vjp` does; every recorded
node then contributes one edge per differentiable input, whose block is built from the
op's own JVP rule (the rule applied to each basis tangent, batched with vmap). The
structure of a block is read from the rule at two points, the real one and a random
one: entries zero at both are structural zeros, and a block equal at both is constant
(so its +-1 entries and equal diagonals are structure, not coincidence).
"""

from __future__ import annotations

import inspect

import numpy as np

from ..core import TensorBase, _new_tensor, bind, no_grad, topological_order
from ..ops.shape import broadcast_to
from ..transforms.api import _argnums, _trace_reverse
from ..transforms.batching import vmap
from ..transforms.tree import flatten
from .blocks import Block, StructureChanged, from_dense, refill
from .orders import resolve, run, structure
from .pictures import to_dot
from .result import Elimination, execute

# Entries of the random point: inside the domain of log, sqrt, arcsin, arccos, ...
_RANDOM_LOW, _RANDOM_HIGH = 0.3, 0.7


class Vertex:
    """One value of the graph: its index (topological), name, role, shape and operation."""

    __slots__ = ("index", "name", "role", "shape", "dtype", "op")

    def __init__(self, index, name, role, t, op):
        self.index = index
        self.name = name
        self.role = role      # "input", "intermediate" or "output"
        self.shape = t.shape
        self.dtype = t.dtype
        self.op = op          # the primitive's name, None for an input, "copy" for a copy

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __repr__(self):
        return f"<vertex {self.name} {self.role} {self.shape}>"


def _tangent_map(op, inputs, params, p, out):
    """t -> the output tangent when input p moves by t (zeros when the rule says None)."""
    def push(t):
        if op.jvp_joint is not None:
            tangents = tuple(t if i == p else None for i in range(len(inputs)))
            result = op.jvp_joint(tangents, out, *inputs, **params)
        else:
            result = op.jvp[p](t, out, *inputs, **params)
        if result is None:
            return broadcast_to(t.sum() * 0, out.shape)
        return result if result.shape == out.shape else broadcast_to(result, out.shape)
    return push


def _cotangent_map(op, inputs, params, p, out):
    """g -> the cotangent of input p when the output's cotangent is g (the VJP rule)."""
    x = inputs[p]

    def pull(g):
        result = op.vjp[p](g, out, *inputs, **params)
        if result is None:
            return broadcast_to(g.sum() * 0, x.shape)
        return result if result.shape == x.shape else broadcast_to(result, x.shape)
    return pull


# A local Jacobian is built densely first (m x n numbers): refuse what would not fit.
MAX_LOCAL_ENTRIES = 20_000_000


def _local_values(op, inputs, params, p, out, elementwise: bool) -> np.ndarray:
    """The m x n Jacobian of `out` by `inputs[p]` (just its diagonal when elementwise):
    columns by the JVP rule, or rows by the VJP rule when the output is the smaller.
    Called under no_grad (the rules' ops are not recorded)."""
    x = inputs[p]
    if elementwise:
        push = _tangent_map(op, inputs, params, p, out)
        return push(_new_tensor(np.ones(x.shape, dtype=x.dtype))).data.reshape(-1).copy()
    if out.size * x.size > MAX_LOCAL_ENTRIES:
        raise ValueError(
            f"elimination.graph: the local Jacobian of {op.name} (output {out.shape}, input "
            f"{x.shape}) would hold {out.size * x.size:,} entries, more than "
            f"{MAX_LOCAL_ENTRIES:,}; vertex elimination is for graphs of small values: "
            "use cr.jacfwd / cr.jacrev here")
    if out.size < x.size:
        basis = _new_tensor(np.eye(out.size, dtype=out.dtype).reshape((out.size,) + out.shape))
        rows = vmap(_cotangent_map(op, inputs, params, p, out))(basis).data
        return rows.reshape(out.size, x.size).copy()
    basis = _new_tensor(np.eye(x.size, dtype=x.dtype).reshape((x.size,) + x.shape))
    columns = vmap(_tangent_map(op, inputs, params, p, out))(basis).data
    return columns.reshape(x.size, out.size).T.copy()


def _random_point(inputs, is_vertex, rng):
    """The op's inputs with every vertex input moved to a random point (constants kept)."""
    return tuple(
        _new_tensor(rng.uniform(_RANDOM_LOW, _RANDOM_HIGH, a.shape).astype(a.dtype))
        if v else a for a, v in zip(inputs, is_vertex))


def local_block(op, inputs, params, ps, out, is_vertex, rng, free_units=True) -> Block | None:
    """The block of d out / d x, x = inputs[p] for p in ps (x may appear at several places).

    None when the rule says the derivative is zero everywhere. `free_units=False` never
    marks a block unit, so that every product of nonzeros counts (graphax's convention).
    """
    x = inputs[ps[0]]
    elementwise = _elementwise(op, x, out)
    moved = _random_point(inputs, is_vertex, rng)
    with no_grad(), np.errstate(all="ignore"):
        moved_out = bind(op, moved, params)
        here = sum(_local_values(op, inputs, params, p, out, elementwise) for p in ps)
        there = sum(_local_values(op, moved, params, p, moved_out, elementwise) for p in ps)
    constant = bool(np.array_equal(here, there))
    mask = (here != 0) | (there != 0)   # NaN at the random point counts as nonzero
    if not mask.any():
        return None
    if elementwise:
        n = x.size
        unit = bool(free_units and constant and np.all(np.abs(here) == 1))
        if not mask.all():
            full = np.zeros((n, n), dtype=here.dtype)
            full[np.arange(n), np.arange(n)] = here
            return from_dense(full, np.diag(mask), constant, free_units)
        if constant and np.all(here == here[0]):
            return Block("scaled", (n, n), here[0], unit=unit)
        return Block("diagonal", (n, n), here, unit=unit)
    return from_dense(here, mask, constant, free_units)


def _elementwise(op, x, out) -> bool:
    return getattr(op, "batch", None) == "elementwise" and x.shape == out.shape


def block_at(op, inputs, params, ps, out, like: Block | None) -> Block | None:
    """The block of d out / d inputs[p] at this point, in the structure of `like` (a block
    of the same edge built earlier; None: it was zero). Raises StructureChanged when the
    values here do not fit that structure, so no entry is ever dropped silently. Called
    under no_grad."""
    elementwise = _elementwise(op, inputs[ps[0]], out)
    here = _local_values(op, inputs, params, ps[0], out, elementwise)
    for p in ps[1:]:
        here = here + _local_values(op, inputs, params, p, out, elementwise)
    if like is None:
        if np.any(here != 0):
            raise StructureChanged(f"a zero partial of {op.name} is not zero here")
        return None
    return refill(like, here, elementwise, op.name)


class LinearizedGraph:
    """Vertices (topological order) and edges {(k, j): block of d v_k / d v_j}."""

    def __init__(self, vertices, edges, inputs, outputs, rebuild, single_argnum):
        self.vertices = vertices
        self.edges = edges
        self.inputs = inputs              # vertex indices, one per differentiated argument
        self.outputs = outputs            # vertex indices, one per output leaf
        self.intermediates = [v.index for v in vertices if v.role == "intermediate"]
        self.rebuild = rebuild            # output leaves -> the function's output structure
        self.single_argnum = single_argnum

    def __repr__(self):
        return (f"<LinearizedGraph: {len(self.inputs)} inputs, {len(self.intermediates)} "
                f"intermediates, {len(self.outputs)} outputs, {len(self.edges)} edges>")

    def order(self, order="best", seconds: float = 1.0) -> list:
        """The vertex names of an order: 'forward', 'reverse', 'markowitz', 'greedy',
        'optimal' (exhaustive, small graphs), 'search' (annealing), 'best' or a list."""
        return [self.vertices[j].name for j in resolve(self, order, seconds)[1]]

    def eliminate(self, order="best", seconds: float = 1.0) -> Elimination:
        """Eliminate every intermediate in `order`: the Jacobian and its exact counts."""
        name, sequence = resolve(self, order, seconds)
        return execute(self, name, sequence)

    def cost(self, order, seconds: float = 1.0) -> tuple:
        """(multiplications, additions, peak stored entries) of an order, without values."""
        work = run(structure(self), resolve(self, order, seconds)[1])
        return work.multiplications, work.additions, work.peak

    def to_dot(self) -> str:
        """The graph as DOT text (render it with graphviz): vertices and their blocks."""
        return to_dot(self)

    def __str__(self):
        lines = [repr(self)]
        for (k, j), block in self.edges.items():
            lines.append(f"  d {self.vertices[k].name} / d {self.vertices[j].name}: "
                         f"{block.describe()}")
        return "\n".join(lines)


def _names(f, argnums) -> list:
    try:
        params = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) and params[i].isidentifier() else f"x{i}"
            for i in argnums]


def build(f, args, argnums=None, free_units=True, seed=0) -> LinearizedGraph:
    """Run f on args and linearize it: the graph of `cr.elimination.graph`."""
    recorded, rebuild, nums = trace(f, args, argnums, "elimination.graph")
    return from_recorded(recorded, rebuild, single_argnum(argnums, nums), free_units, seed)


def trace(f, args, argnums, transform, named=True) -> tuple:
    """Run f once on fresh variables: (its Recorded, the output's rebuild, argnums tuple).
    `named`: inputs take the names of f's parameters (else x0, x1, ...)."""
    nums = tuple(range(len(args))) if argnums is None else _argnums(argnums)
    out, variables, _ = _trace_reverse(f, args, nums, transform)
    leaves, rebuild = flatten(out, transform)
    names = _names_of(f, nums, variables) if named else None
    return Recorded(variables, leaves, names), rebuild, nums


def single_argnum(argnums, nums) -> bool:
    """Whether the Jacobian is one block per output (an int argnums, or one argument)."""
    return isinstance(argnums, int) or (argnums is None and len(nums) == 1)


def _names_of(f, nums, variables) -> dict:
    return {id(v): name for v, name in zip(variables, _names(f, nums))}


class Recorded:
    """The recorded tensors between `variables` and `leaves`, as the graph's vertices.

    `order`: the tensors in topological order; `index`: {id(tensor): vertex index};
    `copies`: (output vertex, vertex it copies) for leaves that need a copy vertex.
    """

    def __init__(self, variables, leaves, names=None):
        names = names or {}
        self.stop = stop = {id(v) for v in variables}
        self.order = order = topological_order(leaves, stop)
        self.vertices = vertices = []
        self.index = index = {}
        for k, v in enumerate(variables):
            index[id(v)] = len(vertices)
            vertices.append(Vertex(len(vertices), names.get(id(v), f"x{k}"), "input", v, None))
        consumed = set()
        for t in order:
            if id(t) in index:
                continue
            index[id(t)] = j = len(vertices)
            vertices.append(Vertex(j, names.get(id(t), f"v{j}"), "intermediate", t,
                                   t._node.op.name))
            consumed.update(id(a) for a in t._node.inputs)
        self.outputs, self.copies = [], []
        for leaf in leaves:
            k = index.get(id(leaf)) if isinstance(leaf, TensorBase) else None
            if k is not None and vertices[k].role == "intermediate" and id(leaf) not in consumed:
                vertices[k].role = "output"
                vertices[k].name = names.get(id(leaf), f"out{len(self.outputs)}")
                consumed.add(id(leaf))   # the same tensor returned twice gets a copy next time
                self.outputs.append(k)
                continue
            # an input returned as is, a value also used further on, or a constant: a copy
            j = len(vertices)
            vertices.append(Vertex(j, f"out{len(self.outputs)}", "output", leaf, "copy"))
            if k is not None:
                self.copies.append((j, k))
            self.outputs.append(j)
        self.inputs = [index[id(v)] for v in variables]

    def sites(self):
        """(k, j, tensor, positions, is_vertex): one per edge d v_k / d v_j a node makes."""
        index = self.index
        for t in self.order:
            if id(t) in self.stop:
                continue
            node = t._node
            is_vertex = [a.requires_grad and a._trace is t._trace and id(a) in index
                         for a in node.inputs]
            positions = {}
            for p, (a, v) in enumerate(zip(node.inputs, is_vertex)):
                if v:
                    positions.setdefault(id(a), []).append(p)
            for key, ps in positions.items():
                yield index[id(t)], index[key], t, ps, is_vertex

    def signature(self, sites=None) -> tuple:
        """What must match for a cached structure to hold: vertices, edges, outputs."""
        vertices = tuple((v.op, v.shape, v.dtype.str, v.role) for v in self.vertices)
        edges = tuple((k, j, tuple(ps)) for k, j, _, ps, _ in sites or self.sites())
        return vertices, edges, tuple(self.outputs), tuple(self.copies)


def copy_block(size, free_units=True) -> Block:
    """The block of an output vertex that copies another: the identity."""
    return Block("scaled", (size, size), np.asarray(1.0), unit=free_units)


def default_rebuild(per_leaf):
    """Output leaves -> the output: one leaf alone, else a tuple."""
    return per_leaf[0] if len(per_leaf) == 1 else tuple(per_leaf)


def linearize(variables, leaves, rebuild=None, single_argnum=False, names=None,
              free_units=True, seed=0) -> LinearizedGraph:
    """The linearized graph between tensors already recorded: `variables` (tensors that
    require grad) and the output tensors `leaves`; `names`: {id(tensor): name}."""
    return from_recorded(Recorded(variables, leaves, names), rebuild, single_argnum,
                         free_units, seed)


def from_recorded(recorded, rebuild=None, single_argnum=False, free_units=True,
                  seed=0) -> LinearizedGraph:
    """The linearized graph of a Recorded: each edge's block, structure read at two points."""
    rng = np.random.default_rng(seed)
    edges = {}
    for k, j, t, ps, is_vertex in recorded.sites():
        node = t._node
        block = local_block(node.op, node.inputs, node.params, ps, t, is_vertex, rng,
                            free_units)
        if block is not None:
            edges[(k, j)] = block
    for j, k in recorded.copies:
        edges[(j, k)] = copy_block(recorded.vertices[j].size, free_units)
    return LinearizedGraph(recorded.vertices, topological_edges(edges), recorded.inputs,
                           recorded.outputs, rebuild or default_rebuild, single_argnum)


def topological_edges(edges: dict) -> dict:
    """Edges sorted by (target, source), so every walk over them is deterministic."""
    return {key: edges[key] for key in sorted(edges)}
