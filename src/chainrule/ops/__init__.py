"""The primitives, one family a module; importing this package defines them all."""

from . import attention, conv, elementwise, linalg, nn, pool, reduce, shape  # noqa: F401
