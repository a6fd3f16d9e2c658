"""chainrule.files: one atomic writer for every file chainrule writes, stale temporaries
cleaned, and reads that never open a FIFO."""

import os
import pathlib

import numpy as np
import pytest

import chainrule as cr
from chainrule import files

SRC = pathlib.Path(cr.__file__).parent
DEAD_PID = 2**22 + 12345  # above Linux's largest pid: no such process


def test_atomic_write_replaces_whole_or_not_at_all(tmp_path):
    path = tmp_path / "a.txt"
    files.write_text(path, "first")
    with pytest.raises(KeyboardInterrupt):
        with files.atomic_write(path, "w") as f:
            f.write("half of the second")
            raise KeyboardInterrupt
    assert path.read_text() == "first" and os.listdir(tmp_path) == ["a.txt"]
    files.write_bytes(path, b"second")
    assert path.read_bytes() == b"second" and os.listdir(tmp_path) == ["a.txt"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        files.write_text(tmp_path / "no" / "b.txt", "x")
    with pytest.raises(IsADirectoryError):
        files.write_text(tmp_path, "x")


def test_stale_temporaries_of_our_naming_are_cleaned_and_nothing_else(tmp_path):
    stale = tmp_path / f".model.npz.chainrule-{DEAD_PID}-0123abcd.tmp"
    live = tmp_path / f".model.npz.chainrule-{os.getpid()}-0123abcd.tmp"
    other = tmp_path / ".model.npz.someone-else.tmp"
    for p in (stale, live, other):
        p.write_bytes(b"x" * 100)
    cr.save({"w": np.ones(2)}, tmp_path / "model.npz")
    assert sorted(os.listdir(tmp_path)) == sorted(["model.npz", live.name, other.name])
    os.utime(live, (0, 0))  # a day old: stale even though the pid lives
    assert files.clean_stale_temporaries(tmp_path) == [str(live)]


def test_every_writer_in_the_package_goes_through_atomic_write():
    # Writing a file is `open(..., "w")`, `write_text`/`write_bytes` on a path, or savez /
    # savefig given a name: only files.py may do these.
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "files.py":
            continue
        text = path.read_text()
        for needle in ('"w")', '"wb")', "'w')", "'wb')", ".write_text(", ".write_bytes(",
                       "os.replace(", "mkstemp("):
            if needle in text and "atomic_write" not in text.split(needle)[0][-200:]:
                offenders.append(f"{path.relative_to(SRC)}: {needle}")
    assert not offenders, offenders


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_open_regular_refuses_fifos_and_folders(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(files.NotARegularFile, match="is a FIFO"):
        files.open_regular(tmp_path / "pipe")
    with pytest.raises(files.NotARegularFile, match="is a folder"):
        files.open_regular(tmp_path)
    assert not files.is_regular_file(tmp_path / "pipe")
    (tmp_path / "f").write_bytes(b"ok")
    with files.open_regular(tmp_path / "f") as f:
        assert f.read() == b"ok"


@pytest.mark.skipif(not hasattr(os, "kill") or os.name != "posix", reason="kill -9 is POSIX")
def test_kill_9_mid_save_leaves_the_file_whole_and_the_next_save_cleans_up(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "model.npz"
    cr.save({"w": np.zeros(3)}, path)
    code = ("import numpy as np, chainrule as cr\n"
            "big = np.random.default_rng(0).normal(size=2_000_000)\n"
            "print('ready', flush=True)\n"
            f"while True: cr.save({{'w': big}}, {str(path)!r})\n")
    left = []
    for _ in range(5):  # the kill may land just after a rename: then try again
        writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        assert writer.stdout.readline() == b"ready\n"
        deadline = time.time() + 30
        while not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] and \
                time.time() < deadline:
            time.sleep(0.001)
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        left = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
        if left:
            break
    assert left  # a temporary was left behind by the killed writer
    assert cr.load(path)["w"].shape in ((3,), (2_000_000,))   # the file itself is whole
    cr.save({"w": np.ones(2)}, path)
    assert os.listdir(tmp_path) == ["model.npz"]
