"""`cr.scipy`: SciPy's functions with derivatives (needs the `scipy` extra).

Each submodule loads SciPy when first used, so `import chainrule` never needs SciPy.
"""

import importlib

_SUBMODULES = ("integrate", "linalg", "signal", "special", "stats")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'chainrule.scipy' has no attribute {name!r}")


__all__ = list(_SUBMODULES)
