"""cr.memory: the report of saved values, checkpoint_sequential's segments, and plans."""

import numpy as np
import pytest

import chainrule as cr


def _mlp(depth=12, width=16):
    layers = []
    for _ in range(depth):
        layers += [cr.nn.Linear(width, width, dtype=np.float64), cr.nn.Tanh()]
    return cr.nn.Sequential(*layers)


X = np.linspace(-1, 1, 8 * 16).reshape(8, 16)
ACT = X.nbytes   # every activation of the MLP has this size


def test_report_lists_each_saved_value_with_size_line_and_module():
    model = _mlp(depth=2)
    rep = cr.memory.report(lambda x: cr.sum(model(x)), X)
    assert [r.op for r in rep.rows] == ["linear", "tanh", "linear", "tanh"]
    assert all(r.bytes == ACT and r.shape == (8, 16) and r.dtype == "float64" for r in rep.rows)
    assert [r.module for r in rep.rows] == ["0", "1", "2", "3"]
    assert all(r.line.startswith("test_memory.py:") for r in rep.rows)
    assert rep.total_bytes == 4 * ACT and rep.peak_bytes == 4 * ACT
    assert rep.by_module() == {"0": ACT, "1": ACT, "2": ACT, "3": ACT}
    text = str(rep)
    assert "peak live during the sweep" in text and "linear" in text
    assert "<table>" in rep._repr_html_()


def test_report_of_a_function_names_the_lines():
    def f(x):
        y = cr.sin(x)   # the line of this value
        return cr.sum(y * y)
    rep = cr.memory.report(f, np.ones(5))
    assert len(rep.rows) == 2 and rep.total_bytes == 80   # sin(x), y*y
    assert rep.rows[0].op == "sin" and rep.rows[0].line.endswith(
        str(f.__code__.co_firstlineno + 1))


def test_checkpointed_segments_cut_the_peak_and_keep_the_gradient():
    model = _mlp(depth=16)
    plain = cr.memory.report(lambda x: cr.sum(model(x)), X)
    seq = cr.checkpoint_sequential(model, segments="sqrt")
    ckpt = cr.memory.report(lambda x: cr.sum(seq(x)), X)
    assert plain.peak_bytes == 32 * ACT
    assert len(seq.bounds) == 6 and ckpt.peak_bytes < plain.peak_bytes / 2
    grads = []
    for run in (model, seq):
        model.zero_grad()
        x = cr.tensor(X, requires_grad=True)
        cr.sum(run(x) ** 2).backward()
        grads.append([x.grad.data] + [p.grad.data for p in model.parameters()])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("options", [dict(segments="sqrt"), dict(segments=4),
                                     dict(segments=None, memory_budget=12 * ACT)])
def test_every_schedule_with_dropout_is_exact_at_first_and_second_order(options):
    layers = []
    for _ in range(8):
        layers += [cr.nn.Linear(16, 16, dtype=np.float64), cr.nn.Tanh(), cr.nn.Dropout(0.3)]
    model = cr.nn.Sequential(*layers)
    run = cr.checkpoint_sequential(model, **options)
    params = list(model.parameters())
    grads = []
    for forward in (model, run):
        cr.nn.init.manual_seed(3)
        x = cr.tensor(X, requires_grad=True)
        out = cr.sum(forward(x) ** 2)
        out.backward(create_graph=True)   # first order, recorded
        first = [x.grad] + [p.grad for p in params]
        for t in [x] + params:
            t.grad = None
        cr.sum(cr.stack([cr.sum(g * g) for g in first])).backward()   # second order
        grads.append([g.data for g in first] + [x.grad.data] + [p.grad.data for p in params])
        for t in [x] + params:
            t.grad = None
    assert len(run.bounds) > 1
    for a, b in zip(*grads):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)


