"""An iterative parser and printer for the explain language (CPython's `ast.parse` and
`ast.unparse` recurse, and fail on 1,000 nested signs or a sum of 10,000 terms).

`parse_source(text)` returns the same `ast.Module` that `ast.parse` would for a program
in the whitelisted grammar (statements `name = expression` or `expression` separated by
';' or newlines; numbers, names, `+ - * / ** @`, unary `+ -`, parentheses and calls),
built with explicit stacks (operator precedence, Dijkstra's shunting yard). Text outside
that grammar is handed to `ast.parse`, whose nodes or syntax error give the program
checker its precise messages. `unparse(node, limit)` prints an expression as
`ast.unparse` does, iteratively, stopping after `limit` characters.
"""

from __future__ import annotations

import ast
import keyword
import re

__all__ = ["parse_source", "unparse"]

_TOKEN = re.compile(r"""
    (?P<space>[ \t\r\f]+|\\\n|\#[^\n]*)
  | (?P<newline>\n)
  | (?P<number>(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?(?![\w.]))
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op>\*\*|[-+*/@(),;=])
""", re.VERBOSE)

# Python's binding strengths (ast._Precedence): + - < * / @ < unary + - < **.
_ARITH, _TERM, _FACTOR, _POWER, _ATOM = 1, 2, 3, 4, 5
_BINARY = {"+": (ast.Add, _ARITH), "-": (ast.Sub, _ARITH), "*": (ast.Mult, _TERM),
           "/": (ast.Div, _TERM), "@": (ast.MatMult, _TERM), "**": (ast.Pow, _POWER)}
_UNARY = {"-": ast.USub, "+": ast.UAdd}


class _NotInGrammar(Exception):
    """The text needs Python's own parser (an error, or syntax the checker rejects)."""


def _tokens(source: str):
    """(kind, text, line, column) for every token; column 0-based like ast's col_offset."""
    line, line_start, pos = 1, 0, 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise _NotInGrammar
        kind, text = match.lastgroup, match.group()
        if kind == "name" and keyword.iskeyword(text):
            raise _NotInGrammar
        if kind != "space":
            yield kind, text, line, pos - line_start
        if "\n" in text:
            line, line_start = line + text.count("\n"), match.end()
        pos = match.end()
    yield "newline", "\n", line, pos - line_start


def _at(node, line, col):
    node.lineno, node.col_offset = line, col
    node.end_lineno, node.end_col_offset = line, col
    return node


def _number(text):
    try:
        return int(text) if re.fullmatch(r"[\d_]+", text) else float(text)
    except ValueError:  # e.g. "1_": Python's parser says what is wrong
        raise _NotInGrammar from None


class _Expression:
    """Shunting yard for one expression: operands (node, where its text starts, brackets
    included) and an operator stack whose entries are ("bin", symbol, line, col),
    ("unary", symbol, line, col), ("paren", line, col) or ("call", name, line, col,
    argument count)."""

    def __init__(self):
        self.out, self.ops, self.expect_operand = [], [], True

    def _reduce(self):
        entry = self.ops.pop()
        if entry[0] == "unary":
            operand = self.out.pop()[0]
            node = _at(ast.UnaryOp(_UNARY[entry[1]](), operand), entry[2], entry[3])
            self.out.append((node, entry[2:4]))
        elif entry[0] == "bin":
            (right, _), (left, start) = self.out.pop(), self.out.pop()
            node = ast.BinOp(left, _BINARY[entry[1]][0](), right)
            self.out.append((_at(node, *start), start))
        else:
            raise _NotInGrammar  # an unclosed parenthesis or call

    def _precedence(self, entry):
        return _FACTOR if entry[0] == "unary" else _BINARY[entry[1]][1]

    def feed(self, kind, text, line, col, following):
        if self.expect_operand:
            if kind == "number":
                self.out.append((_at(ast.Constant(_number(text)), line, col), (line, col)))
                self.expect_operand = False
            elif kind == "name" and following == "(":
                self.ops.append(("call", text, line, col, 0))
                return True  # the "(" is consumed
            elif kind == "name":
                self.out.append((_at(ast.Name(text, ast.Load()), line, col), (line, col)))
                self.expect_operand = False
            elif text in _UNARY:
                self.ops.append(("unary", text, line, col))
            elif text == "(":
                self.ops.append(("paren", line, col))
            elif text == ")" and self.ops and self.ops[-1][0] == "call" and \
                    self.ops[-1][4] == 0:
                self._close_call(empty=True)
            else:
                raise _NotInGrammar
        elif text in _BINARY:
            prec = _BINARY[text][1]
            while self.ops and self.ops[-1][0] in ("bin", "unary") and (
                    self._precedence(self.ops[-1]) > prec
                    or (self._precedence(self.ops[-1]) == prec and text != "**")):
                self._reduce()
            self.ops.append(("bin", text, line, col))
            self.expect_operand = True
        elif text in (")", ","):
            while self.ops and self.ops[-1][0] in ("bin", "unary"):
                self._reduce()
            if not self.ops:
                raise _NotInGrammar
            if self.ops[-1][0] == "paren" and text == ")":
                _, line, col = self.ops.pop()
                self.out[-1] = (self.out[-1][0], (line, col))  # the bracket starts it
            elif self.ops[-1][0] == "call" and text == ",":
                entry = self.ops.pop()
                self.ops.append(entry[:4] + (entry[4] + 1,))
                self.expect_operand = True
            elif self.ops[-1][0] == "call":
                self._close_call(empty=False)
            else:
                raise _NotInGrammar
        else:
            raise _NotInGrammar
        return False

    def _close_call(self, empty):
        _, name, line, col, count = self.ops.pop()
        count = count if empty else count + 1
        args = [node for node, _ in self.out[len(self.out) - count:]] if count else []
        del self.out[len(self.out) - count:]
        call = ast.Call(_at(ast.Name(name, ast.Load()), line, col), args, [])
        self.out.append((_at(call, line, col), (line, col)))
        self.expect_operand = False

    def finish(self):
        if self.expect_operand:
            raise _NotInGrammar
        while self.ops:
            self._reduce()
        if len(self.out) != 1:
            raise _NotInGrammar
        return self.out[0]


