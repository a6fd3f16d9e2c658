"""Every sub-command reports argparse mistakes as one line and exit status 2."""

import pytest

from chainrule.cli.main import main


@pytest.mark.parametrize("argv, prefix", [
    ([], "chainrule: error:"),
    (["explain", "--bogus"], "chainrule: error: unrecognized arguments: --bogus"),
    (["train", "--epochs", "-1"], "chainrule train: error: argument --epochs"),
    (["evaluate"], "chainrule evaluate: error:"),
    (["explain", "--max-paths", "x", "a"], "chainrule explain: error:"),
])
def test_argparse_errors_are_one_line(argv, prefix, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(prefix) and err.count("\n") == 1, err
