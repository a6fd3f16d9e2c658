"""`chainrule` entry point: one sub-command a module (train, evaluate, explain)."""

from __future__ import annotations

import argparse
import sys

from .errors import CommandError
from .output import numpy_warnings_as_lines, quiet_broken_pipe


def _one_line_errors(parser, command):
    """argparse mistakes as one line (no usage block), exit status 2 like CommandError."""
    def error(message):
        parser.exit(2, f"{command}: error: {message} (see {command} --help)\n")
    parser.error = error


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from . import explain, train

    parser = argparse.ArgumentParser(
        prog="chainrule", description="Backpropagation you can see, and networks it trains.",
        epilog="Run `chainrule COMMAND --help` for a command's options.")
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train.add_parsers(sub)
    explain.add_parser(sub)
    _one_line_errors(parser, "chainrule")
    for name, command in sub.choices.items():
        _one_line_errors(command, f"chainrule {name}")
    return parser


def main(argv=None) -> int:
    """Run the command; returns its exit status (0 success, 2 a usage mistake)."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:  # help, not an error, when run bare
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    try:
        with numpy_warnings_as_lines(f"chainrule {args.command}"):
            code = int(args.run(args) or 0)
        sys.stdout.flush()
        return code
    except CommandError as err:
        print(f"chainrule {args.command}: error: {err}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        print(f"chainrule {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return quiet_broken_pipe()


if __name__ == "__main__":
    sys.exit(main())
