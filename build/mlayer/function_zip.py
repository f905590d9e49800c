"""The function zip: the handler's source files from function/, nothing else."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import MlayerError
from .hashing import sha256_file
from .manifest import artifact_entry
from .zipper import iter_tree, write_zip

HANDLER = "lambda_function.lambda_handler"
# Caches, tests and editor droppings never ship: Lambda can't use them and they break determinism.
EXCLUDED = ("__pycache__/*", "*/__pycache__/*", "*.pyc", "*.pyo", "tests/*", "test_*.py", "*_test.py", ".*", "*/.*")


@dataclass(frozen=True)
class FunctionBuild:
    zip_path: Path
    files: tuple[str, ...]
    sha256: str

    def manifest_entry(self, base_dir: Path) -> dict[str, Any]:
        return artifact_entry(self.zip_path, base_dir, expected_sha256=self.sha256, handler=HANDLER, files=list(self.files))


def function_entries(function_dir: Path) -> list[tuple[str, Path]]:
    entries = [
        (name, path)
        for name, path in iter_tree(function_dir)
        if not any(fnmatch.fnmatch(name, pattern) for pattern in EXCLUDED)
    ]
    module = HANDLER.split(".")[0] + ".py"
    if module not in {name for name, _ in entries}:
        raise MlayerError(f"{function_dir}/{module} is missing: the handler {HANDLER} must live at the function directory's root")
    return entries


def build_function_zip(function_dir: Path, dist_dir: Path) -> FunctionBuild:
    """Zip the handler into dist_dir under a content-addressed name (function-<sha12>.zip)."""
    function_dir = Path(function_dir)
    if not function_dir.is_dir():
        raise MlayerError(f"function directory {function_dir} does not exist: pass --function-dir pointing at the handler's source")
    entries = function_entries(function_dir)
    dist_dir = Path(dist_dir)
    staging = write_zip(entries, dist_dir / f".function-staging-{os.getpid()}.zip")
    digest = sha256_file(staging)
    final = dist_dir / f"function-{digest[:12]}.zip"
    staging.replace(final)
    return FunctionBuild(final, tuple(sorted(name for name, _ in entries)), digest)
