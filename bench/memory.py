"""The smallest memory_size that runs the demo model, with the runtime's memory enforcement on.

Each candidate (ascending) gets `trials` fresh execution environments, each doing its cold
invocation and then the given batch sizes (the largest benchmarked batch included), with the
CPU throttled to the candidate's share as in `mlayer replay`. A candidate counts only if every
trial succeeds: peak memory sits close to the smallest sizes, so one lucky run proves nothing.
Failures keep their error (out of memory, timeout, ...); peak_rss_mb is the measured peak
(VmHWM), which Lambda's "Max Memory Used" caps at the memory size.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .envs import execution_environment, invoke_ok
from .records import kinesis_event


def _trial(manifest: Path, records: Sequence[bytes], memory_mb: int, batch_sizes: Sequence[int]) -> dict[str, Any]:
    peaks: list[int] = []
    init_ms = None
    try:
        with execution_environment(manifest, memory_mb) as env:
            for size in batch_sizes:
                invocation = invoke_ok(env, kinesis_event(records[:size]))
                init_ms = init_ms if invocation.report.init_ms is None else float(invocation.report.init_ms)
                peaks.append(int(invocation.report.peak_rss_mb))
    except Exception as exc:  # BenchError, or the runtime's own errors: they all mean "does not run"
        return {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}", "peak_rss_mb": max(peaks, default=None), "init_ms": init_ms}
    return {"ok": True, "error": None, "peak_rss_mb": max(peaks), "init_ms": init_ms}


def try_memory(manifest: Path, records: Sequence[bytes], memory_mb: int, batch_sizes: Sequence[int], trials: int) -> dict[str, Any]:
    runs = []
    for _ in range(trials):
        runs.append(_trial(manifest, records, memory_mb, batch_sizes))
        if not runs[-1]["ok"]:
            break
    failed = next((r for r in runs if not r["ok"]), None)
    return {
        "memory_mb": memory_mb,
        "ok": failed is None,
        "trials": len(runs),
        "error": failed["error"] if failed else None,
        "peak_rss_mb": max((r["peak_rss_mb"] for r in runs if r["peak_rss_mb"] is not None), default=None),
        "init_ms": max((r["init_ms"] for r in runs if r["init_ms"] is not None), default=None),
    }


def smallest_memory(manifest: Path, records: Sequence[bytes], candidates: Sequence[int], batch_sizes: Sequence[int], trials: int = 3) -> dict[str, Any]:
    tried = []
    for memory_mb in sorted(candidates):
        result = try_memory(manifest, records, memory_mb, batch_sizes, trials)
        tried.append(result)
        if result["ok"]:
            break
    smallest = next((t["memory_mb"] for t in tried if t["ok"]), None)
    return {"candidates_mb": list(candidates), "batch_sizes": list(batch_sizes), "trials": trials, "tried": tried, "smallest_mb": smallest}
