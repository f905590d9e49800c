"""Checks for what a user hands the CLI: files, directories, numbers, JSON. Each failure is one
MlayerError naming the culprit and the fix, raised before anything is built or written.

Two layers use them:
* argparse `type=` callables (`int_in`, `input_file`, `output_dir`...): argparse calls them while
  parsing, so a bad argument stops the command before it starts; cli.OneLineParser turns their
  ArgumentTypeError into one line and exit 2.
* readers (`read_input_text`, `load_input_json`) for the content of those files, used by the
  commands and the library alike: binary, non-UTF-8, empty, oversized, nested deeper than the
  interpreter can parse, or JSON of the wrong type all end as one MlayerError.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import MlayerError

DEFAULT_MAX_INPUT_BYTES = 64 * 1024 * 1024  # no hand-written input (event, samples, manifest) is near this


def _shown(path: Path | str) -> str:
    return repr(str(path)) if any(not c.isprintable() for c in str(path)) else str(path)


def check_input_file(path: Path, what: str, fix: str) -> Path:
    """`path` exists and is a readable regular file (a FIFO or device would block or never end)."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise MlayerError(f"{what} {_shown(path)} does not exist: {fix}") from None
    except (OSError, ValueError) as exc:  # ENAMETOOLONG, ELOOP, embedded NUL...
        raise MlayerError(f"{what} {_shown(path)} cannot be read ({getattr(exc, 'strerror', None) or exc}): {fix}") from None
    if stat.S_ISDIR(mode):
        raise MlayerError(f"{what} {_shown(path)} is a directory, not a file: {fix}")
    if not stat.S_ISREG(mode):
        raise MlayerError(f"{what} {_shown(path)} is not a regular file: {fix}")
    if not os.access(path, os.R_OK):
        raise MlayerError(f"{what} {_shown(path)} is not readable: check its permissions, or {fix}")
    return path


def check_input_dir(path: Path, what: str, fix: str) -> Path:
    path = Path(path)
    try:
        is_dir, exists = path.is_dir(), path.exists()
    except (OSError, ValueError):
        is_dir = exists = False
    if not exists:
        raise MlayerError(f"{what} {_shown(path)} does not exist: {fix}")
    if not is_dir:
        raise MlayerError(f"{what} {_shown(path)} is a file, not a directory: {fix}")
    return path


def check_output_dir(path: Path, what: str) -> Path:
    """`path` is a directory or can become one (nothing in the way); created later, when writing."""
    path = Path(path)
    for candidate in (path, *path.parents):
        try:
            if candidate.exists():
                if not candidate.is_dir():
                    raise MlayerError(f"{what} {_shown(path)} cannot be a directory: {_shown(candidate)} is a file; pass another path")
                if not os.access(candidate, os.W_OK | os.X_OK):
                    raise MlayerError(f"{what} {_shown(path)} is not writable ({_shown(candidate)}): pass a directory you can write to")
                return path
        except (OSError, ValueError) as exc:
            raise MlayerError(f"{what} {_shown(path)} is not a usable path ({exc}): pass another path") from None
    return path


def check_output_file(path: Path, what: str) -> Path:
    path = Path(path)
    try:
        is_dir = path.is_dir()
    except (OSError, ValueError):
        is_dir = False
    if is_dir:
        raise MlayerError(f"{what} {_shown(path)} is a directory: pass a file path to write, e.g. {_shown(path / 'out.jsonl')}")
    check_output_dir(path.parent, f"{what}'s directory")
    return path


