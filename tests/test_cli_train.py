"""`chainrule train` / `chainrule evaluate`: files written, accuracy, one-line errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHAINRULE = os.path.join(os.path.dirname(sys.executable), "chainrule")


def _run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse mistakes
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def _assert_one_line_error(code, err, *words):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and lines[0].startswith("chainrule ")
    for word in words:
        assert word in lines[0], lines[0]


def test_train_writes_model_metrics_and_curves_then_evaluate_agrees(tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, stderr = _run(capsys, "train", "--epochs", "3", "--out", str(out))
    assert code == 0, stderr
    assert "epoch 3/3" in stderr and "loss=" in stderr and "acc=" in stderr  # progress bars
    assert sorted(os.listdir(out)) == ["curves.png", "metrics.json", "model.npz"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2, 3]
    losses = [e["train_loss"] for e in metrics["epochs"]]
    assert losses[0] > losses[1] > losses[2]
    acc = metrics["final_test_accuracy"]
    assert acc > 0.9 and metrics["seconds"] > 0
    assert f"test accuracy: {acc:.4f}" in stdout
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ckpt = cr.load(out / "model.npz")
    assert ckpt["epoch"] == 3 and ckpt["config"]["model"] == "mlp"
    assert ckpt["optimizer"]["state"][0]["step"] == 3 * 45  # 1437 train images / 32
    code, stdout, _ = _run(capsys, "evaluate", str(out))
    assert code == 0
    assert f"test accuracy: {acc:.4f}" in stdout


@pytest.mark.parametrize("model,optimizer", [("cnn", "sgd"), ("rnn", "rmsprop"),
                                             ("mlp", "adamw")])
def test_each_model_and_optimizer_trains(tmp_path, capsys, model, optimizer):
    out = tmp_path / model
    code, stdout, stderr = _run(capsys, "train", "--model", model, "--optimizer", optimizer,
                                "--epochs", "1", "--batch-size", "64", "--out", str(out),
                                "--quiet")
    assert code == 0, stderr
    assert stderr == ""
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["model"] == model and metrics["config"]["optimizer"] == optimizer
    assert metrics["final_test_accuracy"] > 0.3  # far above chance after one epoch
    assert _run(capsys, "evaluate", str(out))[0] == 0


def test_same_seed_same_model(tmp_path, capsys):
    for name in ("a", "b"):
        assert _run(capsys, "train", "--epochs", "1", "--seed", "5", "--quiet",
                    "--out", str(tmp_path / name))[0] == 0
    a, b = cr.load(tmp_path / "a" / "model.npz"), cr.load(tmp_path / "b" / "model.npz")
    for key in a["model"]:
        np.testing.assert_array_equal(a["model"][key], b["model"][key])


def test_train_on_idx_and_npz_files(tmp_path, capsys):
    images, labels = cr.data.load_digits()
    pixels = (images[:400] * 255).astype(np.uint8)
    cr.data.write_idx(tmp_path / "train-images-idx3-ubyte.gz", pixels)
    cr.data.write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels[:400].astype(np.uint8))
    code, stdout, stderr = _run(capsys, "train", "--data",
                                str(tmp_path / "train-images-idx3-ubyte.gz"), "--epochs", "2",
                                "--quiet", "--out", str(tmp_path / "idx"))
    assert code == 0, stderr
    assert "/80)" in stdout  # 20 % of the 400 images held out for the test
    np.savez(tmp_path / "d.npz", x_train=images[:300].reshape(300, 64), y_train=labels[:300],
             x_test=images[300:400], y_test=labels[300:400])
    code, stdout, stderr = _run(capsys, "train", "--data", str(tmp_path / "d.npz"),
                                "--model", "cnn", "--epochs", "1", "--quiet",
                                "--out", str(tmp_path / "npz"))
    assert code == 0, stderr
    assert "/100" in stdout
    assert _run(capsys, "evaluate", str(tmp_path / "npz"))[0] == 0


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    out = str(tmp_path / "o")
    _assert_one_line_error(*_run(capsys, "train", "--model", "resnet", "--out", out)[::2],
                           "unknown model", "mlp, cnn, rnn, transformer")
    _assert_one_line_error(*_run(capsys, "train", "--optimizer", "lbfgs", "--out", out)[::2],
                           "unknown optimizer")
    _assert_one_line_error(*_run(capsys, "train", "--data", str(tmp_path / "nope.npz"),
                                 "--out", out)[::2], "no such file")
    _assert_one_line_error(*_run(capsys, "train", "--epochs", "0")[::2], "--epochs",
                           "positive int")
    _assert_one_line_error(*_run(capsys, "train", "--lr", "fast")[::2], "--lr")
    np.savez(tmp_path / "shape.npz", x=np.ones((10, 5)), y=np.zeros(10, int))
    _assert_one_line_error(*_run(capsys, "train", "--data", str(tmp_path / "shape.npz"),
                                 "--out", out)[::2], "not a square")
    np.savez(tmp_path / "labels.npz", x=np.ones((10, 4, 4)), y=np.zeros(9, int))
    _assert_one_line_error(*_run(capsys, "train", "--data", str(tmp_path / "labels.npz"),
                                 "--out", out)[::2], "labels of shape (9,)")
    np.savez(tmp_path / "small.npz", x=np.ones((10, 3, 3)), y=np.zeros(10, int))
    _assert_one_line_error(*_run(capsys, "train", "--model", "cnn", "--data",
                                 str(tmp_path / "small.npz"), "--out", out)[::2], "at least")
    np.savez(tmp_path / "pickled.npz", x=np.array([{}], dtype=object), y=np.zeros(1))
    _assert_one_line_error(*_run(capsys, "train", "--data", str(tmp_path / "pickled.npz"),
                                 "--out", out)[::2], "pickled")
    _assert_one_line_error(*_run(capsys, "evaluate", str(tmp_path / "empty"))[::2],
                           "no model")
    (tmp_path / "bad").mkdir()
    np.savez(tmp_path / "bad" / "model.npz", w=np.ones(2))
    _assert_one_line_error(*_run(capsys, "evaluate", str(tmp_path / "bad"))[::2],
                           "not a model written by")
    assert not os.path.exists(out) or not os.listdir(out)


def test_ctrl_c_keeps_the_last_finished_epoch(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    steps = {"n": 0}
    original = cr.optim.Adam.step

    def step(self, closure=None):
        steps["n"] += 1
        if steps["n"] == 45 + 20:  # in the middle of epoch 2
            raise KeyboardInterrupt
        return original(self, closure)

    monkeypatch.setattr(cr.optim.Adam, "step", step)
    code, _, stderr = _run(capsys, "train", "--epochs", "5", "--quiet", "--out", str(out))
    assert code == 130
    assert "Traceback" not in stderr and "holds epoch 1" in stderr
    ckpt = cr.load(out / "model.npz")
    assert ckpt["epoch"] == 1
    assert json.loads((out / "metrics.json").read_text())["epochs"][-1]["epoch"] == 1
    assert _run(capsys, "evaluate", str(out))[0] == 0
    assert sorted(os.listdir(out)) == ["metrics.json", "model.npz"]  # no temporary files


def test_ctrl_c_during_a_checkpoint_write_keeps_the_previous_one(tmp_path, capsys,
                                                                 monkeypatch):
    out = tmp_path / "run"
    calls = {"n": 0}
    original = np.savez

    def savez(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the checkpoint of epoch 2
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(np, "savez", savez)
    code, _, _ = _run(capsys, "train", "--epochs", "3", "--quiet", "--out", str(out))
    assert code == 130
    assert cr.load(out / "model.npz")["epoch"] == 1
    assert sorted(os.listdir(out)) == ["metrics.json", "model.npz"]


def test_console_script_errors_have_no_traceback(tmp_path):
    result = subprocess.run([CHAINRULE, "train", "--model", "nope"], capture_output=True,
                            text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("chainrule train: error: argument --model: unknown model "
                                     "'nope'; choose one of mlp, cnn, rnn, transformer "
                                     "(see chainrule "
                                     "train --help)")


def test_default_train_reaches_97_percent_in_under_a_minute(tmp_path):
    result = subprocess.run([CHAINRULE, "train"], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "runs" / "mlp" / "metrics.json").read_text())
    assert metrics["final_test_accuracy"] >= 0.97
    assert metrics["seconds"] < 60
    assert "test accuracy:" in result.stdout


def test_cnn_and_rnn_reach_their_targets(tmp_path, capsys):
    # The defaults of --model cnn (>= 98 %) and --model rnn (>= 95 %): ~2 s each.
    for model, target in (("cnn", 0.98), ("rnn", 0.95)):
        code, _, err = _run(capsys, "train", "--model", model, "--quiet",
                            "--out", str(tmp_path / model))
        assert code == 0, err
        metrics = json.loads((tmp_path / model / "metrics.json").read_text())
        assert metrics["final_test_accuracy"] >= target, (model, metrics["final_test_accuracy"])


def test_out_is_never_silently_overwritten(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert _run(capsys, "train", "--epochs", "1", "--quiet", "--out", str(out))[0] == 0
    first = (out / "model.npz").read_bytes()
    _assert_one_line_error(*_run(capsys, "train", "--epochs", "1", "--quiet", "--out",
                                 str(out))[::2], "already holds a run", "--force")
    assert (out / "model.npz").read_bytes() == first
    code, stdout, _ = _run(capsys, "train", "--epochs", "1", "--seed", "4", "--quiet", "--out",
                           str(out), "--force")
    assert code == 0 and (out / "model.npz").read_bytes() != first
    assert "after 1 epoch in" in stdout  # not "1 epochs"
    # Without --out, runs/<model> is numbered instead of overwritten.
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert _run(capsys, "train", "--epochs", "1", "--quiet")[0] == 0
    assert sorted(os.listdir(tmp_path / "runs")) == ["mlp", "mlp-2"]


def test_a_diverging_run_stops_with_a_hint_and_keeps_the_last_good_epoch(tmp_path, capsys,
                                                                         monkeypatch):
    out = tmp_path / "run"
    original = cr.nn.CrossEntropyLoss.forward
    calls = {"n": 0}

    def forward(self, logits, target):  # the loss explodes in the middle of epoch 2
        calls["n"] += 1
        loss = original(self, logits, target)
        return loss * 1e6 if calls["n"] > 45 + 10 else loss

    monkeypatch.setattr(cr.nn.CrossEntropyLoss, "forward", forward)
    code, _, err = _run(capsys, "train", "--epochs", "3", "--quiet", "--lr", "0.002",
                        "--out", str(out))
    assert code == 1
    assert err.strip().splitlines() == [
        f"chainrule train: error: training diverged: the loss reached "
        f"{err.split('reached ')[1].split(' ')[0]} in epoch 2; try a smaller --lr than 0.002; "
        f"{out / 'model.npz'} holds epoch 1"]
    assert cr.load(out / "model.npz")["epoch"] == 1
    assert _run(capsys, "evaluate", str(out))[0] == 0


def test_lr_100_diverges_in_the_first_epoch_without_numpy_noise(tmp_path, capsys):
    code, _, err = _run(capsys, "train", "--lr", "100", "--quiet", "--out", str(tmp_path / "r"))
    assert code == 1
    assert "try a smaller --lr than 100; no epoch finished" in err
    assert "RuntimeWarning" not in err and len(err.strip().splitlines()) == 1


def _save_run(folder, **changes):
    folder.mkdir()
    config = {"model": "mlp", "height": 8, "width": 8, "classes": 10, "hidden": 8,
              "scale": 1.0, "data": "digits"}
    cr.nn.init.manual_seed(0)
    state = {"format": "chainrule-train/1", "config": config, "epoch": 1,
             "model": cr.nn.models.build_model(config).state_dict()}
    for key, value in changes.items():
        if value is None:
            state.pop(key)
        elif key == "data":
            config["data"] = value
        else:
            state[key] = value
    cr.save(state, folder / "model.npz")
    return folder


@pytest.mark.parametrize("changes, words", [
    ({"config": None}, ["lacks config"]),
    ({"epoch": None}, ["lacks epoch"]),
    ({"data": 12}, ["not a path", "--data"]),
    ({"format": {"$array": "x"}}, ["not a model written by"]),
])
def test_evaluate_refuses_unusable_checkpoints_in_one_line(tmp_path, capsys, changes, words):
    folder = _save_run(tmp_path / "run", **changes)
    _assert_one_line_error(*_run(capsys, "evaluate", str(folder))[::2], *words)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_evaluate_never_opens_a_fifo_named_by_the_checkpoint(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe")
    folder = _save_run(tmp_path / "run", data=str(tmp_path / "pipe"))
    _assert_one_line_error(*_run(capsys, "evaluate", str(folder))[::2], "is a FIFO")
    os.mkfifo(tmp_path / "pipe2.npz")
    _assert_one_line_error(*_run(capsys, "evaluate", str(tmp_path / "pipe2.npz"))[::2],
                           "not a regular file")
    _assert_one_line_error(*_run(capsys, "train", "--data", str(tmp_path / "pipe"), "--out",
                                 str(tmp_path / "o"))[::2], "is a FIFO")
