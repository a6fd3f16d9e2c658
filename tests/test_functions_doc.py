"""docs/functions.md lists every NumPy function chainrule implements, and only those."""

import pathlib
import re

import numpy as np

import chainrule as cr

DOC = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "functions.md").read_text()
PROSE = re.sub(r"```.*?```", "", DOC, flags=re.S)
LISTED = {w for span in re.findall(r"`([^`]*)`", PROSE) for w in re.findall(r"[a-z_0-9]+", span)}


def _numpy_functions(module):
    return {n for n in dir(module) if not n.startswith("_") and callable(getattr(np, n, None))
            and not isinstance(getattr(np, n), type)}


def test_every_numpy_function_of_chainrule_is_listed():
    implemented = _numpy_functions(cr) - {"save", "load"}   # cr's own file format
    assert sorted(implemented - LISTED) == []


def test_every_listed_numpy_name_exists():
    named = {w for w in LISTED if callable(getattr(np, w, None))} - {"linalg"}
    missing = sorted(w for w in named if not hasattr(cr, w) and not hasattr(cr.linalg, w))
    assert missing == []


def test_the_count_in_the_text_is_current():
    count = len(_numpy_functions(cr) - {"save", "load"})
    assert f"implements {count} NumPy functions" in DOC.replace("\n", " ")
