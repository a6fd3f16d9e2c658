"""Small straight-line programs (`c = a + b; e = c * (b + 1)`), parsed with `ast`, never eval.

Only names, numbers, `+ - * / ** @`, unary minus and calls of whitelisted NumPy-named
functions are accepted. Running a program records a chainrule graph and remembers the
name the program gave each tensor, so the explainer can say `c` instead of `t3`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import numpy as np

from ..ops import elementwise as E
from ..ops import linalg as L
from ..ops import reduce as R
from ..ops.nn import softmax
from ..tensor import Tensor, tensor
from .graph import Graph
from .parse import parse_source, unparse

__all__ = ["FUNCTIONS", "Program", "ProgramError", "parse_program", "program", "run_program"]


class ProgramError(ValueError):
    """The program text is not a straight-line program of whitelisted operations."""


FUNCTIONS = {
    "abs": E.absolute, "absolute": E.absolute, "arccos": E.arccos, "arcsin": E.arcsin,
    "arctan": E.arctan, "arctan2": E.arctan2, "cos": E.cos, "cosh": E.cosh, "exp": E.exp,
    "expm1": E.expm1, "log": E.log, "log10": E.log10, "log1p": E.log1p, "log2": E.log2,
    "maximum": E.maximum, "minimum": E.minimum, "negative": E.negative, "power": E.power,
    "relu": E.relu, "sigmoid": E.sigmoid, "sin": E.sin, "sinh": E.sinh, "softplus": E.softplus,
    "sqrt": E.sqrt, "square": E.square, "tan": E.tan, "tanh": E.tanh, "add": E.add,
    "subtract": E.subtract, "multiply": E.multiply, "divide": E.divide, "sum": R.sum,
    "mean": R.mean, "prod": R.prod, "max": R.max, "min": R.min, "dot": L.dot,
    "matmul": L.matmul, "outer": L.outer, "logsumexp": R.logsumexp,
    "softmax": softmax,
}

_TWO = {"arctan2", "maximum", "minimum", "power", "add", "subtract", "multiply", "divide",
        "dot", "matmul", "outer"}

_BINOPS = {ast.Add: E.add, ast.Sub: E.subtract, ast.Mult: E.multiply, ast.Div: E.divide,
           ast.Pow: E.power, ast.MatMult: L.matmul}
_UNARY = {ast.USub: E.negative, ast.UAdd: None}


@dataclass
class Program:
    """A parsed program: its statements, its free variables (inputs) in order of appearance."""

    source: str
    statements: list  # of (target name or None, ast expression)
    inputs: list[str]


@dataclass
class Run:
    """The result of running a program: the output tensor and the names of its tensors."""

    program: Program
    output: Tensor
    inputs: dict  # name -> leaf tensor
    names: dict = field(default_factory=dict)  # id(tensor) -> name
    exprs: dict = field(default_factory=dict)  # id(tensor) -> source text
    tensors: list = field(default_factory=list)  # keeps every named tensor alive


def _where(node) -> str:
    return f"line {getattr(node, 'lineno', 1)}, column {getattr(node, 'col_offset', 0) + 1}"


def _reject(node) -> ProgramError:
    where = _where(node)
    if isinstance(node, ast.Attribute):
        return ProgramError(f"{where}: attribute access ({ast.unparse(node)}) is not allowed; "
                            "call functions by their bare NumPy names, e.g. sin(x)")
    if isinstance(node, ast.Constant):
        return ProgramError(f"{where}: only numbers are allowed as constants, "
                            f"not {node.value!r}")
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return ProgramError(f"{where}: import is not allowed in a program")
    kind = type(node).__name__
    return ProgramError(f"{where}: {kind} is not allowed; a program is statements "
                        "`name = expression` separated by ';' or newlines, using numbers, "
                        "names, + - * / ** @ and functions such as sin, exp, tanh")


def _check_expr(node, loads: list) -> None:
    """Raise ProgramError unless `node` uses only whitelisted syntax; collect loaded names."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.BinOp):
            if type(n.op) not in _BINOPS:
                raise ProgramError(f"{_where(n)}: operator {type(n.op).__name__} is not "
                                   "allowed; use + - * / ** @")
            stack += [n.right, n.left]
        elif isinstance(n, ast.UnaryOp):
            if type(n.op) not in _UNARY:
                raise ProgramError(f"{_where(n)}: unary {type(n.op).__name__} is not allowed")
            stack.append(n.operand)
        elif isinstance(n, ast.Call):
            if not isinstance(n.func, ast.Name):
                raise _reject(n.func)
            if n.func.id not in FUNCTIONS:
                raise ProgramError(f"{_where(n)}: unknown function {n.func.id!r}; allowed: "
                                   f"{', '.join(sorted(FUNCTIONS))}")
            if n.keywords or any(isinstance(a, ast.Starred) for a in n.args):
                raise ProgramError(f"{_where(n)}: {n.func.id}(...) takes positional "
                                   "arguments only")
            arity = 2 if n.func.id in _TWO else 1
            if len(n.args) != arity:
                hint = {"max": "; maximum(a, b) is the larger of two",
                        "min": "; minimum(a, b) is the smaller of two"}.get(n.func.id, "")
                raise ProgramError(f"{_where(n)}: {n.func.id} takes {arity} argument"
                                   f"{'s' if arity == 2 else ''}, got {len(n.args)}{hint}")
            stack += reversed(n.args)
        elif isinstance(n, ast.Name):
            if n.id.startswith("__"):
                raise ProgramError(f"{_where(n)}: name {n.id!r} is not allowed")
            loads.append(n.id)
        elif isinstance(n, ast.Constant):
            if isinstance(n.value, bool) or not isinstance(n.value, (int, float)):
                raise _reject(n)
        else:
            raise _reject(n)


