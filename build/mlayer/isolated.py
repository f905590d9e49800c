"""Run Python code in an interpreter of the target version that sees only the paths we give it.

`-I` ignores PYTHON* variables and the user site; `-S` skips site-packages entirely, so the
host's installed packages cannot leak in and make a broken layer look healthy.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import processes
from .errors import MlayerError


def isolated_command(python: Path, paths: Sequence[Path], code: str) -> list[str]:
    prelude = f"import sys; sys.path[:0] = {[str(p) for p in paths]!r}; sys.dont_write_bytecode = True\n"
    return [str(python), "-I", "-S", "-c", prelude + code]


def run_isolated(
    python: Path,
    paths: Sequence[Path],
    code: str,
    *,
    stdin: str | None = None,
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return processes.run(  # its own group: stopped with the build even from a worker thread
        isolated_command(python, paths, code),
        input=stdin,
        timeout=timeout,
        env=env if env is not None else {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )


def run_isolated_json(python: Path, paths: Sequence[Path], code: str, *, what: str, stdin: Any = None, timeout: float = 600) -> Any:
    """Run code that prints one JSON document as its last stdout line; raise MlayerError on failure."""
    proc = run_isolated(python, paths, code, stdin=None if stdin is None else json.dumps(stdin), timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise MlayerError(f"{what} failed in isolated Python {python}: {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
