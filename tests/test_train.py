"""chainrule.train: the loop, evaluation, checkpoints and the Recipe, without argparse."""

import math
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import train
from chainrule.nn import models


@pytest.fixture(scope="module")
def digits():
    x, y = cr.data.load_digits(np.float32)
    return cr.data.train_test_split(x, y, test_size=0.2, seed=0)


def _mlp(seed=0):
    cr.nn.init.manual_seed(seed)
    return cr.nn.Sequential(cr.nn.Flatten(), cr.nn.Linear(64, 32), cr.nn.ReLU(),
                            cr.nn.Linear(32, 10))


class Recorder(train.Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, state):
        self.calls.append("begin")

    def on_epoch_begin(self, state):
        self.calls.append(f"epoch {state.epoch}")

    def on_batch_end(self, state):
        self.calls.append("batch")
        assert state.loss == state.loss and state.batch >= 1

    def on_epoch_end(self, state):
        self.calls.append(f"end {state.epoch}: {len(state.history)}")

    def on_train_end(self, state):
        self.calls.append("done")


def test_fit_trains_calls_hooks_and_returns_the_history(digits):
    x_train, x_test, y_train, y_test = digits
    model = _mlp()
    opt = cr.optim.Adam(model.parameters(), lr=3e-3)
    loader = cr.data.DataLoader((x_train, y_train), 64, shuffle=True, seed=0)
    rec = Recorder()
    history = train.fit(model, loader, opt, cr.nn.CrossEntropyLoss(), epochs=3,
                        callbacks=[rec], eval_data=(x_test, y_test))
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[0]["train_loss"] > history[1]["train_loss"] > history[2]["train_loss"]
    assert history[-1]["test_accuracy"] > 0.75 and history[-1]["seconds"] > 0
    batches = len(loader)
    assert rec.calls == ["begin", "epoch 1", *["batch"] * batches, "end 1: 1", "epoch 2",
                         *["batch"] * batches, "end 2: 2", "epoch 3", *["batch"] * batches,
                         "end 3: 3", "done"]
    # The test figures are evaluate's, on the final weights.
    score = train.evaluate(model, (x_test, y_test))
    assert score["accuracy"] == pytest.approx(history[-1]["test_accuracy"])
    with cr.no_grad():
        predicted = model(x_test).data.argmax(axis=1)
    assert score["accuracy"] == pytest.approx((predicted == y_test).mean())
    assert model.training  # evaluate restored the mode


def test_a_callback_may_stop_training(digits):
    x_train, _, y_train, _ = digits

    class StopAfterTwo(train.Callback):
        def on_epoch_end(self, state):
            state.stop = state.epoch == 2

    model = _mlp()
    history = train.fit(model, cr.data.DataLoader((x_train, y_train), 128), cr.optim.SGD(
        model.parameters(), lr=0.1), cr.nn.CrossEntropyLoss(), epochs=10,
        callbacks=[StopAfterTwo()])
    assert len(history) == 2 and "test_loss" not in history[0]


def test_divergence_stops_before_the_bad_step_and_keeps_the_last_checkpoint(digits, tmp_path):
    x_train, _, y_train, _ = digits
    model = _mlp()
    opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    loader = cr.data.DataLoader((x_train, y_train), 128)
    calls = {"n": 0}
    ce = cr.nn.CrossEntropyLoss()

    def loss_fn(logits, target):  # finite for one epoch and three batches, then NaN
        calls["n"] += 1
        loss = ce(logits, target)
        return loss * math.nan if calls["n"] > len(loader) + 3 else loss

    path = tmp_path / "model.npz"
    with pytest.raises(train.TrainingDiverged, match="smaller learning rate than 0.001") as err:
        train.fit(model, loader, opt, loss_fn, epochs=5, callbacks=[train.Checkpoint(path)])
    assert (err.value.epoch, err.value.batch) == (2, 4) and math.isnan(err.value.loss)
    saved = cr.load(path)
    assert saved["epoch"] == 1
    assert opt.state[model[1].weight]["step"] == len(loader) + 3  # no step on the NaN batch
    assert all(np.all(np.isfinite(p.data)) for p in model.parameters())


def test_an_exploding_finite_loss_counts_as_divergence(digits):
    x_train, _, y_train, _ = digits
    model = _mlp()
    ce = cr.nn.CrossEntropyLoss()
    grow = {"k": 1.0}

    def loss_fn(logits, target):
        grow["k"] *= 10.0
        return ce(logits, target) * grow["k"]

    with pytest.raises(train.TrainingDiverged):
        train.fit(model, cr.data.DataLoader((x_train, y_train), 64),
                  cr.optim.SGD(model.parameters(), lr=1e-4), loss_fn, epochs=1)
    history = train.fit(_mlp(), cr.data.DataLoader((x_train[:64], y_train[:64]), 64),
                        cr.optim.SGD(model.parameters(), lr=1e-4), ce, epochs=1,
                        divergence=None)
    assert len(history) == 1


def test_fit_checks_its_arguments(digits):
    x_train, _, y_train, _ = digits
    model = _mlp()
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        train.fit(model, [], opt, cr.nn.CrossEntropyLoss(), epochs=0)
    with pytest.raises(ValueError, match="no batches"):
        train.fit(model, [], opt, cr.nn.CrossEntropyLoss())
    with pytest.raises(ValueError, match="pair"):
        train.fit(model, cr.data.DataLoader(x_train, 32), opt, cr.nn.CrossEntropyLoss())


