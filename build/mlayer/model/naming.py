"""Model names and versions: one rule, shared with the Terraform module, and why.

Where they end up:
* NAME: a directory, a zip name, an S3 key segment, a manifest/Terraform map key, and the model
  layer's name `<name_prefix>-model-<NAME>`. A Lambda layer name allows only `[a-zA-Z0-9_-]`,
  at most 140 characters; name_prefix takes at most 24 and `-model-` 7, so 64 leave room.
* VERSION: a directory, a zip name, an S3 key segment, a map key and the MODEL_VERSION
  environment value; never a layer name (a layer's versions are numbers Lambda assigns). Dots
  are therefore allowed (`1.2.0`); the seed's date style `20190104v1` is the convention.

Both start with a letter (NAME) or a letter or digit (VERSION): never `-` (it reads as a
command-line flag) nor `.` (a hidden file, or `..`). Matching is on the WHOLE string (`fullmatch`
here, `^...$` in HCL, where RE2's `$` only matches at the very end): no trailing newline or other
control character slips through, unlike Python's `re.match` with `$`.

RULES is the one table: variables.tf carries the same patterns as `^PATTERN$`, and
tests/test_naming.py fails when the two differ.
"""

from __future__ import annotations

import re

from ..errors import MlayerError

NAME_PATTERN = r"[A-Za-z][A-Za-z0-9_-]{0,63}"
VERSION_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
NAME_MAX = VERSION_MAX = 64
# Terraform variable -> the pattern its validation must use (tests/test_naming.py checks variables.tf).
RULES = {"model_name": NAME_PATTERN, "model_version": VERSION_PATTERN, "canary_model_version": VERSION_PATTERN}

NAME_RE = re.compile(NAME_PATTERN)
VERSION_RE = re.compile(VERSION_PATTERN)


def is_valid_name(name: object) -> bool:
    return isinstance(name, str) and NAME_RE.fullmatch(name) is not None


def is_valid_version(version: object) -> bool:
    return isinstance(version, str) and VERSION_RE.fullmatch(version) is not None


def validate_name(name: str) -> str:
    if not is_valid_name(name):
        if isinstance(name, str) and len(name) > NAME_MAX:
            why = f"is {len(name)} characters, the limit is {NAME_MAX} (it becomes part of a Lambda layer name)"
        else:
            why = "must start with a letter and use only letters, digits, '_' and '-' (a Lambda layer name allows nothing else)"
        raise MlayerError(f"model name {name!r} {why}: use e.g. MyModel or ticket-router")
    return name


def validate_version(version: str) -> str:
    if not is_valid_version(version):
        if isinstance(version, str) and len(version) > VERSION_MAX:
            why = f"is {len(version)} characters, the limit is {VERSION_MAX}"
        else:
            why = "must start with a letter or digit and use only letters, digits, '.', '_' and '-'"
        raise MlayerError(f"model version {version!r} {why}: use the date style 20190104v1 (or e.g. v3, 1.2.0)")
    return version


def version_sort_key(version: str) -> list[tuple[int, int | str]]:
    """Natural order: 20190104v2 < 20190104v10."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", version) if part]