def test_no_segments_and_no_budget_records_the_plain_graph():
    model = _mlp(depth=4)
    seq = cr.checkpoint_sequential(model, segments=None)
    rep = cr.memory.report(lambda x: cr.sum(seq(x)), X)
    assert seq.bounds == [(0, 8)]
    assert [r.op for r in rep.rows] == ["linear", "tanh"] * 4 and rep.peak_bytes == 8 * ACT


def test_a_memory_budget_picks_the_fewest_segments_that_fit():
    model = _mlp(depth=16)   # 32 layers: each keeps one activation, inputs are one each
    for budget in (20 * ACT, 12 * ACT):
        seq = cr.checkpoint_sequential(model, segments=None, memory_budget=budget)
        seq(X)
        rep = cr.memory.report(lambda x, seq=seq: cr.sum(seq(x)), X)
        assert rep.peak_bytes <= budget
        fewer = cr.memory.sequential._balanced(seq.measured[0], len(seq.bounds) - 1)
        assert cr.memory.sequential.predicted_peak(fewer, *seq.measured) > budget
    with pytest.raises(ValueError, match="no segmentation fits memory_budget"):
        cr.checkpoint_sequential(model, memory_budget=3 * ACT)(X)


def test_sequential_plan_predicts_and_measures():
    model = _mlp(depth=9)
    plan = cr.memory.plan(model, X, segments=3)
    assert plan.predicted["segments"] == 3 and plan.predicted["recomputations"] == 12
    plan.measure(X)
    assert plan.measured["recomputations"] == 12
    assert plan.measured["peak_bytes"] <= plan.predicted["peak_bytes"]
    assert "predicted" in str(plan) and "measured" in str(plan)


def _html_rows(page):
    """{first cell: [other cells]} of the rows of an HTML table."""
    import re
    rows = re.findall(r"<tr>(.*?)</tr>", page)
    cells = [re.findall(r"<t[dh]>(.*?)</t[dh]>", r) for r in rows]
    return {c[0]: c[1:] for c in cells}


def test_plan_shows_as_a_table_predicted_beside_measured():
    model = _mlp(depth=6)
    plan = cr.memory.plan(model, X, segments=3)
    before = _html_rows(plan._repr_html_())
    assert before["recomputations"] == ["8", "-"]
    assert before["peak_bytes"] == [cr.memory.fmt_bytes(plan.predicted["peak_bytes"]), "-"]
    assert "segments (layers): 0-3, 4-7, 8-11" in plan._repr_html_()
    plan.measure(X)
    after = _html_rows(plan._repr_html_())
    assert after["recomputations"] == ["8", "8"]
    assert after["peak_bytes"][1] == cr.memory.fmt_bytes(plan.measured["peak_bytes"])


def test_checkpointed_layers_run_once_forward_and_once_more_backward():
    calls = [0] * 12

    def counted(k, f):
        def run(x):
            calls[k] += 1
            return f(x)
        return run

    model = _mlp(depth=6)
    layers = [counted(k, f) for k, f in enumerate(model.children())]
    seq = cr.checkpoint_sequential(layers, segments=3)
    out = cr.sum(seq(cr.tensor(X)))
    assert calls == [1] * 12   # finding the closed-over weights is the forward pass itself
    out.backward()
    assert calls == [2] * 8 + [1] * 4   # the last segment is kept, not recomputed


def test_scan_plan_predicts_and_measures_revolve():
    w = cr.tensor(np.eye(4) * 0.5, requires_grad=True)
    cell = lambda h, x: (cr.tanh(h @ w + x), None)  # noqa: E731
    xs = np.ones((50, 2, 4)) * 0.1
    plan = cr.memory.plan(cell, cr.zeros((2, 4)), xs, snapshots=4)
    h, _ = cr.scan(cell, cr.zeros((2, 4)), xs, checkpoint=plan)
    cr.sum(h).backward()
    for key in ("recomputations", "peak_states", "peak_bytes"):
        assert plan.measured[key] == plan.predicted[key], key
    page = plan._repr_html_()   # the table a notebook shows
    assert "steps 50, snapshots 4" in page
    assert _html_rows(page)["peak_states"] == ["5", "5"]
    assert _html_rows(page)["recomputations"] == [str(cr.transforms.revolve.recomputations(
        50, 4))] * 2
    budget = cr.memory.plan(cell, cr.zeros((2, 4)), xs, memory_budget=2000)
    assert budget.predicted["peak_bytes"] <= 2000


