"""benchmarks/ops.py names every built-in primitive, so a new op cannot be left out of it."""

import importlib.util
import pathlib
import sys

from chainrule.core import builtin_primitives

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


def _ops_module():
    saved = list(sys.path)   # ops.py puts benchmarks/ on the path, whose coverage.py would
    sys.path.insert(0, str(BENCHMARKS))   # shadow the coverage package numba imports
    try:
        spec = importlib.util.spec_from_file_location("benchmark_ops", BENCHMARKS / "ops.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module   # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path[:] = saved


def test_every_builtin_primitive_has_a_benchmark_row():
    specs = set(_ops_module().SPECS)
    primitives = set(builtin_primitives())
    assert not primitives - specs, f"no row in benchmarks/ops.py for {primitives - specs}"
    assert not specs - primitives, f"rows for unknown primitives: {specs - primitives}"
