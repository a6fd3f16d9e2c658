"""Every public function, given bad input, works as NumPy does or raises a plain error
(TypeError, ValueError, IndexError) whose message starts with the name the user called:
never an internal exception type, never an inner op's name alone."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import Primitive

BAD = {
    "int": lambda: np.arange(6).reshape(2, 3),
    "bool": lambda: np.ones((2, 3), bool),
    "complex": lambda: np.ones((2, 3), complex),
    "object": lambda: np.array([None, 1], dtype=object),
    "str": lambda: np.array(["a", "b"]),
    "None": lambda: None,
    "generator": lambda: (i for i in range(3)),
    "empty": lambda: np.zeros((0,)),
    "zero-size axis": lambda: np.zeros((2, 0)),
    "0-d": lambda: np.array(1.5),
}


def _public_functions() -> dict:
    out = {}
    for name in sorted(dir(cr)):
        fn = getattr(cr, name)
        if name.startswith("_"):
            continue
        if isinstance(fn, Primitive) or (inspect.isfunction(fn)
                                        and fn.__module__.startswith("chainrule.ops")):
            out[name] = fn
    return out


FUNCTIONS = _public_functions()


def _required(fn) -> int:
    if isinstance(fn, Primitive):
        return 1
    params = inspect.signature(fn).parameters.values()
    return max(1, sum(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                          p.POSITIONAL_OR_KEYWORD)
                      for p in params))


def _names(name, fn) -> tuple:
    return (name, fn.name) if isinstance(fn, Primitive) else (name,)


def _check(name, fn, call):
    try:
        with np.errstate(all="ignore"):  # nan/inf results with NumPy's warnings are NumPy's
            call()
    except (TypeError, ValueError, IndexError) as err:
        message = str(err)
        assert type(err) in (TypeError, ValueError, IndexError), (
            f"{name}: an internal exception type escaped: {type(err).__name__}: {message}")
        assert any(message.startswith(n + ":") for n in _names(name, fn)), (
            f"{name}: the error does not start with the function's name: {message}")
    except Exception as err:  # anything else is an internal exception escaping
        pytest.fail(f"{name}: {type(err).__name__} escaped: {err}")


def test_the_sweep_covers_the_public_functions():
    assert len(FUNCTIONS) >= 150   # NumPy's names, the primitives and the composites


@pytest.mark.parametrize("kind", BAD)
def test_every_public_function_given_bad_input(kind):
    for name, fn in FUNCTIONS.items():
        extra = [np.ones((2, 3))] * (_required(fn) - 1)
        _check(name, fn, lambda fn=fn, extra=extra: fn(BAD[kind](), *extra))


def test_every_public_function_given_an_out_of_range_axis():
    for name, fn in FUNCTIONS.items():
        if isinstance(fn, Primitive) or "axis" not in inspect.signature(fn).parameters:
            continue
        args = [np.ones((2, 3))] * _required(fn)
        _check(name, fn, lambda fn=fn, args=args: fn(*args, axis=5))


def test_vmap_of_a_matmul_with_a_zero_size_axis():
    assert cr.vmap(lambda a: a @ np.ones((0, 4)))(np.ones((5, 3, 0))).shape == (5, 3, 4)
    assert cr.vmap(lambda a: np.ones((3, 0)) @ a)(np.ones((5, 0, 4))).shape == (5, 3, 4)
    assert cr.vmap(lambda a: a @ np.ones((2, 4)))(np.ones((0, 3, 2))).shape == (0, 3, 4)
    assert cr.vmap(lambda a: np.ones((2, 3)) @ a)(np.ones((0, 3, 1))).shape == (0, 2, 1)
