"""The primitives, one family a module; importing this package defines them all."""

from . import (  # noqa: F401
    conv,
    elementwise,
    elementwise_extra,
    linalg,
    nn,
    reduce,
    scan,
    shape,
    sorting,
)
