"""The MPI communicator, its ranks, and collectives that time out instead of hanging."""

from __future__ import annotations

import time

import numpy as np

__all__ = ["DistributedError", "all_ranks_ok", "allreduce_array", "bcast_array",
           "allgather_text", "init",
           "is_main", "rank", "stats", "world_size"]

INSTALL_HINT = ("data-parallel training needs MPI: install Open MPI (apt-get install "
                "openmpi-bin libopenmpi-dev) and mpi4py (pip install 'chainrule[distributed]'), "
                "then launch with: mpirun -n 2 chainrule train --distributed")


class DistributedError(RuntimeError):
    """A collective failed or timed out (another rank died or stopped answering)."""


class _State:
    comm = None
    timeout = 60.0
    bytes_sent = 0      # payload bytes this rank handed to allreduce/broadcast
    calls = 0
    seconds = 0.0       # time spent inside collectives


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as err:
        raise DistributedError(f"{INSTALL_HINT} ({err})") from None
    return MPI


def init(timeout: float = 60.0):
    """Join the MPI job (once); collectives raise `DistributedError` after `timeout` s."""
    if _State.comm is None:
        MPI = _mpi()
        comm = MPI.COMM_WORLD
        comm.Set_errhandler(MPI.ERRORS_RETURN)  # MPI errors become Python exceptions
        _State.comm = comm
    _State.timeout = float(timeout)
    return _State.comm


def _comm():
    return _State.comm if _State.comm is not None else init()


def rank() -> int:
    """This process's rank, 0 .. world_size() - 1."""
    return _comm().Get_rank()


def world_size() -> int:
    """The number of processes in the job."""
    return _comm().Get_size()


def is_main() -> bool:
    """True on rank 0, the one that writes files and prints progress."""
    return rank() == 0


def stats() -> dict:
    """Bytes handed to collectives, their count and the seconds spent in them (this rank)."""
    return {"bytes": _State.bytes_sent, "calls": _State.calls, "seconds": _State.seconds}


def _wait(request, what: str) -> None:
    """Poll a non-blocking collective until it completes or the timeout passes."""
    deadline = time.monotonic() + _State.timeout
    spins, pause = 0, 0.0
    while not request.Test():
        # Yield the core for the first thousand polls (the other rank may need it on an
        # oversubscribed machine), then back off to millisecond sleeps.
        spins += 1
        if spins > 1000:
            pause = min(pause * 2 or 1e-5, 1e-3)
        if time.monotonic() > deadline:
            raise DistributedError(
                f"{what}: rank {rank()} got no answer from the other ranks within "
                f"{_State.timeout:g} s; a rank has probably died (its own error, or a kill, "
                "is reported by mpirun). Resume from the last checkpoint with --resume.")
        time.sleep(pause)


def _collective(start, what: str, nbytes: int) -> None:
    began = time.perf_counter()
    try:
        request = start()
    except Exception as err:  # mpi4py raises MPI.Exception under ERRORS_RETURN
        raise DistributedError(f"{what}: {err}") from None
    _wait(request, what)
    _State.bytes_sent += nbytes
    _State.calls += 1
    _State.seconds += time.perf_counter() - began


def allreduce_array(buffer: np.ndarray, what: str = "allreduce") -> np.ndarray:
    """Sum `buffer` (contiguous) over all ranks, in place; returns it."""
    MPI = _mpi()
    comm = _comm()
    _collective(lambda: comm.Iallreduce(MPI.IN_PLACE, buffer, op=MPI.SUM), what,
                buffer.nbytes)
    return buffer


def bcast_array(buffer: np.ndarray, root: int = 0, what: str = "broadcast") -> np.ndarray:
    """Rank `root`'s `buffer` copied into every rank's, in place; returns it."""
    comm = _comm()
    _collective(lambda: comm.Ibcast(buffer, root=root), what, buffer.nbytes)
    return buffer


def allgather_text(text: str, what: str = "allgather") -> list[str]:
    """Every rank's `text` (UTF-8), in rank order: raw bytes, never pickled objects."""
    data = np.frombuffer(text.encode(), dtype=np.uint8)
    sizes = allreduce_array(_one_hot(len(data)), what)
    out = np.zeros(int(sizes.sum()), np.uint8)
    start = int(sizes[:rank()].sum())
    out[start:start + len(data)] = data
    allreduce_array(out, what)  # each rank filled only its own slot; the sum joins them
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    return [out[bounds[i]:bounds[i + 1]].tobytes().decode() for i in range(len(sizes))]


def all_ranks_ok(ok: bool) -> bool:
    """True on every rank when `ok` is true on every rank (to stop together on errors)."""
    return bool(allreduce_array(np.array([0 if ok else 1]), "all_ranks_ok")[0] == 0)


def _one_hot(value: int) -> np.ndarray:
    v = np.zeros(world_size(), np.int64)
    v[rank()] = value
    return v