def _statements(tokens):
    """Split into statements at ';' and at newlines outside parentheses."""
    current, depth = [], 0
    for token in tokens:
        kind, text = token[0], token[1]
        depth += (text == "(") - (text == ")")
        if text == ";" or (kind == "newline" and depth <= 0):
            if current:
                yield current
            current = []
        elif kind != "newline":
            current.append(token)


def _parse_grammar(source: str) -> ast.Module:
    body = []
    for tokens in _statements(_tokens(source)):
        target = None
        if (len(tokens) > 2 and tokens[0][0] == "name" and tokens[1][1] == "="):
            target, tokens = tokens[0], tokens[2:]
        expr, skip = _Expression(), False
        for i, (kind, text, line, col) in enumerate(tokens):
            if skip:
                skip = False
                continue
            following = tokens[i + 1][1] if i + 1 < len(tokens) else None
            skip = expr.feed(kind, text, line, col, following)
        value, start = expr.finish()
        if target is None:
            body.append(_at(ast.Expr(value), *start))
        else:
            name = _at(ast.Name(target[1], ast.Store()), target[2], target[3])
            body.append(_at(ast.Assign([name], value), target[2], target[3]))
    return ast.Module(body, [])


def parse_source(source: str) -> ast.Module:
    """`ast.parse(source)` without recursion for the explain grammar (see the module)."""
    try:
        return _parse_grammar(source)
    except _NotInGrammar:
        pass
    try:
        return ast.parse(source, mode="exec")
    except (RecursionError, MemoryError):
        raise SyntaxError("the program is nested too deeply for Python's parser and uses "
                          "syntax outside the explain language") from None


_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.MatMult: "@",
        ast.Pow: "**"}
_PREC = {ast.Add: _ARITH, ast.Sub: _ARITH, ast.Mult: _TERM, ast.Div: _TERM,
         ast.MatMult: _TERM, ast.Pow: _POWER}


def unparse(node, limit: int = 200, known: dict | None = None) -> str:
    """`ast.unparse(node)` for explain expressions, iteratively; text past `limit`
    characters is cut and ends in '...'. `known` maps id(subexpression) to its text
    already printed (printing a chain bottom-up then costs O(limit) a node, not O(n))."""
    parts, size, known = [], 0, known or {}
    stack = [(node, 0)]  # (node or literal text, precedence the context requires)
    while stack and size <= limit:
        item, need = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            size += len(item)
            continue
        if id(item) in known and item is not node:
            prec = _ATOM if isinstance(item, (ast.Name, ast.Constant, ast.Call)) else \
                _FACTOR if isinstance(item, ast.UnaryOp) else _PREC.get(type(item.op), _ATOM)
            text = known[id(item)]
            stack.append((f"({text})" if prec < need else text, 0))
            continue
        if isinstance(item, ast.BinOp):
            prec = _PREC.get(type(item.op))
            if prec is None:
                return ast.unparse(node)
            left, right = (prec + 1, prec) if prec == _POWER else (prec, prec + 1)
            todo = [(item.left, left), (f" {_OPS[type(item.op)]} ", 0), (item.right, right)]
        elif isinstance(item, ast.UnaryOp) and type(item.op) in (ast.USub, ast.UAdd):
            prec = _FACTOR
            todo = [("-" if isinstance(item.op, ast.USub) else "+", 0), (item.operand, _FACTOR)]
        elif isinstance(item, ast.Call) and isinstance(item.func, ast.Name):
            prec, todo = _ATOM, [(item.func.id + "(", 0)]
            for i, arg in enumerate(item.args):
                todo += [(", ", 0)] * (i > 0) + [(arg, 0)]
            todo.append((")", 0))
        elif isinstance(item, (ast.Name, ast.Constant)):
            prec, todo = _ATOM, [(ast.unparse(item), 0)]
        else:
            return ast.unparse(node)  # not explain's grammar: small enough for ast
        if prec < need:
            todo = [("(", 0), *todo, (")", 0)]
        stack.extend(reversed(todo))
    text = "".join(parts)
    return text if not stack and len(text) <= limit else text[:limit] + "..."
