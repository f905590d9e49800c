"""The build cache: a directory per resolved-input key, shared by every checkout on the machine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import __version__
from .hashing import sha256_json


def cache_root() -> Path:
    """$MLAYER_CACHE_DIR, else $XDG_CACHE_HOME/mlayer, else ~/.cache/mlayer."""
    explicit = os.environ.get("MLAYER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlayer"


def cache_key(kind: str, **inputs: Any) -> str:
    """A digest of everything that decides an artifact's bytes, mlayer's own version included."""
    return sha256_json({"kind": kind, "mlayer": __version__, **inputs})


def cache_dir(kind: str, key: str) -> Path:
    return cache_root() / kind / key
