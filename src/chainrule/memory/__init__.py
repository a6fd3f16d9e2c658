"""Memory: what backprop keeps (`report`), and recomputing instead of storing (`plan`)."""

from ..transforms.checkpoint import replay_generator
from .budget import apply_budget
from .plan import Plan, plan
from .report import MemoryReport, SavedValue, fmt_bytes, report
from .sequential import CheckpointedSequence, checkpoint_sequential

__all__ = ["CheckpointedSequence", "apply_budget", "MemoryReport", "Plan", "SavedValue",
           "checkpoint_sequential", "fmt_bytes", "plan", "replay_generator", "report"]
