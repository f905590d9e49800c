"""`mlayer demo` (not implemented yet)."""

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    pass
