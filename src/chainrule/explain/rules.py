"""Short texts of what a step multiplies, read from the op's own rule, and edge structure.

A rule written as a lambda (`lambda g, ans, x, y: sum_to(g * y, x.shape)`) is read with
`ast` from its source and shown with the graph's names: `g * d`. Calls of the fused
derivative primitives are expanded from their doc (`tanh_grad(g, ans)` reads
`g * (1 - h**2)`), and `sum_to`/`reshape` (which only undo broadcasting) are dropped.
Rules written as functions with branches get a one-line text from a small table.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re

from ..core import PRIMITIVES

__all__ = ["edge_structure", "edge_text", "op_kind", "operand_name", "partial_name",
           "repeated_as", "rule_text"]

# Rules that are functions, not one expression: what they compute, in the rule's names.
_FUNCTION_RULES = {
    ("matmul", "vjp", 0): "g @ b.T", ("matmul", "vjp", 1): "a.T @ g",
    ("linear", "vjp", 1): "g.T @ x", ("linear", "vjp", 2): "sum(g, axis=0)",
    ("sum", "vjp", 0): "broadcast(g)", ("mean", "vjp", 0): "broadcast(g) / n",
    ("getitem", "vjp", 0): "scatter(g)", ("cross_entropy", "vjp", 0): "g * (softmax(x) - onehot)",
    ("sum", "jvp", 0): "sum(t)", ("mean", "jvp", 0): "mean(t)", ("getitem", "jvp", 0): "t[i]",
    ("reshape", "jvp", 0): "reshape(t)", ("transpose", "jvp", 0): "t.T",
}
_PARAMS = {"matmul": ("g", "ans", "a", "b"), "linear": ("g", "ans", "x", "w", "b")}
_DROP = {"sum_to", "reshape", "broadcast_to", "astype"}
_INFIX = {"matmul": "@", "multiply": "*", "add": "+", "subtract": "-", "divide": "/"}


def op_kind(op) -> str:
    """"elementwise", "reduce" (a primitive taking axes), or the op's name: read from the
    batch kind the op declares beside its rules, not re-derived here."""
    if op.batch == "elementwise":
        return "elementwise"
    if op.batch == "axes":
        return "reduce"
    return op.name


@functools.lru_cache(maxsize=None)
def _lambdas(filename: str) -> dict:
    """{line: [ast.Lambda, ...]} of a source file, parsed once."""
    try:
        with open(filename, encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError):
        return {}
    found: dict = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda):
            found.setdefault(node.lineno, []).append(node)
    return found


def _expression(rule):
    """The rule's body as an ast expression and its parameter names (None if not a lambda)."""
    code = getattr(rule, "__code__", None)
    if code is None or code.co_name != "<lambda>":
        return None
    try:
        filename = inspect.getsourcefile(rule)
    except TypeError:
        return None
    params = code.co_varnames[:code.co_argcount]
    candidates = [lam for lam in _lambdas(filename or "").get(code.co_firstlineno, [])
                  if tuple(a.arg for a in lam.args.args) == params]
    cols = [c for line, _, c, _ in code.co_positions() if line == code.co_firstlineno and c]
    if cols and len(candidates) > 1:
        col = min(cols)
        candidates = [lam for lam in candidates
                      if lam.body.col_offset <= col <= (lam.body.end_col_offset or col)]
    if len(candidates) != 1:
        return None
    body = candidates[0].body
    return (body.elts[0] if isinstance(body, ast.Tuple) and body.elts else body), params


def _doc_expression(op, args):
    """`g * (1 - y * y)` from a fused primitive's doc ("g * (1 - y**2): ..."), its
    parameters replaced by `args`; a doc in words ("g where x > 0, else 0") stays words."""
    impl = getattr(op.impl, "__code__", None)
    text = (op.doc or "").split(":")[0].strip()
    if not text or impl is None or impl.co_argcount != len(args):
        return None
    mapping = dict(zip(impl.co_varnames[:impl.co_argcount], args))
    try:
        return _Rename(mapping).visit(ast.parse(text, mode="eval").body)
    except SyntaxError:
        words = re.sub(r"\b\w+\b", lambda m: ast.unparse(mapping[m.group()])
                       if m.group() in mapping else m.group(), text)
        return ast.Name(f"({words})", ast.Load())


class _Simplify(ast.NodeTransformer):
    """Drop shape-only wrappers, expand fused primitives, write matmul as @."""

    def visit_Call(self, node):
        self.generic_visit(node)
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name in _DROP and node.args:
            return node.args[0]
        if name == "transpose" and len(node.args) == 1:
            return ast.Attribute(node.args[0], "T", ast.Load())
        if name in _INFIX and len(node.args) == 2:
            op = {"@": ast.MatMult(), "*": ast.Mult(), "+": ast.Add(), "-": ast.Sub(),
                  "/": ast.Div()}[_INFIX[name]]
            return ast.BinOp(node.args[0], op, node.args[1])
        prim = PRIMITIVES.get(name)
        expanded = _doc_expression(prim, node.args) if prim is not None else None
        return node if expanded is None else expanded


