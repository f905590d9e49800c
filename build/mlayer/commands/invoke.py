"""`mlayer invoke` (not implemented yet)."""

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    pass