def test_bad_sizes_say_what_is_accepted():
    with pytest.raises(ValueError, match="size such as '20MB'"):
        cr.checkpoint_sequential([cr.sin], memory_budget="twenty")
    with pytest.raises(ValueError, match="segments must be"):
        cr.checkpoint_sequential([cr.sin], segments=5)


def test_apply_budget_checkpoints_chains_and_loops_keeping_parameter_names():
    build_model = cr.nn.models.build_model
    x = np.random.default_rng(0).random((16, 8, 8)).astype(np.float32)
    for kind, budget in (("mlp", "18KB"), ("rnn", "40KB")):
        model = build_model({"model": kind, "height": 8, "width": 8, "classes": 10,
                             "hidden": 64})
        keys = list(model.state_dict())
        before = cr.memory.report(lambda x, m=model: cr.sum(m(x)), x)
        changed = cr.memory.apply_budget(model, budget)
        after = cr.memory.report(lambda x, m=model: cr.sum(m(x)), x)
        assert changed and list(model.state_dict()) == keys
        assert after.peak_bytes < before.peak_bytes


def test_explain_memory_command(capsys):
    from chainrule.cli.main import main
    assert main(["explain", "--memory", "mlp", "--batch", "32", "--memory-budget",
                 "60KB"]) == 0
    out = capsys.readouterr().out
    assert "saved for backward" in out and "net.1" in out
    assert "with --memory-budget 60KB: net: checkpoint_sequential" in out
    assert main(["explain", "--memory", "rnn", "--memory-budget", "1KB"]) == 2
    assert "memory_budget=1000 bytes is too small" in capsys.readouterr().err


def test_train_with_a_memory_budget_trains_the_same_model(tmp_path, capsys):
    import json

    from chainrule.cli.main import main
    epochs = []
    for extra in ([], ["--memory-budget", "100KB"]):
        out = tmp_path / ("budget" if extra else "plain")
        assert main(["train", "--model", "rnn", "--epochs", "1", "--out", str(out),
                     *extra]) == 0
        epochs.append(json.loads((out / "metrics.json").read_text())["epochs"][0])
    assert "memory budget: rnn: scan(checkpoint='binomial'" in capsys.readouterr().err
    for key in ("train_loss", "train_accuracy", "test_accuracy"):
        assert epochs[0][key] == pytest.approx(epochs[1][key], rel=1e-6), key
    assert main(["train", "--model", "mlp", "--epochs", "1", "--quiet", "--out",
                 str(tmp_path / "small"), "--memory-budget", "1KB"]) == 2
    assert "--memory-budget 1KB: checkpoint_sequential: no segmentation fits" in \
        capsys.readouterr().err


def test_measuring_and_previewing_leave_the_random_stream_where_it_was():
    model = cr.nn.Sequential(cr.nn.Linear(4, 4, dtype=np.float64), cr.nn.Dropout(0.5))
    cell = lambda h, x: (cr.nn.functional.dropout(cr.tanh(h + x), 0.5, True), None)  # noqa: E731
    previews = [lambda: None,
                lambda: cr.memory.plan(model, np.ones((2, 4)), memory_budget=10**6),
                lambda: cr.memory.plan(cell, cr.zeros((2, 4)), np.ones((5, 2, 4)), snapshots=2)]
    masks = []
    for preview in previews:
        cr.nn.init.manual_seed(1)
        preview()
        masks.append(cr.nn.functional.dropout(cr.ones(64), 0.5, True).data)
    assert 0 < np.count_nonzero(masks[0]) < 64
    for m in masks[1:]:
        np.testing.assert_array_equal(m, masks[0])
