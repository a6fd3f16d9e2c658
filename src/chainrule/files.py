"""How chainrule touches files: every write is atomic, every read opens only a regular file.

`atomic_write(path)` writes to a temporary file in the target's folder, flushes it to disk
and renames it over the target, so a crash, Ctrl-C or `kill -9` mid-write leaves any
existing file whole. Temporaries are named `.<name>.chainrule-<pid>-<random>.tmp`; a
`kill -9` leaves one behind, and the next write into that folder deletes those whose
process has ended. `open_regular(path)` refuses FIFOs, devices and sockets (opening a
FIFO for reading would wait forever for a writer). This module imports nothing of
chainrule's, so every layer may use it.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import time

__all__ = ["NotARegularFile", "atomic_write", "clean_stale_temporaries", "is_regular_file",
           "open_regular", "write_bytes", "write_text"]

_TEMP = re.compile(r"^\..+\.chainrule-(\d+)-[0-9a-f]{8}\.tmp$")
STALE_AFTER = 24 * 3600  # seconds: a temporary this old is stale even if its pid lives on


class NotARegularFile(OSError):
    """The path names a FIFO, device, socket or folder where a file was expected."""


def _temporary_name(path: str) -> str:
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.chainrule-{os.getpid()}-{secrets.token_hex(4)}.tmp")


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: keep the file
    return True


def clean_stale_temporaries(folder) -> list[str]:
    """Delete chainrule's own temporaries in `folder` left by processes that have ended (or
    older than a day); returns the paths removed. Other files are never touched."""
    removed = []
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return removed
    now = time.time()
    for name in names:
        match = _TEMP.match(name)
        if match is None:
            continue
        path = os.path.join(folder, name)
        try:
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                continue
            if _process_alive(int(match.group(1))) and now - info.st_mtime < STALE_AFTER:
                continue
            os.unlink(path)
            removed.append(path)
        except OSError:
            continue  # raced with another cleaner, or not ours to delete
    return removed


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", encoding: str | None = None, who: str = "write"):
    """Open a temporary beside `path` for writing; on success it replaces `path`
    (flushed to disk first); on any error or interrupt it is deleted and `path` is
    untouched. `mode` is "wb" or "w" (text, UTF-8 unless `encoding` says otherwise);
    `who` (the function the user called) starts the error messages."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{who}: the folder {folder} does not exist (writing {path})")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{who}: {path} is a folder; give a file name")
    clean_stale_temporaries(folder)
    tmp = _temporary_name(os.path.join(folder, os.path.basename(path)))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        if mode == "w":
            f = os.fdopen(fd, "w", encoding=encoding or "utf-8", newline="")
        else:
            f = os.fdopen(fd, "wb")
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_bytes(path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_write(path, "wb") as f:
        f.write(data)


def write_text(path, text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    with atomic_write(path, "w") as f:
        f.write(text)


def open_regular(path):
    """Open `path` for reading in binary mode, refusing anything but a regular file (a
    FIFO is opened without blocking, then refused)."""
    path = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                    else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                    else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
            raise NotARegularFile(f"{path} is {kind}, not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def is_regular_file(path) -> bool:
    """True when `path` is a regular file (following symlinks); never opens it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False
