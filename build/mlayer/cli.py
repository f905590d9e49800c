"""`mlayer` command line: parses arguments and calls the library; no logic lives here."""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import MlayerError

# Each module in mlayer.commands exposes register(subparsers) and sets `func` on its parsers.
COMMAND_MODULES = ("build", "model", "train_demo", "invoke", "replay", "demo", "deploy")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlayer", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mlayer {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"mlayer.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except MlayerError as exc:
        print(f"mlayer: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("mlayer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error of ours
        sys.stderr.close()
        return 141
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
