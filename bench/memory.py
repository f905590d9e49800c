"""The smallest memory_size that runs the demo model, with the runtime's memory enforcement on.

Each candidate (ascending) gets a fresh execution environment: the cold invocation, then the
largest benchmarked batch. The first candidate where every invocation succeeds is the answer;
failures are kept with their error so the table says what broke (out of memory, timeout, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .envs import execution_environment, invoke_ok
from .records import kinesis_event


def try_memory(manifest: Path, records: Sequence[bytes], memory_mb: int, batch_sizes: Sequence[int]) -> dict[str, Any]:
    used: list[int] = []
    try:
        with execution_environment(manifest, memory_mb) as env:
            for size in batch_sizes:
                invocation = invoke_ok(env, kinesis_event(records[:size]))
                used.append(int(invocation.report.max_memory_used_mb))
    except Exception as exc:  # BenchError, or the runtime's own errors (OOM kill, timeout) count as "does not run"
        return {"memory_mb": memory_mb, "ok": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}", "max_memory_used_mb": max(used, default=None)}
    return {"memory_mb": memory_mb, "ok": True, "error": None, "max_memory_used_mb": max(used)}


def smallest_memory(manifest: Path, records: Sequence[bytes], candidates: Sequence[int], batch_sizes: Sequence[int]) -> dict[str, Any]:
    tried = []
    for memory_mb in sorted(candidates):
        result = try_memory(manifest, records, memory_mb, batch_sizes)
        tried.append(result)
        if result["ok"]:
            break
    smallest = next((t["memory_mb"] for t in tried if t["ok"]), None)
    return {"candidates_mb": list(candidates), "batch_sizes": list(batch_sizes), "tried": tried, "smallest_mb": smallest}
