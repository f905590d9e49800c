"""The INIT no numpy-based handler can go below: the interpreter starting and importing numpy.

Each run starts the runtime's interpreter exactly as the local runtime starts its worker (same
flags, same launch shim, in its own CPU cgroup at the memory's share), with only the lean deps
layer on sys.path and one BLAS thread, and times it from spawn to exit:
- `interpreter`: `pass`, the runtime's own start;
- `numpy`: `import numpy`, what every lean handler must do before it can predict.
Set next to the lean handler's INIT at the same memory, it says how much of that INIT is ours to cut.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from mlayer.runtime import cgroups, sandbox

from .stats import summarize

PROGRAMS = {"interpreter": "pass", "numpy": "import numpy"}
_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1"}


def _one(python: Path, layer_python_dir: Path, program: str, memory_mb: int, control: cgroups.CpuControl) -> float:
    cgroup = cgroups.create_cpu_cgroup(control, memory_mb) if control.mode else None
    code = f"import sys; sys.path.insert(0, {str(layer_python_dir)!r}); {program}"
    command = sandbox.launch_command([str(python), "-I", "-S", "-B", "-c", code], cgroup_procs=cgroup.procs_file if cgroup else None, readonly_dirs=[])
    try:
        started = time.perf_counter()
        proc = subprocess.run(command, env=_ENV, capture_output=True, text=True, timeout=120)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
    finally:
        if cgroup is not None:
            cgroup.remove()
    if proc.returncode != 0:
        raise RuntimeError(f"INIT floor run {program!r} failed: {(proc.stderr.strip().splitlines() or ['(no output)'])[-1]}")
    return elapsed_ms


def measure_init_floor(python: Path, layer_python_dir: Path, memory_mb: int, repeats: int) -> dict[str, Any]:
    """Per program, a summary of wall ms over `repeats` fresh processes (programs interleaved)."""
    control = cgroups.probe_cpu_control()
    runs: dict[str, list[float]] = {name: [] for name in PROGRAMS}
    for _ in range(repeats):
        for name, program in PROGRAMS.items():
            runs[name].append(_one(python, layer_python_dir, program, memory_mb, control))
    return {"memory_mb": memory_mb, "cpu_throttled": control.mode is not None, **{name: summarize(values) for name, values in runs.items()}}
