"""Where and under what load the numbers were taken (recorded with every result)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def interpreter_version(python: Path) -> str:
    proc = subprocess.run([str(python), "-I", "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


def describe(python: Path) -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "kernel": platform.release(),
        "host_python": platform.python_version(),
        "target_interpreter": str(python),
        "target_python": interpreter_version(python),
        "blas_env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS_", "OMP_", "MKL_"))},
        "load_avg_start": load_average(),
    }
