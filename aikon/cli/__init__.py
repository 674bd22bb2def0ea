"""The ``aikon`` command line: thin commands over the library.

Each command lives in its own module ``aikon/cli/<name>.py`` exposing
``register(subparsers)``; the module must stay cheap to import (heavy
libraries are imported inside the command function) so ``aikon --help`` is fast.
Errors: an :class:`aikon.errors.AikonError` prints one line and exits with its
code (2 for bad input or usage); anything else is an internal error (exit 1).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from aikon import __version__
from aikon.errors import AikonError

# Order shown in --help. Modules that are absent are skipped, so the command
# set grows with the package.
COMMANDS = ("sketch", "detect", "optimize", "estimate", "gcode", "profiles", "ports",
            "plot", "simulate", "score")

EPILOG = """examples:
  aikon sketch samples/astronaut.png -o portrait.svg --preview portrait.png
  aikon detect photo.jpg --json
  aikon --help COMMAND  (or aikon COMMAND --help) for each command's options
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every usage error
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="aikon",
        description="Portrait drawings for pen plotters: photograph -> face -> tone regions -> pen paths -> SVG, G-code, plotter.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"aikon {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"aikon.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"aikon.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    debug = args.debug or bool(os.environ.get("AIKON_DEBUG"))
    try:
        return int(args.func(args) or 0)
    except AikonError as exc:
        print(f"aikon {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"aikon {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # an internal error: a bug to report, not the user's fault
        if debug:
            raise
        print(f"aikon {args.command}: internal error: {type(exc).__name__}: {exc} (rerun with --debug for a traceback)",
              file=sys.stderr)
        return 1
