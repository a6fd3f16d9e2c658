"""The primitives, one family a module; importing this package defines them all."""

from . import conv, elementwise, elementwise_extra, linalg, nn, reduce, shape, sorting  # noqa: F401
