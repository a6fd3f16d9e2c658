"""The explain language's iterative parser and printer: the same trees and text as
Python's `ast`, without its recursion limits; the command bounds the work it accepts."""

import ast
import random

import pytest

from chainrule import explain
from chainrule.cli.main import main
from chainrule.explain.parse import parse_source, unparse
from chainrule.explain.program import run_program


def _random_program(rng):
    def expr(depth):
        r = rng.random()
        if depth > 4 or r < 0.25:
            return rng.choice(["a", "b", "x1", "2", "0.5", "1e-3", "3.", ".25", "1_000"])
        if r < 0.4:
            return rng.choice(["-", "+"]) + expr(depth + 1)
        if r < 0.5:
            return "(" + expr(depth + 1) + ")"
        if r < 0.6:
            args = ", ".join(expr(depth + 1) for _ in range(rng.randint(0, 2)))
            return rng.choice(["sin", "f", "maximum"]) + "(" + args + ")"
        return expr(depth + 1) + rng.choice([" + ", "-", "*", " / ", "**", " @ "]) + \
            expr(depth + 1)
    return rng.choice(["; ", "\n"]).join(
        (f"c{j} = " if rng.random() < 0.5 else "") + expr(0) for j in range(rng.randint(1, 3)))


def _positions(tree):
    return [(type(n).__name__, n.lineno, n.col_offset) for n in ast.walk(tree)
            if hasattr(n, "col_offset")]


def test_same_trees_positions_and_text_as_pythons_ast():
    rng = random.Random(0)
    for _ in range(600):
        source = _random_program(rng)
        ours, theirs = parse_source(source), ast.parse(source)
        assert ast.dump(ours) == ast.dump(theirs), source
        assert _positions(ours) == _positions(theirs), source
        for a, b in zip(ours.body, theirs.body):
            assert unparse(a.value, limit=10**6) == ast.unparse(b.value), source
            known = {}  # printed bottom-up, as the program runner does
            for node in reversed(list(ast.walk(a.value))):
                known[id(node)] = unparse(node, limit=10**6, known=known)
            assert known[id(a.value)] == ast.unparse(b.value), source


def test_outside_the_grammar_pythons_parser_gives_the_message():
    with pytest.raises(explain.ProgramError, match="attribute access"):
        explain.parse_program("np.sin(x)")
    with pytest.raises(explain.ProgramError, match="syntax error"):
        explain.parse_program("x +* y")
    with pytest.raises(explain.ProgramError, match="positional arguments only"):
        explain.parse_program("sin(x=1)")


@pytest.mark.parametrize("source, value", [
    ("+".join(["x"] * 10_000), 10_000.0),
    ("y = " + "-" * 1_000 + "x", 2.0),
    ("y = " + "-(" * 1_001 + "x" + ")" * 1_001, -2.0),
    ("x" + " ** x" * 3_000, None),  # parsed only: the tower overflows
])
def test_huge_and_deeply_nested_programs_parse_and_run(source, value):
    tree = parse_source(source)
    assert len(tree.body) == 1
    if value is not None:
        run = run_program(source, {"x": 1.0 if "+" in source else 2.0})
        assert float(run.output.data) == value
        assert all(len(text) <= 203 for text in run.exprs.values())  # printed texts are cut


def test_the_command_explains_1000_nested_signs(capsys):
    assert main(["explain", "y = " + "-" * 1_000 + "x", "--at", "x=3"]) == 0
    assert "y = 3" in capsys.readouterr().out


def test_the_command_bounds_the_work_it_accepts(capsys):
    program = "+".join(f"x{i}" for i in range(2_000))
    at = [f"x{i}=1" for i in range(2_000)]
    assert main(["explain", program, "--at", *at]) == 2
    err = capsys.readouterr().err
    assert "2,000 inputs" in err and "--wrt" in err and err.count("\n") == 1
    assert main(["explain", "--chain", ",".join(["5"] * 10_000)]) == 2
    err = capsys.readouterr().err
    assert "10,000 widths" in err and "at most 200" in err and err.count("\n") == 1
