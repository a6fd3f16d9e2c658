"""`chainrule` entry point: one sub-command a module (train, evaluate, explain)."""

from __future__ import annotations

import argparse
import sys


class CommandError(Exception):
    """A user mistake reported as one line and a non-zero exit, never a traceback."""


def build_parser() -> argparse.ArgumentParser:
    from . import explain, train

    parser = argparse.ArgumentParser(
        prog="chainrule", description="Backpropagation you can see, and networks it trains.")
    sub = parser.add_subparsers(dest="command", required=True)
    train.add_parsers(sub)
    explain.add_parser(sub)
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