def test_recipe_from_python_matches_the_command_file_for_file(tmp_path, capsys):
    from chainrule.cli.main import main

    history = train.Recipe(model="cnn", epochs=1, seed=3).run(out=tmp_path / "py")
    assert main(["train", "--model", "cnn", "--epochs", "1", "--seed", "3", "--quiet",
                 "--out", str(tmp_path / "cli")]) == 0
    a, b = cr.load(tmp_path / "py" / "model.npz"), cr.load(tmp_path / "cli" / "model.npz")
    assert a["config"] == b["config"] and a["epoch"] == b["epoch"] == 1
    for key in a["model"]:
        np.testing.assert_array_equal(a["model"][key], b["model"][key])
    assert sorted(os.listdir(tmp_path / "py")) == ["curves.png", "metrics.json", "model.npz"]
    assert history[0]["test_accuracy"] > 0.5


def test_recipe_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown model 'vit'; choose one of mlp, cnn, rnn"):
        train.Recipe(model="vit")
    with pytest.raises(ValueError, match="unknown optimizer"):
        train.Recipe(optimizer="lbfgs")
    with pytest.raises(ValueError, match="unknown optimizer"):
        train.make_optimizer("lbfgs", [], 0.1)


def test_checkpoint_round_trip(tmp_path):
    config = {"model": "mlp", "height": 8, "width": 8, "classes": 10, "hidden": 16}
    cr.nn.init.manual_seed(0)
    model = models.build_model(config)
    opt = cr.optim.Adam(model.parameters(), lr=0.01)
    train.save_checkpoint(tmp_path / "model.npz", model, opt, config=config, epoch=4)
    back, ckpt = train.load_checkpoint(tmp_path)  # a folder means its model.npz
    assert ckpt["epoch"] == 4 and ckpt["format"] == train.FORMAT
    for p, q in zip(model.parameters(), back.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("config", [
    {"model": "mlp", "height": 8, "width": 8, "classes": 10, "hidden": 256},
    {"model": "cnn", "height": 9, "width": 13, "classes": 3, "hidden": 4},
    {"model": "rnn", "height": 8, "width": 5, "classes": 7, "hidden": 6},
])
def test_parameter_count_needs_no_allocation_and_is_exact(config):
    assert models.parameter_count(config) == models.build_model(config).num_parameters()


def _checkpoint(tmp_path, **changes):
    config = {"model": "mlp", "height": 4, "width": 4, "classes": 3, "hidden": 5}
    cr.nn.init.manual_seed(0)
    model = models.build_model(config)
    state = {"format": train.FORMAT, "config": config, "epoch": 1,
             "model": model.state_dict()}
    state.update(changes)
    state = {k: v for k, v in state.items() if v is not None}
    path = tmp_path / "model.npz"
    cr.save(state, path)
    return path


@pytest.mark.parametrize("changes, message", [
    ({"config": None}, "lacks config"),
    ({"epoch": None}, "lacks epoch"),
    ({"epoch": "one"}, "epoch must be a whole number"),
    ({"format": "other"}, "not a model written by"),
    ({"config": {"model": "mlp", "height": 4, "width": 4, "classes": 3,
                 "hidden": 10**9}}, "config['hidden'] must be a whole number"),
    ({"config": {"model": "mlp", "height": 4, "width": 4, "classes": 3,
                 "hidden": 6000}}, "numbers but the file holds"),
    ({"config": {"model": "gpt", "height": 4}}, "unknown model 'gpt'"),
    ({"config": [1, 2]}, "config is a dict"),
    ({"model": {"net.1.weight": "abc"}}, "must map names to arrays"),
])
def test_unusable_checkpoints_are_one_clear_error(tmp_path, changes, message):
    path = _checkpoint(tmp_path, **changes)
    with pytest.raises(train.CheckpointError, match=message.replace("[", r"\[")):
        train.load_checkpoint(path)


def test_non_finite_weights_are_refused(tmp_path):
    cr.nn.init.manual_seed(0)
    config = {"model": "mlp", "height": 4, "width": 4, "classes": 3, "hidden": 5}
    weights = models.build_model(config).state_dict()
    weights["net.1.weight"][0, 0] = np.inf
    path = _checkpoint(tmp_path, model=weights)
    with pytest.raises(train.CheckpointError, match="net.1.weight are not finite"):
        train.load_checkpoint(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_never_opened(tmp_path):
    os.mkfifo(tmp_path / "model.npz")
    with pytest.raises(train.CheckpointError, match="not a regular file"):
        train.load_checkpoint(tmp_path)
    with pytest.raises(OSError, match="is a FIFO"):
        cr.load(tmp_path / "model.npz")
    with pytest.raises(ValueError, match="is a FIFO"):
        cr.data.load_split(tmp_path / "model.npz")


def test_output_folders_are_never_silently_reused(tmp_path):
    run = tmp_path / "runs" / "mlp"
    assert train.free_folder(run) == str(run)
    train.prepare_folder(run)
    (run / "metrics.json").write_text("{}")
    (run / "notes.txt").write_text("mine")
    assert train.free_folder(run) == f"{run}-2"
    with pytest.raises(FileExistsError):
        train.prepare_folder(run)
    train.prepare_folder(run, overwrite=True)
    assert sorted(os.listdir(run)) == ["notes.txt"]  # only the run's own files go


def test_curves_have_a_title_and_whole_epoch_ticks(tmp_path, monkeypatch):
    from matplotlib import pyplot as plt

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    history = [{"epoch": e, "train_loss": 1 / e, "test_loss": 1.2 / e,
                "train_accuracy": 1 - 0.5 / e, "test_accuracy": 1 - 0.6 / e}
               for e in (1, 2, 3)]
    train.plot_curves(history, tmp_path / "c.png", title="mlp, adam, lr 0.002")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    (fig,) = figures
    assert fig._suptitle.get_text() == "mlp, adam, lr 0.002"
    for ax in fig.axes:
        fig.canvas.draw()
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    monkeypatch.undo()
    plt.close(fig)
