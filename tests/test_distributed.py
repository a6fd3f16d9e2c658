"""Data-parallel training on MPI: sharding, the same model as one process, faults."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import chainrule as cr

HERE = os.path.dirname(__file__)
BIN = os.path.dirname(sys.executable)


def _mpirun(n, *command, timeout=240, env=None):
    """Run `command` under `mpirun -n n` (as root too); returns (code, output, seconds)."""
    mpirun = shutil.which("mpirun")
    assert mpirun, "mpirun is missing: `make test` installs Open MPI (scripts/system-deps.sh)"
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1", **(env or {})}
    began = time.monotonic()
    done = subprocess.run([mpirun, "-n", str(n), "--oversubscribe", *command], env=env,
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout + done.stderr, time.monotonic() - began


# ----- sharding (no MPI needed) ------------------------------------------------------------

@pytest.mark.parametrize("n, batch, world", [(103, 10, 2), (100, 32, 3), (7, 4, 4)])
def test_shards_see_every_sample_once_per_epoch_and_reshuffle(n, batch, world):
    x = np.arange(n)
    loaders = [cr.data.DataLoader(x, batch, shuffle=True, seed=5, shard=(r, world))
               for r in range(world)]
    epochs = []
    for _ in range(2):
        per_rank = [[b.data for b in loader] for loader in loaders]
        assert len({len(p) for p in per_rank}) == 1  # ranks step in lockstep
        seen = np.concatenate([np.concatenate(p) for p in per_rank])
        dropped = n - len(seen)
        assert dropped < world and len(np.unique(seen)) == len(seen)
        epochs.append(np.concatenate([np.concatenate(b) for b in zip(*per_rank)]))
        one = cr.data.DataLoader(x, batch, shuffle=True, seed=5)
        assert len(one) >= len(loaders[0])
    assert not np.array_equal(epochs[0], epochs[1])


def test_shards_split_the_global_batch_of_one_process():
    x = np.arange(20)
    whole = [b.data for b in cr.data.DataLoader(x, 8, shuffle=True, seed=1)]
    parts = [[b.data for b in cr.data.DataLoader(x, 8, shuffle=True, seed=1, shard=(r, 2))]
             for r in range(2)]
    for batch, a, b in zip(whole, *parts):
        np.testing.assert_array_equal(batch, np.concatenate([a, b]))


@pytest.mark.parametrize("shard", [(2, 2), (-1, 2), ("a", 2), 3])
def test_bad_shards_are_clear_errors(shard):
    with pytest.raises(ValueError, match="DataLoader: shard"):
        cr.data.DataLoader(np.arange(4), 2, shard=shard)


# ----- under mpirun -----------------------------------------------------------------------

def test_two_ranks_train_the_same_model_as_one_process_in_float64():
    code, out, _ = _mpirun(2, sys.executable, os.path.join(HERE, "mpi", "match_one_process.py"),
                           "mlp", "cnn")
    assert code == 0, out
    lines = [line.split() for line in out.splitlines() if line.startswith("MATCH")]
    assert [line[1] for line in lines] == ["mlp", "cnn"], out
    for _, _, diff, acc_parallel, acc_single, loss_parallel, loss_single in lines:
        assert float(diff) < 1e-10
        assert acc_parallel == acc_single
        assert abs(float(loss_parallel) - float(loss_single)) < 1e-10


def test_the_command_trains_on_two_ranks_and_only_rank_0_writes(tmp_path):
    out = tmp_path / "run"
    code, text, _ = _mpirun(2, os.path.join(BIN, "chainrule"), "train", "--distributed",
                            "--epochs", "2", "--quiet", "--out", str(out))
    assert code == 0, text
    assert text.count("test accuracy:") == 1  # printed once, by rank 0
    assert sorted(os.listdir(out)) == ["curves.png", "metrics.json", "model.npz"]
    assert cr.load(out / "model.npz")["epoch"] == 2


def test_a_killed_rank_stops_the_job_and_the_run_resumes_from_its_checkpoint(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    code, text, seconds = _mpirun(2, sys.executable, os.path.join(HERE, "mpi",
                                  "die_mid_epoch.py"), str(out), "10")
    assert code != 0 and seconds < 60, text
    assert "signal 9" in text or "no answer from the other ranks" in text, text
    assert cr.load(out / "model.npz")["epoch"] == 1  # the last finished epoch, intact
    assert not [f for f in os.listdir(out) if f.startswith(".")]  # no temporaries left
    code, text, _ = _mpirun(2, os.path.join(BIN, "chainrule"), "train", "--distributed",
                            "--resume", "--quiet", "--out", str(out))
    assert code == 0, text
    assert cr.load(out / "model.npz")["epoch"] == 3


def test_ranks_with_different_models_are_told_which_parameter_differs():
    code, out, _ = _mpirun(2, sys.executable, os.path.join(HERE, "mpi",
                                                           "mismatched_models.py"))
    assert code == 0, out
    assert "RANK 0: broadcast_parameters: rank 0 has 1.weight of shape (2, 3)" in out, out
    assert "RANK 1: broadcast_parameters: rank 1 has 1.weight of shape (3, 3)" in out, out


def test_without_mpi4py_the_command_says_how_to_install_it(tmp_path):
    fake = tmp_path / "mpi4py"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named mpi4py')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([os.path.join(BIN, "chainrule"), "train", "--distributed",
                           "--out", str(tmp_path / "run")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert "apt-get install openmpi-bin" in done.stderr and "mpi4py" in done.stderr