class _Rename(ast.NodeTransformer):
    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, node):
        new = self.mapping.get(node.id)
        if new is None:
            return node
        return new if isinstance(new, ast.AST) else ast.Name(new, ast.Load())


def rule_text(op, which: str, position: int, names: dict) -> str | None:
    """The rule `op.vjp[position]` (which="vjp") or `op.jvp[position]` as short text.

    `names` maps the rule's roles to what the page calls them: "g"/"t" (the incoming
    cotangent or tangent), "ans" (the output node), and "inputs" (a list of names).
    """
    template = _template(op, which, position)
    if template is None:
        return None
    text, roles = template
    inputs = list(names.get("inputs", ()))
    for k, role in enumerate(roles):  # placeholders -> the graph's names
        if role == "ans":
            value = names.get("ans", "ans")
        elif role in ("g", "t"):
            value = names.get(role, role)
        else:
            value = inputs[role] if role < len(inputs) else f"input{role}"
        if "/" in value or " " in value:  # a derivative's name: keep it one operand
            value = f"({value})"
        text = text.replace(f"__{k}__", value)
    return text


@functools.lru_cache(maxsize=None)
def _template(op, which: str, position: int):
    """(text with placeholders __0__, __1__..., the role of each): parsed once per rule."""
    try:
        rule = getattr(op, which)[position]
    except (TypeError, IndexError, KeyError):
        return None
    found = _expression(rule)
    if found is not None:
        tree, params = found
        if _private(tree):
            found = None
    if found is None:
        text = _FUNCTION_RULES.get((op.name, which, position))
        if text is None:
            return None
        tree, params = ast.parse(text, mode="eval").body, _PARAMS.get(op.name, ("g", "ans", "x"))
    roles = [params[0], "ans"] + list(range(len(params) - 2))
    mapping = {p: f"__{k}__" for k, p in enumerate(params)}
    tree = _Rename(mapping).visit(ast.parse(ast.unparse(tree), mode="eval").body)
    return ast.unparse(_Simplify().visit(tree)), tuple(roles)


def _private(tree) -> bool:
    """Does the rule call helpers a reader cannot look up (`_unreduce`, `prim(**params)`)?"""
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and (n.id.startswith("_") or n.id in ("prim", "bind_tensors",
                                                                          "params")):
            return True
    return False


def operand_name(op, position: int) -> str:
    """What the op's rule calls input `position` (`x`, `y`), to tell `x*x`'s edges apart."""
    rules = op.vjp or ()
    code = getattr(rules[position] if position < len(rules) else None, "__code__", None)
    if code is not None and code.co_argcount > 2 + position:
        return code.co_varnames[2 + position]
    return f"input {position}"


def repeated_as(edge) -> str | None:
    """When the edge's source is more than one input of its consumer (`x * x`): which
    operand this edge is (`x` or `y`, as the op's rule names them); else None."""
    if sum(i is edge.src for i in edge.dst.inputs) < 2:
        return None
    return operand_name(edge.dst.tensor._node.op, edge.position)


def partial_name(edge) -> str:
    """`∂c/∂a`, or `∂y/∂x(as y)` for one of `x * x`'s two edges."""
    as_ = repeated_as(edge)
    return f"∂{edge.dst.name}/∂{edge.src.name}" + (f"(as {as_})" if as_ else "")


def edge_text(edge) -> str:
    """An edge's label: its partial (a number) or its Jacobian's structure, with the
    operand named when the source is used twice."""
    label = edge.label() if edge.scalar else edge_structure(edge)
    as_ = repeated_as(edge)
    return f"{as_}: {label}" if as_ else label


def _shape(s) -> str:
    return "x".join(map(str, s)) or "scalar"


def edge_structure(edge) -> str:
    """What the edge's Jacobian looks like, in a few characters (not its entries)."""
    src, dst = edge.src, edge.dst
    kind = op_kind(dst.tensor._node.op) if dst.tensor._node is not None else dst.op
    others = [i.name for k, i in enumerate(dst.inputs) if k != edge.position]
    if kind == "elementwise":
        return "diag" if src.shape == dst.shape else f"diag, broadcast {_shape(src.shape)}"
    if kind == "reduce":
        return f"{dst.op} {_shape(src.shape)}→{_shape(dst.shape)}"
    if kind == "matmul" and others:
        return f"· @ {others[0]}" if edge.position == 0 else f"{others[0]} @ ·"
    if kind == "linear" and len(dst.inputs) >= 2:
        x, w = dst.inputs[0].name, dst.inputs[1].name
        return {0: f"· @ {w}.T", 1: f"{x} ⊗ I"}.get(edge.position,
                                                    f"broadcast {_shape(src.shape)}")
    if kind in ("getitem", "reshape", "transpose", "concatenate", "broadcast_to"):
        return f"{kind} {_shape(src.shape)}→{_shape(dst.shape)}"
    return f"J ({_shape(dst.shape)})×({_shape(src.shape)})"
