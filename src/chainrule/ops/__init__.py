"""The primitives, one family a module; importing this package defines them all."""

from . import (  # noqa: F401
    attention,
    conv,
    elementwise,
    elementwise_extra,
    linalg,
    linalg_decomp,
    nn,
    pool,
    reduce,
    scan,
    shape,
    sorting,
)
