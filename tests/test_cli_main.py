"""The command as a whole: one-line argparse errors, --version, help when bare,
`python -m chainrule`, NumPy warnings as one line, a closed pipe ends quietly."""

import os
import subprocess
import sys

import pytest

import chainrule as cr
from chainrule.cli.main import main
from chainrule.cli.output import plural

CHAINRULE = os.path.join(os.path.dirname(sys.executable), "chainrule")


@pytest.mark.parametrize("argv, prefix", [
    (["explain", "--bogus"], "chainrule: error: unrecognized arguments: --bogus"),
    (["train", "--epochs", "-1"], "chainrule train: error: argument --epochs"),
    (["train", "--seed", "-1"], "chainrule train: error: argument --seed: expected a whole "
                                "number from 0 to 2**32-1, got '-1'"),
    (["train", "--seed", "2.5"], "chainrule train: error: argument --seed"),
    (["train", "--lr", "0"], "chainrule train: error: argument --lr: expected a positive"),
    (["train", "--lr", "nan"], "chainrule train: error: argument --lr"),
    (["train", "--batch-size", "0"], "chainrule train: error: argument --batch-size"),
    (["train", "--optimizer", "lbfgs"], "chainrule train: error: argument --optimizer: "
                                        "unknown optimizer 'lbfgs'"),
    (["evaluate"], "chainrule evaluate: error:"),
    (["explain", "--max-paths", "x", "a"], "chainrule explain: error:"),
    (["explain", "--max-paths", "-1", "a"], "chainrule explain: error: argument --max-paths"),
])
def test_argparse_errors_are_one_line(argv, prefix, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(prefix) and err.count("\n") == 1, err


def test_bare_command_prints_help_and_version_is_known(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: chainrule") and "train" in out and "explain" in out
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"chainrule {cr.__version__}"


def test_python_dash_m_runs_the_command(tmp_path):
    result = subprocess.run([sys.executable, "-m", "chainrule", "--version"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == f"chainrule {cr.__version__}"
    result = subprocess.run([sys.executable, "-m", "chainrule", "train", "--seed", "-1"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_numpy_warnings_become_one_line_naming_the_op(capsys):
    import numpy as np

    from chainrule.cli.output import numpy_warnings_as_lines

    with numpy_warnings_as_lines("chainrule train"):
        cr.log(cr.tensor(np.array([-1.0, -2.0])))
        cr.log(cr.tensor(-3.0))
    lines = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert lines == ["chainrule train: warning: NumPy: invalid value encountered in log "
                     "(a result may be inf or nan)"]


def test_explain_reports_nan_without_numpy_noise(capsys):
    # explain shows inf and nan as answers, so NumPy's warnings about them are suppressed
    assert main(["explain", "log(x) + log(x)", "--at", "x=-1"]) == 0
    captured = capsys.readouterr()
    assert "nan" in captured.out
    assert "warning" not in captured.err and "RuntimeWarning" not in captured.err


def test_a_pipe_closed_early_ends_quietly(tmp_path):
    program = " + ".join(f"sin(x{i})" for i in range(60))
    at = [f"x{i}=1" for i in range(60)]
    # ~370 kB of JSON: far more than a pipe holds, so the writer meets the closed end.
    reader = subprocess.Popen(["head", "-c", "1"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL)
    writer = subprocess.run([CHAINRULE, "explain", program, "--at", *at, "--json"],
                            stdout=reader.stdin, stderr=subprocess.PIPE, text=True, timeout=120)
    reader.stdin.close()
    reader.wait(timeout=60)
    assert writer.stderr == "", writer.stderr
    assert writer.returncode == 141  # as a program killed by SIGPIPE reports


def test_plurals():
    assert [plural(1, "epoch"), plural(2, "epoch"), plural(0, "epoch")] == [
        "1 epoch", "2 epochs", "0 epochs"]
    assert plural(1, "class", "classes") == "1 class" and plural(1797, "image") == \
        "1,797 images"
