"""Memory: what backprop keeps (`report`), and recomputing instead of storing (`plan`)."""

from ..transforms.checkpoint import replay_generator

__all__ = ["replay_generator"]
