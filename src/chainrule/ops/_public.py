"""`public`: the boundary of every public function. Errors raised anywhere inside start
with the name of the function the user called (`append: concatenate: axis 5 is out of
range ...`, not only an inner op's), and PyTorch's `dim=` is accepted as NumPy's `axis=`."""

from __future__ import annotations

import functools
import inspect
import warnings

import numpy as np

# NumPy only warns when a complex value is cast to a real one inside chainrule's code: the
# imaginary part is dropped, a silent wrong number. Inside chainrule it is an error, which
# the public boundary turns into a TypeError naming the function.
warnings.filterwarnings("error", category=np.exceptions.ComplexWarning, module=r"chainrule\.")

_PLAIN = (TypeError, ValueError, IndexError)
# Internal exception types that bad input can provoke, and the plain type users see.
_INTERNAL = ((ZeroDivisionError, ValueError), (AttributeError, TypeError),
             (KeyError, ValueError))


def _plain(err: Exception):
    for kind in _PLAIN:
        if isinstance(err, kind):
            return kind  # NumPy's own subclasses (AxisError, ...) become the plain type
    for internal, plain in _INTERNAL:
        if isinstance(err, internal):
            return plain
    return None


def public(fn, name: str | None = None):
    """`fn` wrapped as a public function (see the module's docstring), its errors naming
    `name` (an alias's own name; default fn's); idempotent."""
    name = name or fn.__name__
    if getattr(fn, "__chainrule_public__", False) and fn.__name__ == name:
        return fn
    try:
        takes_axis = "axis" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        takes_axis = False

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if takes_axis and "dim" in kwargs:
            if "axis" in kwargs:
                raise TypeError(f"{name}: give axis= or dim= (the same thing), not both")
            kwargs["axis"] = kwargs.pop("dim")
        try:
            return fn(*args, **kwargs)
        except np.exceptions.ComplexWarning:
            raise TypeError(f"{name}: complex input is not supported here (its imaginary part "
                            "would be dropped); pass cr.real(x) or cr.abs(x)") from None
        except (*_PLAIN, ZeroDivisionError, AttributeError, KeyError) as err:
            plain = _plain(err)
            if type(err) is plain and str(err).startswith(name + ":"):
                raise
            raise plain(f"{name}: {err}") from None
    wrapper.__chainrule_public__ = True
    wrapper.__name__ = wrapper.__qualname__ = name
    return wrapper
