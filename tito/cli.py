"""tito: the course command line. Each command lives in its own file and
registers itself here."""

from __future__ import annotations

import argparse
import importlib
import sys

# command modules, in the order `tito --help` lists them
COMMANDS = [
    "tito.commands.module",
    "tito.commands.export",
    "tito.commands.test",
    "tito.commands.sync",
    "tito.commands.nbgrader",
    "tito.book",
    "tito.commands.doctor",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tito",
        description="TinyTorch course tools: export modules, test them, build "
        "the book, grade.",
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True
    )
    for name in COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            # a real missing dependency, not a command that is not written yet
            if error.name != name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from tito.export import ExportError

    try:
        return args.func(args) or 0
    except (ValueError, ExportError) as error:
        print(f"tito {args.command}: {error}", file=sys.stderr)
        return 2
