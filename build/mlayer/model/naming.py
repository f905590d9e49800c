"""Model names and versions: what is accepted, and why.

Both end up in places with strict alphabets: a directory name, an S3 key segment, a zip name, a
Terraform map key and a Lambda layer name (`[a-zA-Z0-9-_]+`, at most 64 characters for the
whole name once mlayer adds its prefix). So:

* NAME:    ^[A-Za-z][A-Za-z0-9_-]{0,39}$   a letter first, at most 40 characters
           (leaves 24 characters of the 64 for a prefix such as `<function>-model-`).
* VERSION: ^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$  at most 32 characters, no dots, not starting with `-`
           (a leading `-` reads as a command-line flag). The seed's date style `20190104v1` is
           the convention; `v3`, `2024-06-01_b` are accepted too. Dots are refused because a
           layer name cannot hold them: write `1-2-0` instead of `1.2.0`.
"""

from __future__ import annotations

import re

from ..errors import MlayerError

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
NAME_MAX = 40
VERSION_MAX = 32


def validate_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        shown = name if isinstance(name, str) else repr(name)
        if isinstance(name, str) and len(name) > NAME_MAX:
            why = f"is {len(name)} characters, the limit is {NAME_MAX} (it becomes part of a Lambda layer name, max 64)"
        else:
            why = "must start with a letter and use only letters, digits, '_' and '-' (a Lambda layer name allows nothing else)"
        raise MlayerError(f"model name {shown!r} {why}: use e.g. MyModel or ticket-router")
    return name


def validate_version(version: str) -> str:
    if not isinstance(version, str) or not VERSION_RE.match(version):
        shown = version if isinstance(version, str) else repr(version)
        if isinstance(version, str) and len(version) > VERSION_MAX:
            why = f"is {len(version)} characters, the limit is {VERSION_MAX}"
        elif isinstance(version, str) and "." in version:
            why = "contains '.', which a Lambda layer name cannot hold"
        else:
            why = "must start with a letter or digit and use only letters, digits, '_' and '-'"
        raise MlayerError(
            f"model version {shown!r} {why}: use the date style 20190104v1 (or e.g. v3, 1-2-0)"
        )
    return version


def version_sort_key(version: str) -> list[tuple[int, int | str]]:
    """Natural order: 20190104v2 < 20190104v10."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", version) if part]
