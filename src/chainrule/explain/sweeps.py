"""colah's two sweeps, computed by the engine.

- Forward sweep: d(node)/d(x) for every node and one chosen input x. The recorded graph is
  replayed (each node's primitive re-applied with `core.bind`) inside `cr.jvp`, so every
  tangent comes from the primitives' JVP rules, one sweep per entry of x.
- Reverse sweep: d(output)/d(node) for every node. It *is* the engine's backward sweep
  (`transforms.reverse.sweep`), run with an `on_edge` observer that logs every edge's
  contribution as a step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import _new_tensor, bind, no_grad
from ..transforms.api import jvp
from ..transforms.reverse import sweep as engine_sweep

__all__ = ["ForwardSweep", "ReverseStep", "ReverseSweep", "engine_gradient", "forward_sweep",
           "reverse_sweep", "replay"]


@dataclass
class ForwardStep:
    """The forward sweep reaching `node`: one contribution per incoming edge, then the sum."""

    node: object
    contributions: list  # (edge, contribution ndarray or None)
    total: np.ndarray


@dataclass
class ForwardSweep:
    """d(node)/d(wrt) for every node (shape node.shape + wrt.shape), in graph order."""

    graph: object
    wrt: object
    derivatives: list
    steps: list
    sweeps: int  # how many JVPs it took: one per entry of wrt

    def __getitem__(self, name: str) -> np.ndarray:
        return self.derivatives[self.graph[name].index]

    def __str__(self):
        from .report import forward_table
        return forward_table([self])

    def _repr_html_(self):
        from .tables import forward_html
        return forward_html(self)


@dataclass
class ReverseStep:
    """One edge of the reverse sweep: adjoint(dst) through the edge's VJP, added to src."""

    edge: object
    upstream: np.ndarray  # the adjoint of edge.dst when it is propagated
    contribution: np.ndarray  # what the VJP rule returned for edge.src
    running: np.ndarray  # the adjoint of edge.src after adding the contribution


@dataclass
class ReverseSweep:
    """d(output)/d(node) for every node (shape node.shape), in graph order."""

    graph: object
    seed: np.ndarray
    adjoints: list
    steps: list

    def __getitem__(self, name: str) -> np.ndarray:
        return self.adjoints[self.graph[name].index]

    def __str__(self):
        from .report import reverse_table
        return reverse_table(self)

    def _repr_html_(self):
        from .tables import reverse_html
        return reverse_html(self)

    def grads(self) -> dict:
        """The gradient with respect to each input: {name: ndarray}."""
        return {n.name: self.adjoints[n.index] for n in self.graph.inputs}


def replay(graph, only=None):
    """A function of the graph's inputs that re-applies every recorded primitive.

    It returns every node's value (inputs included) in graph order; running it under a
    transform lets that transform's machinery (e.g. JVP rules) see the whole graph. With
    `only` (an input node) it is a function of that input alone, the others held fixed.
    """
    nodes = graph.nodes
    free = graph.inputs if only is None else [only]

    def run(*leaf_values):
        env = {id(n.tensor): v for n, v in zip(free, leaf_values)}
        values = []
        for n in nodes:
            if n.kind == "op":
                rec = n.tensor._node
                args = tuple(env.get(id(a), a) for a in rec.inputs)
                env[id(n.tensor)] = bind(rec.op, args, rec.params)
            values.append(env.get(id(n.tensor), n.tensor))
        return tuple(values)

    return run


