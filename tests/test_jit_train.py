"""`fit(jit=True)` / `chainrule train --jit`: the compiled step gives the eager loop's
weights bitwise, keeps the optimizer's state usable, and refuses what it cannot compile."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli.main import main
from chainrule.nn.models import CNN, MLP, RowRNN, RowTransformer
from chainrule.train import fit
from chainrule.train.compiled import CompiledStep, JitUnsupported


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 8, 8)).astype(np.float32)
    return x, rng.integers(0, 10, n)


def _train(make, jit, optimizer="adam", epochs=2):
    cr.nn.init.manual_seed(0)
    model = make()
    opt = {"adam": lambda ps: cr.optim.Adam(ps, lr=3e-3),
           "sgd": lambda ps: cr.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
           "rmsprop": lambda ps: cr.optim.RMSprop(ps, lr=1e-3)}[optimizer](model.parameters())
    schedule = cr.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    # 40 samples in batches of 16: the last batch is smaller (a second signature).
    loader = cr.data.DataLoader(_data(), 16, shuffle=True, seed=0)
    history = fit(model, loader, opt, cr.nn.CrossEntropyLoss(), epochs, scheduler=schedule,
                  jit=jit)
    return model, opt, history


MODELS = {"mlp": lambda: MLP(8, 8, 10, hidden=16), "cnn": lambda: CNN(8, 8, 10, hidden=4),
          "rnn": lambda: RowRNN(8, 8, 10, hidden=12),
          "transformer": lambda: RowTransformer(8, 8, 10, hidden=8)}


@pytest.mark.parametrize("kind,optimizer", [("mlp", "adam"), ("cnn", "sgd"),
                                            ("rnn", "rmsprop"), ("transformer", "adam")])
def test_compiled_training_gives_the_eager_weights_bitwise(kind, optimizer):
    eager, eager_opt, eager_history = _train(MODELS[kind], False, optimizer)
    compiled, opt, history = _train(MODELS[kind], True, optimizer)
    for (name, p), q in zip(eager.named_parameters(), compiled.parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    for key in ("train_loss", "train_accuracy"):
        assert [h[key] for h in history] == [h[key] for h in eager_history]
    # the optimizer's state is the eager one too: checkpoints and resuming read it
    a, b = eager_opt.state_dict()["state"], opt.state_dict()["state"]
    assert a.keys() == b.keys()
    for i in a:
        assert a[i].keys() == b[i].keys()
        for k in a[i]:
            np.testing.assert_array_equal(a[i][k], b[i][k])
            assert type(a[i][k]) is type(b[i][k])


def test_float64_training_is_bitwise_too():
    cr.nn.init.set_default_dtype(np.float64)
    try:
        eager, _, _ = _train(MODELS["mlp"], False, epochs=1)
        compiled, _, _ = _train(MODELS["mlp"], True, epochs=1)
    finally:
        cr.nn.init.set_default_dtype(np.float32)
    assert eager.net[1].weight.dtype == np.float64
    for p, q in zip(eager.parameters(), compiled.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_the_step_traces_once_per_batch_shape_and_follows_the_learning_rate():
    cr.nn.init.manual_seed(0)
    model = MLP(8, 8, 10, hidden=16)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    step = CompiledStep(model, opt, cr.nn.CrossEntropyLoss())
    x, y = _data(16)
    before = model.net[1].weight.data.copy()
    loss, logits = step(x, y)
    assert logits.shape == (16, 10) and np.isfinite(loss)
    np.testing.assert_array_equal(model.net[1].weight.data, before)   # not yet applied
    step.apply()
    moved = before - model.net[1].weight.data
    opt.param_groups[0]["lr"] = 0.0     # a schedule: traced, so no retrace, no stale rate
    step(x, y)
    step.apply()
    assert step.program.cache_size == 1
    np.testing.assert_array_equal(model.net[1].weight.data, before - moved)
    opt.param_groups[0]["momentum"] = 0.5   # other hyperparameters are keys: a retrace
    step(x, y)
    assert step.program.cache_size == 2


def test_train_eval_mode_is_part_of_the_key_and_dropout_is_refused():
    cr.nn.init.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Flatten(), cr.nn.Linear(64, 16), cr.nn.Dropout(0.5),
                             cr.nn.Linear(16, 10))
    opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    step = CompiledStep(model, opt, cr.nn.CrossEntropyLoss())
    x, y = _data(8)
    model.eval()                      # no dropout: compiles
    step(x, y)
    model.train()                     # a new mode traces again; dropout would be frozen
    with pytest.raises(JitUnsupported, match="dropout"):
        step(x, y)
    assert step.program.cache_size == 0


def test_foreign_tensors_in_the_optimizer_are_refused():
    model = MLP(8, 8, 10, hidden=4)
    opt = cr.optim.SGD([*model.parameters(), cr.nn.Parameter(np.zeros(3))], lr=0.1)
    with pytest.raises(JitUnsupported, match=r"\(3,\)"):
        CompiledStep(model, opt, cr.nn.CrossEntropyLoss())


def test_cli_jit_trains_and_refuses_what_it_cannot_compile(tmp_path, capsys):
    code = main(["train", "--jit", "--epochs", "1", "--quiet", "--out", str(tmp_path / "a")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "test accuracy: " in out
    code = main(["train", "--jit", "--detect-anomaly", "--out", str(tmp_path / "b")])
    _, err = capsys.readouterr()
    assert code == 2 and "--jit and --detect-anomaly do not combine" in err


def test_buffers_updated_in_place_are_refused_not_frozen():
    cr.nn.init.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Flatten(), cr.nn.Linear(64, 8), cr.nn.BatchNorm1d(8),
                             cr.nn.Linear(8, 10))
    step = CompiledStep(model, cr.optim.SGD(model.parameters(), lr=0.1),
                        cr.nn.CrossEntropyLoss())
    x, y = _data(16)
    mean = model[2].running_mean.data.copy()
    with pytest.raises(JitUnsupported, match="running_mean"):
        step(x, y)
    np.testing.assert_array_equal(model[2].running_mean.data, mean)   # left as it was
    model.eval()                     # running statistics are read, not updated: compiles
    step(x, y)
    step.apply()
    np.testing.assert_array_equal(model[2].running_mean.data, mean)
