"""What every `cr.scipy` module shares: SciPy itself (or a clear error), and `defop` that
records the primitive's name so that the op table can check it has a case."""

from __future__ import annotations

from ..ops._define import defop as _defop

try:
    import scipy  # noqa: F401 - only to fail early with a useful message
except ImportError as err:  # pragma: no cover - exercised on machines without SciPy
    raise ImportError("cr.scipy needs SciPy: pip install 'chainrule[scipy]'") from err

# The primitives cr.scipy defines (loaded lazily, so not among chainrule's built-ins).
PRIMITIVE_NAMES: list = []


def defop(name, impl, **rules):
    """`cr.defop` for a primitive of cr.scipy, remembered in PRIMITIVE_NAMES."""
    PRIMITIVE_NAMES.append(name)
    return _defop(name, impl, **rules)


def not_differentiable(function, argument):
    """A rule that refuses: no silent zero where SciPy gives no derivative formula."""
    def rule(*args, **params):
        raise NotImplementedError(
            f"{function}: the derivative with respect to {argument} is not available; "
            f"pass {argument} as a constant (cr.stop_gradient) and differentiate the others")
    return rule