def forward_sweep(graph, wrt=None) -> ForwardSweep:
    """Forward-mode sweep(s) for input `wrt` (name; default the first input) with cr.jvp.

    Only `wrt` carries a tangent: the other inputs are constants of the sweep, so their
    rules are never called (a zero tangent times an infinite partial would give NaN where
    the reverse sweep, which never forms that product, gives a number).
    """
    x = graph.input_node(wrt)
    run = replay(graph, only=x)
    primal = _new_tensor(np.array(x.value))
    columns = []
    with no_grad():
        for k in range(x.size):
            t = np.zeros(x.shape, dtype=x.value.dtype)
            t.reshape(-1)[k] = 1
            _, tangent_out = jvp(run, (primal,), (_new_tensor(t),))
            columns.append([np.asarray(t.data, dtype=np.float64) for t in tangent_out])
    derivatives = []
    for i, n in enumerate(graph.nodes):
        stacked = np.stack([c[i] for c in columns], axis=-1)
        derivatives.append(stacked.reshape(n.shape + x.shape))
    steps = _forward_steps(graph, x, derivatives) if x.size == 1 else []
    return ForwardSweep(graph, x, derivatives, steps, x.size)


def _forward_steps(graph, x, derivatives) -> list:
    """Per node, each incoming edge's JVP-rule contribution (scalar `wrt` only); an edge
    from a node that `x` does not reach contributes 0 without calling the rule."""
    steps, reached = [], {x.index}
    with no_grad():
        for n in graph.nodes:
            if n.kind != "op":
                continue
            rec = n.tensor._node
            parts = []
            for e in n.edges_in:
                if e.src.index not in reached:
                    parts.append((e, np.zeros(n.shape)))
                    continue
                reached.add(n.index)
                tangent = _new_tensor(derivatives[e.src.index].reshape(e.src.shape))
                if rec.op.jvp is not None:
                    part = rec.op.jvp[e.position](tangent, n.tensor, *rec.inputs, **rec.params)
                    part = None if part is None else np.broadcast_to(
                        np.asarray(part.data, dtype=np.float64), n.shape)
                elif e.partial is not None:
                    j = np.asarray(e.partial).reshape(n.size, e.src.size)
                    part = (j @ tangent.data.reshape(-1)).reshape(n.shape)
                else:
                    part = None
                parts.append((e, part))
            steps.append(ForwardStep(n, parts, derivatives[n.index].reshape(n.shape)))
    return steps


def reverse_sweep(graph, seed=None) -> ReverseSweep:
    """Backpropagation from the output with each primitive's VJP rule, every step logged."""
    out = graph.output
    if seed is None:
        if out.size != 1:
            raise ValueError(f"reverse sweep: the output {out.name} has shape {out.shape}; "
                             "pass seed= of that shape (a cotangent) or reduce it to a scalar")
        seed = np.ones(out.shape)
    seed = np.asarray(seed, dtype=np.float64)
    if seed.shape != out.shape:
        raise ValueError(f"reverse sweep: seed has shape {seed.shape} but the output has "
                         f"shape {out.shape}")
    edges = {(id(e.dst.tensor), e.position): e for e in graph.edges}
    totals = {out.index: _new_tensor(seed.astype(out.value.dtype))}
    steps = []

    def log(t, position, g, contribution, total):
        e = edges[(id(t), position)]
        totals[e.src.index] = total
        steps.append(ReverseStep(e, _array(g, e.dst.shape), _array(contribution, e.src.shape),
                                 _array(total, e.src.shape)))

    with no_grad():
        engine_sweep([out.tensor], [totals[out.index]], retain_graph=True, on_edge=log)
    adjoints = [_array(totals[n.index], n.shape) if n.index in totals
                else np.zeros(n.shape) for n in graph.nodes]
    return ReverseSweep(graph, seed, adjoints, steps)


def _array(t, shape) -> np.ndarray:
    return np.broadcast_to(np.asarray(t.data, dtype=np.float64), shape).copy()


def engine_gradient(graph) -> dict:
    """The gradient by the engine's own `cr.grad` on the replayed graph: {input name: array}.

    This is the number the path sums and the reverse-sweep table are checked against.
    """
    from ..transforms.api import grad

    run = replay(graph)
    argnums = tuple(range(len(graph.inputs)))
    values = tuple(_new_tensor(np.array(n.value)) for n in graph.inputs)
    grads = grad(lambda *xs: run(*xs)[-1], argnums=argnums)(*values)
    return {n.name: np.asarray(g.data, dtype=np.float64) for n, g in zip(graph.inputs, grads)}
