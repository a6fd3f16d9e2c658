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
    "core": set(),
    "ops": {"core"},
    "linalg": {"ops"},
    "tensor": {"core", "ops"},
    "transforms": {"core", "ops"},
    "testing": {"core", "ops", "tensor", "transforms"},
    "symbolic": {"core", "ops", "tensor", "transforms"},
    "memory": {"core", "ops", "tensor", "transforms", PUBLIC},
    "explain": {"core", "ops", "tensor", "transforms", "symbolic", "testing", PUBLIC},
    "nn": {PUBLIC, "ops"},
    "optim": {PUBLIC, "nn"},
    "data": {PUBLIC, "io"},
    "io": {PUBLIC},
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
