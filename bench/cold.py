"""Cold starts: a fresh execution environment per run, its INIT and its first invocation.

init_ms is the runtime's own REPORT field (worker process start to handler module imported and
model loaded); first_ms is the first invocation's duration; ready_wall_ms is what the caller of
that first invoke waits (INIT + first invocation + the local runtime's plumbing). The layout
(/opt and the task dir extracted from the zips) is prepared before timing: on Lambda that is
the service's work, not the function's. Variants take turns run by run (order alternating), so
a change in machine load hits them alike and their ratios stay fair.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .envs import execution_environment, invoke_ok
from .stats import summarize


def _one(manifest: Path, event: dict[str, Any], memory_mb: int, environment: Mapping[str, str] | None = None) -> dict[str, float]:
    with execution_environment(manifest, memory_mb, environment) as env:  # extracts or reuses the layout
        start = time.perf_counter()
        invocation = invoke_ok(env, event)
        ready_ms = (time.perf_counter() - start) * 1000.0
    report = invocation.report
    return {
        "init_ms": float(report.init_ms or 0.0),
        "first_invoke_ms": float(report.duration_ms),
        "first_billed_ms": float(report.billed_ms),
        "ready_wall_ms": ready_ms,
        "max_memory_used_mb": float(report.max_memory_used_mb),
    }


def measure_cold(
    manifests: Mapping[str, Path], event: dict[str, Any], memory_mb: int, repeats: int, *, environment: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    runs: dict[str, list[dict[str, float]]] = {key: [] for key in manifests}
    keys = list(manifests)
    for i in range(repeats):
        for key in keys if i % 2 == 0 else list(reversed(keys)):
            runs[key].append(_one(manifests[key], event, memory_mb, environment))
    return {
        key: {
            "memory_mb": memory_mb,
            "batch_size": len(event["Records"]),
            **{field: summarize([r[field] for r in rows]) for field in ("init_ms", "first_invoke_ms", "first_billed_ms", "ready_wall_ms")},
            "max_memory_used_mb": int(max(r["max_memory_used_mb"] for r in rows)),
        }
        for key, rows in runs.items()
    }
