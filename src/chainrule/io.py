"""`cr.save` / `cr.load`: nested state (dicts, lists, numbers, strings, arrays) in one
`.npz` file, read back without pickle.

Arrays are stored as the file's members under their dotted path (`model/0.weight`), so
`np.load` alone can read them; the nesting and the scalars are described by a JSON string
stored in the member `__chainrule__`. Writes are atomic (`chainrule.files.atomic_write`).
Reads trust nothing in the file: every member's declared shape is checked against the
bytes the archive holds before anything is allocated, the total is capped by `max_bytes`,
and a malformed description is one `ValueError` naming the file.
"""

from __future__ import annotations

import json
import numbers
import os
import struct
import zipfile
import zlib

import numpy as np

import chainrule as cr

from .files import atomic_write, open_regular

__all__ = ["save", "load", "MAX_BYTES", "MAX_DEPTH"]

_META = "__chainrule__"
_FORMAT = 1
MAX_BYTES = 1 << 30   # what `load` allocates at most unless told otherwise (1 GiB)
MAX_DEPTH = 256       # nesting levels a state may have (a deeper one is almost surely a cycle)
_TAGS = ("$array", "$dict", "$list", "$tuple")


def _where(path: str) -> str:
    return f"'{path or '/'}'"


def _encode_leaf(obj, path: str, arrays: dict):
    """(description, None) for a leaf, or (description, children) for a container whose
    children [(slot, value, path)] still need encoding into description's list."""
    if isinstance(obj, cr.Tensor):
        obj = obj.data
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise TypeError(f"save: {_where(path)} is an array of Python objects, which "
                            "cannot be stored without pickle")
        name = path or "array"
        while name in arrays or name == _META:
            name += "_"
        arrays[name] = obj
        return {"$array": name}, None
    if isinstance(obj, np.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, (bool, str)):
        return obj, None
    if isinstance(obj, numbers.Integral):
        return int(obj), None
    if isinstance(obj, numbers.Real):
        return float(obj), None
    if isinstance(obj, dict):
        items, children = [], []
        for key, value in obj.items():
            if not isinstance(key, (str, int, np.integer)) or isinstance(key, bool):
                raise TypeError(f"save: dict keys must be strings or ints, got {key!r} at "
                                f"{_where(path)}")
            key = key if isinstance(key, str) else int(key)
            items.append([key, None])
            children.append((items[-1], 1, value, f"{path}/{key}" if path else str(key)))
        return {"$dict": items}, children
    if isinstance(obj, (list, tuple)):
        values = [None] * len(obj)
        children = [(values, i, v, f"{path}/{i}" if path else str(i)) for i, v in enumerate(obj)]
        return {"$list" if isinstance(obj, list) else "$tuple": values}, children
    raise TypeError(f"save: cannot store a {type(obj).__name__} at {_where(path)} without "
                    "pickle; use dicts, lists, tuples, numbers, strings, None and arrays")


def _encode(state, arrays: dict):
    """The JSON description of `state` (arrays go into `arrays`), built with a stack."""
    root = [None]
    stack = [(root, 0, state, "", 0)]
    while stack:
        holder, slot, obj, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"save: the state is nested more than {MAX_DEPTH} levels deep at "
                             f"{_where(path[:200])} (does a container hold itself?)")
        desc, children = _encode_leaf(obj, path, arrays)
        holder[slot] = desc
        for child_holder, child_slot, value, child_path in reversed(children or ()):
            stack.append((child_holder, child_slot, value, child_path, depth + 1))
    return root[0]


def save(state, path) -> None:
    """Write `state` (a dict of arrays, tensors, numbers, strings, lists, nested dicts:
    e.g. {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}) to
    `path` as an `.npz` file, atomically (temporary file + rename)."""
    arrays: dict = {}
    tree = _encode(state, arrays)
    try:
        meta = json.dumps({"format": _FORMAT, "tree": tree})
    except ValueError as err:  # e.g. an int of more than 4,300 digits
        raise ValueError(f"save: {err}") from None
    with atomic_write(path, who="save") as f:
        np.savez(f, **{_META: np.array(meta)}, **arrays)


class _Corrupt(ValueError):
    """A check of the archive against its own declarations failed."""


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """One `.npy` member, its declared size checked against the archive before allocating."""
    with zf.open(info) as fp:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise _Corrupt(f"member {info.filename} uses .npy version {version}, which "
                           "chainrule does not read")
        if dtype.hasobject:
            raise _Corrupt("pickle")
        if any(d < 0 for d in shape):
            raise _Corrupt(f"member {info.filename} declares a negative shape {shape}")
        declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
        held = info.file_size - fp.tell()
        if declared != held:
            raise _Corrupt(f"member {info.filename} declares shape {shape} of {dtype} "
                           f"({declared:,} bytes) but the archive holds {held:,}")
        buffer = bytearray(declared)
        if declared and fp.readinto(memoryview(buffer)) != declared:
            raise _Corrupt(f"member {info.filename} is truncated")
    array = np.frombuffer(buffer, dtype=dtype)
    return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


