"""Version counters, detect_anomaly naming the user's line, and explain.nan."""

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli.main import main

HERE = os.path.basename(__file__)


def test_cr_tensor_copies_the_array_it_is_given():
    a = np.ones(3)
    t = cr.tensor(a, requires_grad=True)
    a[0] = 100.0
    assert t.data[0] == 1.0


def test_a_saved_input_written_in_place_is_an_error_naming_op_and_versions():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor([3.0, 4.0])
    y = cr.sum(w * c)
    c[0] = 100.0
    assert c.version > 0
    with pytest.raises(RuntimeError, match=r"input 1 of 'multiply' .* modified in place after "
                                           r"'multiply' saved it .*version is \d+, the graph "
                                           r"was recorded at version \d+"):
        y.backward()


@pytest.mark.parametrize("view", [lambda c: cr.reshape(c, (2, 1)), lambda c: c[0:1],
                                  lambda c: cr.transpose(cr.reshape(c, (1, 2)))])
def test_a_write_through_a_view_of_a_saved_input_is_caught(view):
    # the view shares c's memory: writing into it changes the values multiply saved
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor([3.0, 4.0])
    y = cr.sum(w * c)
    v = view(c)
    v[0] = 100.0
    assert c.version == v.version > 0
    with pytest.raises(RuntimeError, match=r"input 1 of 'multiply' .* modified in place"):
        y.backward()
    # and the other way round: a node that saved the view sees a write into its base
    z = cr.sum(w * cr.reshape(c, (2,)))
    c[1] = 7.0
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


def test_an_optimizer_step_between_forward_and_backward_is_caught():
    lin = cr.nn.Linear(2, 1)
    loss = lin(cr.tensor(np.ones((1, 2), np.float32))).sum()
    lin.zero_grad()
    for p in lin.parameters():
        p.grad = cr.tensor(np.ones(p.shape, np.float32))
    cr.optim.SGD(lin.parameters(), lr=0.1).step()
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_writes_after_backward_are_fine_and_versions_count():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor([1.0, 1.0])
    (x * c).sum().backward()
    c[1] = 5.0
    c.zero_()
    x.grad = None
    (x * c).sum().backward()
    assert x.grad.data.tolist() == [0.0, 0.0]


def test_detect_anomaly_names_the_forward_op_and_the_users_line():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with pytest.raises(FloatingPointError) as err, np.errstate(all="ignore"):
        with cr.detect_anomaly():
            cr.log(x)  # the line named
    message = str(err.value)
    assert "'log' produced a non-finite value" in message and HERE in message
    assert "cr.log(x)  # the line named" in message and "all its inputs were finite" in message


def test_detect_anomaly_names_the_op_whose_rule_made_a_nan_in_the_backward_pass():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with pytest.raises(FloatingPointError) as err, np.errstate(all="ignore"):
        with cr.detect_anomaly():
            y = cr.where(x > 0, cr.sqrt(x), 0.0).sum()
            y.backward()
    message = str(err.value)
    assert "the backward pass of 'sqrt'" in message and "cr.sqrt(x)" in message
    assert "arriving at its output was finite" in message


def test_explain_nan_finds_zero_times_inf_and_suggests_the_double_where():
    report = cr.explain.nan(lambda x: cr.where(x > 0, cr.sqrt(x), 0.0), 0.0)
    assert report.found and report.op == "sqrt" and report.zero_times_inf
    assert report.path == ["where", "sqrt"] and report.local.item() == np.inf
    text = str(report)
    assert "0 * inf = nan" in text and "cr.where(x > 0, cr.sqrt(cr.where(x > 0, x, 1.0))" in text
    fixed = cr.explain.nan(lambda x: cr.where(x > 0, cr.sqrt(cr.where(x > 0, x, 1.0)), 0.0),
                           0.0)
    assert not fixed.found and "every gradient is finite" in str(fixed)


def test_the_commands_nan_and_anomaly_flags(capsys, tmp_path):
    assert main(["explain", "log(x) * 2", "--at", "x=0", "--nan"]) == 0
    out = capsys.readouterr().out
    assert "edge log -> x" in out and "local derivative of 'log'" in out
    code = main(["train", "--epochs", "1", "--lr", "1e30", "--optimizer", "sgd", "--quiet",
                 "--detect-anomaly", "--out", str(tmp_path / "run")])
    assert code == 1
    err = capsys.readouterr().err
    assert "detect_anomaly" in err or "diverged" in err
