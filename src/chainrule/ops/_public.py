"""`public`: errors raised inside a composite function name the function the user called."""

from __future__ import annotations

import functools

_PLAIN = (TypeError, ValueError, IndexError)


def public(fn):
    """Wrap a composite so that a plain error from the ops it calls starts with its name
    (`append: concatenate: axis 5 is out of range ...`), not only an inner op's."""
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except _PLAIN as err:
            if str(err).startswith(name + ":"):
                raise
            # NumPy's own subclasses (AxisError, ...) become the plain type they extend.
            plain = type(err) if type(err) in _PLAIN else next(
                t for t in _PLAIN if isinstance(err, t))
            raise plain(f"{name}: {err}") from None
    return wrapper
