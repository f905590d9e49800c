"""Cold starts: a fresh execution environment per run, its INIT and its first invocation.

init_ms is the runtime's own REPORT field (worker process start to handler module imported and
model loaded); first_ms is the first invocation's duration; ready_wall_ms is what the caller of
that first invoke waits (INIT + first invocation + the local runtime's plumbing). The layout
(/opt and the task dir extracted from the zips) is prepared before timing: on Lambda that is
the service's work, not the function's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .envs import execution_environment, invoke_ok
from .stats import summarize


def measure_cold(manifest: Path, event: dict[str, Any], memory_mb: int, repeats: int) -> dict[str, Any]:
    init_ms, first_ms, billed_ms, ready_ms, max_mem = [], [], [], [], []
    for _ in range(repeats):
        with execution_environment(manifest, memory_mb) as env:  # extracts or reuses the layout
            start = time.perf_counter()
            invocation = invoke_ok(env, event)
            ready_ms.append((time.perf_counter() - start) * 1000.0)
        report = invocation.report
        init_ms.append(float(report.init_ms or 0.0))
        first_ms.append(float(report.duration_ms))
        billed_ms.append(float(report.billed_ms))
        max_mem.append(int(report.max_memory_used_mb))
    return {
        "memory_mb": memory_mb,
        "batch_size": len(event["Records"]),
        "init_ms": summarize(init_ms),
        "first_invoke_ms": summarize(first_ms),
        "first_billed_ms": summarize(billed_ms),
        "ready_wall_ms": summarize(ready_ms),
        "max_memory_used_mb": max(max_mem) if max_mem else None,
    }