def _read_archive(f, path: str, max_bytes) -> dict:
    with zipfile.ZipFile(f) as zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if max_bytes is not None and total > max_bytes:
            raise ValueError(f"load: {path} would allocate {total / 2**20:,.1f} MiB, more "
                             f"than max_bytes={max_bytes:,}; if you trust the file, pass "
                             "cr.load(path, max_bytes=None) or a larger limit")
        arrays = {}
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise _Corrupt(f"member {info.filename!r} is not a .npy array")
            arrays[info.filename[:-4]] = _read_member(zf, info)
        return arrays


def _decode(tree, arrays: dict):
    """The state described by `tree`, built with a stack; ValueError on anything malformed."""
    def bad(what):
        return _Corrupt(f"its description is malformed: {what}")

    root = [None]
    tuples = []   # (holder, slot, list): made tuples deepest first once filled
    stack = [(root, 0, tree)]
    while stack:
        holder, slot, desc = stack.pop()
        if desc is None or isinstance(desc, (bool, int, float, str)):
            holder[slot] = desc
            continue
        if not isinstance(desc, dict) or len(desc) != 1 or next(iter(desc)) not in _TAGS:
            raise bad(f"unexpected entry {str(desc)[:80]}")
        tag, body = next(iter(desc.items()))
        if tag == "$array":
            if not isinstance(body, str) or body not in arrays:
                raise bad(f"array {str(body)[:80]} is not in the archive")
            holder[slot] = arrays[body]
        elif not isinstance(body, list):
            raise bad(f"{tag} holds a {type(body).__name__}, not a list")
        elif tag == "$dict":
            value = holder[slot] = {}
            for pair in body:
                if (not isinstance(pair, list) or len(pair) != 2
                        or not isinstance(pair[0], (str, int)) or isinstance(pair[0], bool)):
                    raise bad(f"dict entry {str(pair)[:80]} is not a [key, value] pair")
                value[pair[0]] = None
                stack.append((value, pair[0], pair[1]))
        else:
            value = holder[slot] = [None] * len(body)
            if tag == "$tuple":
                tuples.append((holder, slot, value))
            stack.extend((value, i, child) for i, child in enumerate(body))
    for holder, slot, value in reversed(tuples):
        holder[slot] = tuple(value)
    return root[0]


def load(path, max_bytes: int | None = MAX_BYTES):
    """Read a file written by `cr.save` (or any `.npz` of plain arrays, returned as a dict
    of arrays). Never unpickles; refuses to allocate more than `max_bytes` (1 GiB by
    default; None for no limit); a damaged or hostile file is one `ValueError`."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    try:
        with open_regular(path) as f:
            head = f.read(6)
            f.seek(0)
            refused = (f"load: {path} holds pickled Python objects; chainrule refuses to "
                       "unpickle files (it could run arbitrary code). Save plain arrays with "
                       "cr.save or np.savez")
            if head[:1] == b"\x80":
                raise ValueError(refused)
            if head[:2] != b"PK":
                what = "a single .npy array" if head == b"\x93NUMPY" else "not an .npz archive"
                raise ValueError(f"load: {path} is {what}; expected a file written by cr.save")
            arrays = _read_archive(f, path, max_bytes)
    except _Corrupt as err:
        if str(err) == "pickle":
            raise ValueError(refused) from None
        raise ValueError(f"load: {path} is damaged: {err}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError,
            zlib.error, EOFError, struct.error, UnicodeError, OverflowError, MemoryError) as err:
        raise ValueError(f"load: {path} is not a readable .npz file: "
                         f"{err or type(err).__name__}") from None
    except OSError as err:
        raise OSError(f"load: cannot read {path}: {err.strerror or err}") from None
    except ValueError as err:
        if str(err).startswith("load: "):
            raise
        raise ValueError(f"load: {path} is not a readable .npz file: {err}") from None
    if _META not in arrays:
        return arrays
    meta_array = arrays.pop(_META)
    try:
        if meta_array.dtype.kind != "U" or meta_array.shape != ():
            raise _Corrupt(f"{_META} is a {meta_array.dtype} array of shape "
                           f"{meta_array.shape}, not a string")
        meta = json.loads(str(meta_array))
        if not isinstance(meta, dict) or "tree" not in meta:
            raise _Corrupt(f"{_META} has no 'tree'")
        if not isinstance(meta.get("format"), int) or meta["format"] > _FORMAT:
            raise _Corrupt(f"format {str(meta.get('format'))[:20]} is not one this chainrule "
                           f"reads (it reads format {_FORMAT}; a newer chainrule wrote it?)")
        return _decode(meta["tree"], arrays)
    except RecursionError:
        raise ValueError(f"load: {path} is damaged: its description is nested too deeply") \
            from None
    except (_Corrupt, json.JSONDecodeError, ValueError) as err:
        raise ValueError(f"load: {path} is damaged: {err}") from None
