"""docs/explain.md shows chainrule's real output: each `$ chainrule ...` transcript is rerun."""

import pathlib
import re
import shlex

import pytest

from chainrule.cli.main import main

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "explain.md"
TRANSCRIPT = re.compile(r"^```console\n\$ (chainrule [^\n]*)\n(.*?)^```", re.S | re.M)
BLOCKS = TRANSCRIPT.findall(DOC.read_text())


def test_the_doc_has_the_worked_examples():
    commands = [c for c, _ in BLOCKS]
    assert any("c = a + b; d = b + 1; e = c * d" in c for c in commands)  # colah
    assert any("5*y + 6*y + 7*y" in c for c in commands)                  # 3x3 paths
    assert any("x * y" in c and "y=-6" in c for c in commands)            # f = xy
    assert any("--chain" in c for c in commands)                          # chain costs


@pytest.mark.parametrize("command, expected", BLOCKS, ids=[c[:40] for c, _ in BLOCKS])
def test_transcript_matches_the_command(command, expected, capsys):
    assert main(shlex.split(command)[1:]) == 0
    assert capsys.readouterr().out == expected
