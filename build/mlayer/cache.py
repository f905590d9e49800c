"""The build cache: a directory per resolved-input key, shared by every checkout on the machine."""

from __future__ import annotations

import fcntl
import os
import shutil
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


def key_lock_path(kind: str, key: str) -> Path:
    """The file a builder of `key` holds an exclusive flock on while it builds."""
    return cache_dir(kind, key).with_suffix(".lock")


def sweep_stale_staging(kind: str) -> list[Path]:
    """Remove staging directories (`.<key>.<random>.tmp`, fsutil.atomic_dir's) that a killed build
    left in the cache; return them. One is stale when nobody holds its key's lock: a running build
    holds it for as long as its staging exists, so its staging is never touched."""
    root = cache_root() / kind
    removed = []
    for staging in sorted(root.glob(".*.tmp")) if root.is_dir() else []:
        key = staging.name.split(".")[1]
        lock = key_lock_path(kind, key)
        try:
            with open(lock, "a") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a build of this key is running: its staging is live
                try:
                    shutil.rmtree(staging, ignore_errors=True)
                    removed.append(staging)
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        except OSError:
            continue
    return removed