def read_input_bytes(path: Path, what: str, fix: str, max_bytes: int = DEFAULT_MAX_INPUT_BYTES) -> bytes:
    path = check_input_file(path, what, fix)
    size = path.stat().st_size
    if size > max_bytes:
        raise MlayerError(f"{what} {_shown(path)} is {size:,} bytes, over the {max_bytes:,} this input may have: {fix}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise MlayerError(f"{what} {_shown(path)} cannot be read ({exc.strerror or exc}): {fix}") from None


def read_input_text(path: Path, what: str, fix: str, max_bytes: int = DEFAULT_MAX_INPUT_BYTES) -> str:
    data = read_input_bytes(path, what, fix, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MlayerError(f"{what} {_shown(path)} is not UTF-8 text (byte {exc.start}): {fix}") from None


def parse_json_text(text: str, where: str, fix: str) -> Any:
    """json.loads with every way it can fail (bad syntax, nesting past the recursion limit) as one MlayerError."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MlayerError(f"{where} is not valid JSON ({exc.msg} at line {exc.lineno}): {fix}") from None
    except RecursionError:
        raise MlayerError(f"{where} is JSON nested too deeply to read: {fix}") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise MlayerError(f"{where} is not usable JSON ({exc}): {fix}") from None


def load_input_json(
    path: Path, what: str, fix: str, expect: type | tuple[type, ...] = dict, max_bytes: int = DEFAULT_MAX_INPUT_BYTES
) -> Any:
    text = read_input_text(path, what, fix, max_bytes)
    if not text.strip():
        raise MlayerError(f"{what} {_shown(path)} is empty: {fix}")
    data = parse_json_text(text, f"{what} {_shown(path)}", fix)
    if not isinstance(data, expect):
        wanted = " or ".join(_json_type(t) for t in (expect if isinstance(expect, tuple) else (expect,)))
        raise MlayerError(f"{what} {_shown(path)} holds a JSON {_json_type(type(data))}, not a JSON {wanted}: {fix}")
    return data


def _json_type(kind: type) -> str:
    return {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean"}.get(kind, "null")


# -- argparse types: a bad argument is refused while parsing, before anything runs -----------------
def argument_type(check: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return check(text)
        except MlayerError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name  # argparse names the type in its message when ValueError escapes
    return convert


def _number_in(kind: type, low: float, high: float) -> Callable[[str], Any]:
    noun, shown = ("whole number", "{:,}") if kind is int else ("number", "{:g}")
    bounds = f"{shown.format(low)} to {shown.format(high)}"

    def check(text: str) -> Any:
        try:
            value = kind(text.strip())
        except ValueError:
            raise MlayerError(f"{text!r} is not a {noun}: pass one from {bounds}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise MlayerError(f"{text.strip()} is out of range: pass {bounds}")
        return value

    return argument_type(check, noun)


def int_in(low: int, high: int) -> Callable[[str], int]:
    return _number_in(int, low, high)


def float_in(low: float, high: float) -> Callable[[str], float]:
    return _number_in(float, low, high)


def int_list_in(low: int, high: int, most: int = 32) -> Callable[[str], tuple[int, ...]]:
    single = int_in(low, high)

    def check(text: str) -> tuple[int, ...]:
        parts = [part for part in text.split(",")]
        if not text.strip() or len(parts) > most:
            raise MlayerError(f"{text[:40]!r} is not a comma-separated list of 1 to {most} numbers: e.g. 1,10,100")
        try:
            numbers = tuple(single(part) for part in parts)
        except argparse.ArgumentTypeError as exc:
            raise MlayerError(f"in {text[:40]!r}: {exc}") from None
        repeated = sorted({n for n in numbers if numbers.count(n) > 1})
        if repeated:
            raise MlayerError(f"{text[:40]!r} lists {repeated[0]} more than once: give each number once, e.g. 1,10,100")
        return numbers

    return argument_type(check, "list")


def input_file(what: str, fix: str) -> Callable[[str], Path]:
    return argument_type(lambda text: check_input_file(Path(text), what, fix), "file")


def input_dir(what: str, fix: str) -> Callable[[str], Path]:
    return argument_type(lambda text: check_input_dir(Path(text), what, fix), "directory")


def output_dir(what: str) -> Callable[[str], Path]:
    return argument_type(lambda text: check_output_dir(Path(text), what), "directory")


def output_file(what: str) -> Callable[[str], Path]:
    return argument_type(lambda text: check_output_file(Path(text), what), "file")


def plain_text(what: str, fix: str, max_chars: int = 256) -> Callable[[str], str]:
    """A free-text argument (a name, an environment variable) with no control characters."""

    def check(text: str) -> str:
        if len(text) > max_chars or any(not c.isprintable() for c in text):
            raise MlayerError(f"{what} {text[:60]!r} has control characters or is over {max_chars} characters: {fix}")
        return text

    return argument_type(check, "text")
