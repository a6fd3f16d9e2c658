"""`cr.data`: datasets and a mini-batch loader, the bundled 8x8 digits, IDX / `.npz`
readers, and the checks that make images fit `cr.nn.models`."""

from .dataset import Dataset, Subset, TensorDataset, random_split
from .datasets import load_digits, load_images, load_npz, train_test_split
from .idx import read_idx, write_idx
from .images import check_images, load_split, pixel_scale, scale_images
from .loader import DataLoader, default_collate

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "check_images",
           "default_collate", "load_digits", "load_images", "load_npz", "load_split",
           "pixel_scale", "random_split", "read_idx", "scale_images", "train_test_split",
           "write_idx"]
