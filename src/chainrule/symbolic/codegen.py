"""Code generation: a Graph becomes a plain Python function of ndarrays (no tape, no boxes)."""

from __future__ import annotations

import functools

from .graph import Graph


def to_source(graph: Graph, name: str = "compiled") -> tuple[str, dict]:
    """Python source of the graph and the namespace its names refer to."""
    namespace, names = {}, {}
    for i, v in enumerate(graph.inputs):
        names[id(v)] = f"x{i}"

    def ref(v):
        if id(v) in names:
            return names[id(v)]
        if v.const is not None:
            key = f"c{len(namespace)}"
            namespace[key] = v.const
            names[id(v)] = key
            return key
        raise KeyError(v.name)

    lines = [f"def {name}({', '.join(names[id(v)] for v in graph.inputs)}):"]
    for k, eqn in enumerate(graph.eqns):
        fn = f"{eqn.op.name}_{k}"
        namespace[fn] = functools.partial(eqn.op.impl, **eqn.params)
        args = ", ".join(ref(v) for v in eqn.inputs)
        out = f"v{k}"
        names[id(eqn.out)] = out
        lines.append(f"    {out} = {fn}({args})  # {eqn.op.name}")
    lines.append(f"    return {', '.join(ref(v) for v in graph.outputs)}")
    return "\n".join(lines) + "\n", namespace


def compile_graph(graph: Graph, name: str = "compiled"):
    """A Python function of ndarrays computing the graph's outputs; `.source` shows it."""
    source, namespace = to_source(graph, name)
    exec(compile(source, f"<chainrule graph {name}>", "exec"), namespace)  # noqa: S102
    fn = namespace[name]
    fn.source = source
    return fn
