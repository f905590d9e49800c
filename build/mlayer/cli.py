"""`mlayer` command line: parses arguments and calls the library; no logic lives here.

Every failure a user can cause ends as ONE line on stderr and exit status 2: a bad argument
(OneLineParser, with the checks in inputs.py run while parsing, before anything is built) or a
MlayerError from the library. Anything else is a bug of ours: one line too, exit 1, and the
traceback only with MLAYER_DEBUG=1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NoReturn

from . import __version__
from .errors import MlayerError
from .processes import Terminated, terminate_on_sigterm

# Each module in mlayer.commands exposes register(subparsers) and sets `func` on its parsers.
COMMAND_MODULES = ("build", "model", "train_demo", "invoke", "replay", "redrive", "demo", "deploy")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage block): `mlayer invoke: error: ... (see --help)`."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {text} (see `{self.prog} --help`)\n")


def make_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="mlayer", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mlayer {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"mlayer.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # a refused argument (one line already printed), --help or --version
        return exit_.code if isinstance(exit_.code, int) else 2
    if argv is None:  # the real command line, not a test calling main(): SIGTERM cleans up like Ctrl-C
        terminate_on_sigterm()
    try:
        result = args.func(args)
    except MlayerError as exc:
        print(f"mlayer: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Terminated:
        print("mlayer: terminated (SIGTERM): child processes stopped, staging removed", file=sys.stderr)
        return Terminated.exit_code
    except KeyboardInterrupt:
        print("mlayer: interrupted: child processes stopped, staging removed", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error of ours
        sys.stderr.close()
        return 141
    except Exception as exc:  # a bug, not the user's input: still one line unless asked for more
        if os.environ.get("MLAYER_DEBUG"):
            raise
        text = " ".join(f"{type(exc).__name__}: {exc}".split())[:400]
        print(f"mlayer: internal error: {text} (a bug in mlayer: rerun with MLAYER_DEBUG=1 for the traceback and report it)", file=sys.stderr)
        return 1
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
