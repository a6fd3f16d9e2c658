"""`chainrule` entry point: one sub-command a module (train, evaluate, explain)."""

from __future__ import annotations

import argparse
import sys


class CommandError(Exception):
    """A user mistake reported as one line and a non-zero exit, never a traceback."""


def _one_line_errors(parser, command):
    """argparse mistakes as one line (no usage block), exit status 2 like CommandError."""
    def error(message):
        parser.exit(2, f"{command}: error: {message} (see {command} --help)\n")
    parser.error = error


def build_parser() -> argparse.ArgumentParser:
    from . import explain, train

    parser = argparse.ArgumentParser(
        prog="chainrule", description="Backpropagation you can see, and networks it trains.")
    sub = parser.add_subparsers(dest="command", required=True)
    train.add_parsers(sub)
    explain.add_parser(sub)
    _one_line_errors(parser, "chainrule")
    for name, command in sub.choices.items():
        _one_line_errors(command, f"chainrule {name}")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except CommandError as err:
        print(f"chainrule {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"chainrule {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
