"""The function zip: the handler's source files from function/, and their .pyc for the target interpreter.

/var/task is read-only on Lambda, so without .pyc every cold start compiles the handler's ~80 KB
of source: ~42 ms of CPU, ~0.3 s of INIT at 256 MB (CPU = memory / 1,769 MB). The .pyc are
written as the deps layer's are (unchecked-hash, source path /var/task/...): same inputs, same bytes.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import processes
from .errors import MlayerError
from .hashing import sha256_file
from .manifest import artifact_entry
from .zipper import iter_tree, write_zip

HANDLER = "lambda_function.lambda_handler"
LAMBDA_TASK_DIR = "/var/task"
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


def compiled_entries(python: Path, entries: list[tuple[str, Path]], work: Path) -> list[tuple[str, Path]]:
    """(archive name, path) of __pycache__/*.pyc for every .py entry, compiled by `python` (the runtime's version)."""
    for name, path in entries:
        if name.endswith(".py"):
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, work / name)
    command = [str(python), "-I", "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", "-s", str(work), "-p", LAMBDA_TASK_DIR, str(work)]
    proc = processes.run(command)
    if proc.returncode != 0:
        detail = (proc.stdout + proc.stderr).strip().splitlines()
        raise MlayerError(f"compiling the handler with {python} failed: {detail[0] if detail else 'no output'}: fix the file it names")
    return [(name, path) for name, path in iter_tree(work) if name.endswith(".pyc")]


def build_function_zip(function_dir: Path, dist_dir: Path, python: Path | None = None) -> FunctionBuild:
    """Zip the handler into dist_dir under a content-addressed name (function-<sha12>.zip); with `python`
    (the runtime's interpreter), its .pyc too."""
    function_dir = Path(function_dir)
    if not function_dir.is_dir():
        raise MlayerError(f"function directory {function_dir} does not exist: pass --function-dir pointing at the handler's source")
    entries = function_entries(function_dir)
    dist_dir = Path(dist_dir)
    with tempfile.TemporaryDirectory(prefix="mlayer-function-pyc-") as work:
        if python is not None:
            entries = entries + compiled_entries(Path(python), entries, Path(work))
        staging = write_zip(entries, dist_dir / f".function-staging-{os.getpid()}.zip")
    digest = sha256_file(staging)
    final = dist_dir / f"function-{digest[:12]}.zip"
    staging.replace(final)
    return FunctionBuild(final, tuple(sorted(name for name, _ in entries)), digest)
