"""Run one of this package's scripts (by path) in an isolated target interpreter, JSON in and out."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import MlayerError
from ..isolated import isolated_command, run_isolated
from ..runtime.sandbox import Limits, contained_command

HERE = Path(__file__).resolve().parent
# One BLAS/OpenMP thread: reproducible floating point (no thread-count-dependent reductions), and
# what a small Lambda gets anyway.
SCRIPT_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def run_script(
    python: Path, paths: Sequence[Path], script: str, request: Any, *, what: str, fix: str, timeout: float = 600,
    limits: Limits | None = None,
) -> Any:  # fmt: skip
    """Run HERE/script with `request` as JSON on stdin; return the JSON its last stdout line holds.

    With `limits`, the script runs contained (runtime.sandbox.contained_command): no network, a
    read-only view of the host except a private scratch tmpfs, an environment of SCRIPT_ENV only.
    """
    code = f"import runpy; runpy.run_path({str(HERE / script)!r}, run_name='__main__')"
    try:
        if limits is None:
            proc = run_isolated(python, paths, code, stdin=json.dumps(request), timeout=timeout, env=dict(SCRIPT_ENV))
        else:
            with tempfile.TemporaryDirectory(prefix="mlayer-scratch-") as scratch:
                command = contained_command(isolated_command(python, paths, code), Path(scratch), limits)
                env = {**SCRIPT_ENV, "TMPDIR": scratch, "HOME": scratch}
                proc = subprocess.run(command, input=json.dumps(request), capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise MlayerError(f"{what} took over {timeout:.0f} s in {python}: {fix}") from None
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise MlayerError(f"{what} failed in {python} with only the deps layer on sys.path ({tail}): {fix}")
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        raise MlayerError(f"{what} printed no result in {python} (last line: {lines[-1][:120]!r}): {fix}") from None
