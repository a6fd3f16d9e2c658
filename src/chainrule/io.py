"""`cr.save` / `cr.load`: nested state (dicts, lists, numbers, strings, arrays) in one
`.npz` file, read back with `allow_pickle=False`.

Arrays are stored as the file's members under their dotted path (`model/0.weight`), so
`np.load` alone can read them; the nesting and the scalars are described by a JSON string
stored in the member `__chainrule__`. Writes go to a temporary file in the same folder,
flushed to disk and renamed over the target: a crash or Ctrl-C mid-save leaves any
existing file untouched.
"""

from __future__ import annotations

import json
import numbers
import os
import tempfile
import zipfile

import numpy as np

import chainrule as cr

__all__ = ["save", "load"]

_META = "__chainrule__"
_FORMAT = 1


def _encode(obj, path: str, arrays: dict):
    """The JSON description of obj; arrays go into `arrays` under a unique member name."""
    if isinstance(obj, cr.Tensor):
        obj = obj.data
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise TypeError(f"save: '{path or '/'}' is an array of Python objects, which "
                            "cannot be stored without pickle")
        name = path or "array"
        while name in arrays or name == _META:
            name += "_"
        arrays[name] = obj
        return {"$array": name}
    if isinstance(obj, np.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return float(obj)
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if not isinstance(key, (str, int, np.integer)) or isinstance(key, bool):
                raise TypeError(f"save: dict keys must be strings or ints, got {key!r} at "
                                f"'{path or '/'}'")
            key = key if isinstance(key, str) else int(key)
            items.append([key, _encode(value, f"{path}/{key}" if path else str(key), arrays)])
        return {"$dict": items}
    if isinstance(obj, (list, tuple)):
        tag = "$list" if isinstance(obj, list) else "$tuple"
        return {tag: [_encode(v, f"{path}/{i}" if path else str(i), arrays)
                      for i, v in enumerate(obj)]}
    raise TypeError(f"save: cannot store a {type(obj).__name__} at '{path or '/'}' without "
                    "pickle; use dicts, lists, tuples, numbers, strings, None and arrays")


def _decode(desc, arrays):
    if isinstance(desc, dict):
        if "$array" in desc:
            return arrays[desc["$array"]]
        if "$dict" in desc:
            return {key: _decode(value, arrays) for key, value in desc["$dict"]}
        if "$list" in desc:
            return [_decode(v, arrays) for v in desc["$list"]]
        if "$tuple" in desc:
            return tuple(_decode(v, arrays) for v in desc["$tuple"])
        raise ValueError(f"load: unknown entry {sorted(desc)} in the file's description")
    return desc


def save(state, path) -> None:
    """Write `state` (a dict of arrays, tensors, numbers, strings, lists, nested dicts:
    e.g. {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}) to
    `path` as an `.npz` file, atomically (temporary file + rename)."""
    arrays: dict = {}
    meta = json.dumps({"format": _FORMAT, "tree": _encode(state, "", arrays)})
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **{_META: np.array(meta)}, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load(path):
    """Read a file written by `cr.save` (or any `.npz` of plain arrays, returned as a dict
    of arrays). Never unpickles: a file holding pickled objects is refused."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    with open(path, "rb") as f:
        head = f.read(6)
    refused = (f"load: {path} holds pickled Python objects; chainrule refuses to unpickle "
               "files (it could run arbitrary code). Save plain arrays with cr.save or "
               "np.savez")
    if head[:1] == b"\x80":
        raise ValueError(refused)
    if head[:2] != b"PK":
        what = "a single .npy array" if head == b"\x93NUMPY" else "not an .npz archive"
        raise ValueError(f"load: {path} is {what}; expected a file written by cr.save")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except ValueError as err:
        if "pickle" in str(err):
            raise ValueError(refused) from None
        raise ValueError(f"load: {path} is not a readable .npz file: {err}") from None
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise ValueError(f"load: {path} is not a readable .npz file: {err}") from None
    if _META not in arrays:
        return arrays
    meta = json.loads(str(arrays.pop(_META)))
    return _decode(meta["tree"], arrays)
