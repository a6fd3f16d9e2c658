"""What the command prints besides results: plurals, NumPy's warnings as one line each,
and a quiet end when the reader of stdout goes away (`chainrule explain ... | head`)."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

__all__ = ["plural", "numpy_warnings_as_lines", "quiet_broken_pipe"]


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 epoch`, `2 epochs`, `1,797 images`."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"


@contextlib.contextmanager
def numpy_warnings_as_lines(command: str):
    """NumPy's RuntimeWarnings (e.g. "overflow encountered in exp") printed once each as
    `chainrule CMD: warning: ...` on stderr, instead of a warning that quotes chainrule's
    source lines."""
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            yield
    finally:
        seen = set()
        for w in caught:
            if not issubclass(w.category, RuntimeWarning):  # not ours to reword: pass it on
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            elif str(w.message) not in seen:
                seen.add(str(w.message))
                print(f"{command}: warning: NumPy: {w.message} (a result may be inf or nan)",
                      file=sys.stderr)


def quiet_broken_pipe() -> int:
    """Call when writing to stdout failed because its reader closed the pipe: point
    stdout at /dev/null so the interpreter's final flush cannot fail again; returns the
    exit status a program killed by SIGPIPE reports (141)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return 141
