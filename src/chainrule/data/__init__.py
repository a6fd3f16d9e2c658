"""`cr.data`: a mini-batch loader, the bundled 8x8 digits, and IDX / `.npz` readers."""

from .datasets import load_digits, load_images, load_npz, train_test_split
from .idx import read_idx, write_idx
from .loader import DataLoader

__all__ = ["DataLoader", "load_digits", "load_images", "load_npz", "read_idx", "write_idx",
           "train_test_split"]