def parse_program(source: str) -> Program:
    """Parse `source` against the whitelist; the last statement gives the output."""
    try:
        tree = parse_source(source.strip())
    except SyntaxError as err:
        raise ProgramError(f"line {err.lineno}, column {err.offset}: syntax error: "
                           f"{err.msg}") from None
    if not tree.body:
        raise ProgramError("the program is empty; write e.g. \"(a + b) * (b + 1)\"")
    statements, inputs, assigned = [], [], set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                raise ProgramError(f"{_where(stmt)}: assign to one plain name, e.g. c = a + b")
            target, expr = stmt.targets[0].id, stmt.value
            if target.startswith("__") or target in FUNCTIONS:
                raise ProgramError(f"{_where(stmt)}: {target!r} cannot be assigned")
        elif isinstance(stmt, ast.Expr):
            target, expr = None, stmt.value
        else:
            raise _reject(stmt)
        loads: list = []
        _check_expr(expr, loads)
        for name in loads:
            if name not in assigned and name not in inputs:
                inputs.append(name)
        if target is not None:
            assigned.add(target)
        statements.append((target, expr))
    return Program(source, statements, inputs)


def _unique(name: str, taken: set) -> str:
    if name not in taken:
        return name
    k = 1
    while f"{name}_{k}" in taken:
        k += 1
    return f"{name}_{k}"


def run_program(program: Program | str, values: dict) -> Run:
    """Run `program` with `values` for its inputs, recording the graph and the names."""
    if isinstance(program, str):
        program = parse_program(program)
    missing = [n for n in program.inputs if n not in values]
    if missing:
        raise ProgramError(f"no value for {', '.join(missing)}: give one per input, e.g. "
                           f"--at {' '.join(f'{n}=1.0' for n in missing)}")
    unknown = [n for n in values if n not in program.inputs]
    if unknown:
        raise ProgramError(f"the program has no input named {', '.join(unknown)} (its inputs "
                           f"are {', '.join(program.inputs) or 'none'})")
    env, leaves, names, exprs, keep = {}, {}, {}, {}, []
    for name in program.inputs:
        array = np.asarray(values[name], dtype=np.float64)
        leaf = tensor(array, dtype=np.float64, requires_grad=True)
        env[name] = leaves[name] = leaf
        names[id(leaf)] = name
        keep.append(leaf)
    used = set(names.values())
    output = None
    for target, expr in program.statements:
        value = _evaluate(expr, env, exprs, keep)
        if target is not None:
            if id(value) not in names:  # `c = a` keeps a's name
                names[id(value)] = _unique(target, used)
                used.add(names[id(value)])
            env[target] = value
        output = value
    if id(output) not in names:
        taken = used | {t for t, _ in program.statements if t}
        names[id(output)] = _unique("out", taken)
    return Run(program, output, leaves, names, exprs, keep)


def _evaluate(expr, env, exprs, keep):
    """Evaluate a checked expression; remember each result's source text."""
    results: dict = {}
    texts: dict = {}  # id(node) -> its source text, printed bottom-up
    stack = [(expr, False)]
    while stack:
        n, ready = stack.pop()
        if not ready:
            stack.append((n, True))
            children = (n.left, n.right) if isinstance(n, ast.BinOp) else \
                (n.operand,) if isinstance(n, ast.UnaryOp) else \
                tuple(n.args) if isinstance(n, ast.Call) else ()
            stack += [(c, False) for c in reversed(children)]
            continue
        if isinstance(n, ast.Name):
            if n.id not in env:
                raise ProgramError(f"{_where(n)}: name {n.id!r} is not defined")
            value = env[n.id]
        elif isinstance(n, ast.Constant):
            value = float(n.value)
        elif isinstance(n, ast.BinOp):
            value = _apply(_BINOPS[type(n.op)], [results[id(n.left)], results[id(n.right)]], n)
        elif isinstance(n, ast.UnaryOp):
            fn = _UNARY[type(n.op)]
            value = results[id(n.operand)]
            value = value if fn is None else _apply(fn, [value], n)
        else:
            value = _apply(FUNCTIONS[n.func.id], [results[id(a)] for a in n.args], n)
        texts[id(n)] = unparse(n, known=texts)
        if isinstance(value, Tensor) and id(value) not in exprs and not isinstance(n, ast.Name):
            exprs[id(value)] = texts[id(n)]
            keep.append(value)
        results[id(n)] = value
    out = results[id(expr)]
    if not isinstance(out, Tensor):
        out = tensor(out, dtype=np.float64)
        keep.append(out)
    return out


def _apply(fn, args, node):
    if not any(isinstance(a, Tensor) for a in args):
        args = [tensor(a, dtype=np.float64) for a in args]
    try:
        return fn(*args)
    except (TypeError, ValueError) as err:
        raise ProgramError(f"{_where(node)}: {unparse(node)}: {err}") from None


def program(source: str, **values) -> Graph:
    """Run a small straight-line program (`c = a + b; e = c * (b + 1)`) and return its graph.

    Values are given by keyword (`a=2, b=1`); names the program assigns name the nodes.
    """
    run = run_program(source, values)
    graph = Graph(run.output, run.names, run.exprs)
    graph.run = run
    return graph
