"""The IDX file format (MNIST's): a magic number, big-endian dimensions, then the data.

Magic: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
0x0D float32, 0x0E float64) and the number of dimensions; then one big-endian uint32 per
dimension. Files may be gzipped (detected from their first bytes, not their name).
"""

from __future__ import annotations

import gzip
import os

import numpy as np

from ..files import open_regular, write_bytes

__all__ = ["read_idx", "write_idx"]

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {np.dtype(v).newbyteorder("="): k for k, v in _TYPES.items()}


def _read_bytes(path) -> bytes:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"read_idx: no such file: {path}")
    with open_regular(path) as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise ValueError(f"read_idx: {path} is a damaged gzip file: {err}") from None
    return raw


def read_idx(path) -> np.ndarray:
    """The array stored in an IDX file (raw or gzipped), in native byte order."""
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        raise ValueError(f"read_idx: {os.fspath(path)} is not an IDX file (its first bytes "
                         f"{raw[:4].hex(' ')} are not 00 00 <type> <ndim>)")
    dtype = np.dtype(_TYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {os.fspath(path)} is truncated inside its header")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    count = int(np.prod(shape, dtype=np.int64))
    expected = header + count * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"read_idx: {os.fspath(path)} declares shape {shape} of {dtype.name} "
                         f"({expected} bytes with the header) but holds {len(raw)} bytes")
    data = np.frombuffer(raw, dtype, count=count, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def write_idx(path, array, compress=None) -> None:
    """Write `array` as an IDX file; gzipped when `compress` is True or, by default, when
    the name ends in `.gz`."""
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"write_idx: IDX stores uint8, int8, int16, int32, float32 or float64, "
                        f"not {array.dtype}")
    if array.ndim > 255:
        raise ValueError("write_idx: too many dimensions")
    body = (bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
            + array.astype(_TYPES[code]).tobytes())
    path = os.fspath(path)
    if compress is None:
        compress = path.endswith(".gz")
    write_bytes(path, gzip.compress(body) if compress else body)
