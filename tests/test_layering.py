"""DESIGN's dependency direction, kept true by reading every module's imports with ast.

core <- ops <- tensor <- transforms <- symbolic <- explain; nn, optim, data and io use
only the public API (nn may also build on the primitives in ops); cli sits on top;
nothing inside the package imports cli, and only cli imports explain.
"""

import ast
import pathlib

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "chainrule"
PUBLIC = "chainrule"   # `import chainrule` / `from .. import name-of-the-public-API`

ALLOWED = {
    "files": set(),   # atomic writes and safe reads: a leaf every layer may use
    "core": set(),
    "ops": {"core"},
    "linalg": {"ops"},
    "fft": {"ops"},
    "scipy": {"core", "ops", "transforms"},
    "tensor": {"core", "ops"},
    "transforms": {"core", "ops", "tensor"},
    "testing": {"core", "ops", "tensor", "transforms"},
    "symbolic": {"core", "ops", "tensor", "transforms"},
    "memory": {"core", "ops", "tensor", "transforms", PUBLIC},
    "elimination": {"core", "ops", "tensor", "transforms"},
    "explain": {"core", "ops", "tensor", "transforms", "symbolic", "testing", "files", "nn",
                PUBLIC},
    "nn": {PUBLIC, "ops"},
    "optim": {PUBLIC, "nn"},
    "data": {PUBLIC, "io", "files"},
    "io": {PUBLIC, "files"},
    "train": {PUBLIC, "nn", "optim", "data", "io", "files", "distributed"},
    "distributed": {PUBLIC},   # MPI (mpi4py) under the training library
    "__main__": {"cli"},   # `python -m chainrule` is the command
    "numpy_dispatch": {"core"},   # np.* on tensors: the public names are handed to it
    "random": {PUBLIC, "nn"},   # cr.randn & co. draw from nn.init's seeded generator
}
# The one sanctioned upward call: Tensor.backward must reach the reverse sweep (lazily).
EXCEPTIONS = {("tensor.py", "transforms")}
UNITS = {p.stem for p in SRC.glob("*.py")} | {p.name for p in SRC.iterdir() if p.is_dir()}


def _unit_of(parts):
    return parts[1] if len(parts) > 1 and parts[1] in UNITS else PUBLIC


def _imports(path: pathlib.Path):
    """(line, imported unit) for every import in the file, relative ones resolved."""
    module = ["chainrule", *path.relative_to(SRC).with_suffix("").parts]
    if module[-1] == "__init__":
        module = module[:-1]
    package = module if path.name == "__init__.py" else module[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "chainrule":
                    yield node.lineno, _unit_of(parts)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                parts = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "chainrule":
                parts = node.module.split(".")
            else:
                continue
            if len(parts) == 1:   # from chainrule import x / from .. import x
                for alias in node.names:
                    yield node.lineno, alias.name if alias.name in UNITS else PUBLIC
            else:
                yield node.lineno, _unit_of(parts)


MODULES = sorted(p for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_the_dependency_direction(path):
    unit = path.relative_to(SRC).parts[0].removesuffix(".py")
    if unit == "cli":
        return  # the command line sits on top of everything
    allowed = ALLOWED[unit] | {unit}
    name = str(path.relative_to(SRC))
    bad = [(line, target) for line, target in _imports(path)
           if target not in allowed and (name, target) not in EXCEPTIONS]
    assert not bad, (f"{path.relative_to(SRC)} ({unit}) imports "
                     + ", ".join(f"{t} (line {n})" for n, t in bad)
                     + f"; {unit} may import only {sorted(allowed)}")


# ----- no import cycles ------------------------------------------------------------------
# Module-level graph over the same AST, function-local imports included: a cycle hidden in
# a function still makes import order matter. Cycles other engineers are breaking now,
# listed by the edge that closes them (each entry is deleted when its cycle is broken):
ALLOWED_CYCLE_EDGES = {
}


def _module_name(path: pathlib.Path) -> str:
    parts = ["chainrule", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


ALL_MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}


def _module_imports(path: pathlib.Path):
    """The chainrule modules a file imports (`from pkg import submodule` names the
    submodule), wherever the import statement stands."""
    name = _module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "chainrule")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package[:len(package) - node.level + 1] + (
                    node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "chainrule":
                parts = node.module.split(".")
            else:
                continue
            base = ".".join(parts)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield sub if sub in ALL_MODULES else base


def import_graph() -> dict:
    """module -> the chainrule modules it imports (itself and allowed edges left out)."""
    graph = {}
    for name, path in ALL_MODULES.items():
        graph[name] = sorted({t for t in _module_imports(path) if t in ALL_MODULES
                              and t != name and (name, t) not in ALLOWED_CYCLE_EDGES})
    return graph


def find_cycle(graph: dict):
    """One import cycle as a list of modules [a, b, ..., a], or None (iterative DFS)."""
    state = {}  # 1: on the current path, 2: done
    for root in graph:
        if root in state:
            continue
        path, stack = [], [(root, iter(graph[root]))]
        state[root] = 1
        path.append(root)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif child not in state:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(graph.get(child, ()))))
    return None


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"], "d": []}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b", "c"], "b": ["c"], "c": []}) is None
    graph = import_graph()
    graph["chainrule.core"] = graph["chainrule.core"] + ["chainrule.tensor"]  # a bad import
    assert find_cycle(graph) is not None


def test_allowed_cycle_edges_still_exist():
    """An entry for a cycle someone has broken must be deleted, not left to hide a new one."""
    for src, dst in ALLOWED_CYCLE_EDGES:
        assert dst in set(_module_imports(ALL_MODULES[src])), (src, dst)
