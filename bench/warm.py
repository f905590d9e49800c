"""Warm invocations: one execution environment, many invocations per batch size.

The cold invocation is discarded, then each batch size gets a few warm-up invocations and
`repeats` timed ones. Events are built before timing. Durations are the runtime's REPORT
duration (the handler's time); wall_ms adds the local runtime's plumbing (event in, response out).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .envs import execution_environment, invoke_ok
from .records import kinesis_event
from .stats import median, summarize

DISTINCT_EVENTS = 8  # rotate through this many different batches per size


def batch_events(records: Sequence[bytes], batch_size: int, count: int) -> list[dict[str, Any]]:
    events = []
    for i in range(count):
        start = (i * batch_size) % max(1, len(records) - batch_size + 1)
        events.append(kinesis_event(records[start : start + batch_size], start))
    return events


def run_batches(env: Any, records: Sequence[bytes], batch_sizes: Sequence[int], repeats: int, warmup: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for size in batch_sizes:
        events = batch_events(records, size, min(DISTINCT_EVENTS, max(1, repeats)))
        for i in range(warmup):
            invoke_ok(env, events[i % len(events)])
        durations, billed, walls, memory = [], [], [], []
        for i in range(repeats):
            start = time.perf_counter()
            invocation = invoke_ok(env, events[i % len(events)])
            walls.append((time.perf_counter() - start) * 1000.0)
            durations.append(float(invocation.report.duration_ms))
            billed.append(float(invocation.report.billed_ms))
            memory.append(int(invocation.report.max_memory_used_mb))
        p50 = median(durations)
        out[str(size)] = {
            "duration_ms": summarize(durations),
            "billed_ms": summarize(billed),
            "wall_ms": summarize(walls),
            "records_per_s": size / (p50 / 1000.0) if p50 else None,
            "records_per_s_wall": size / (median(walls) / 1000.0) if walls else None,
            "max_memory_used_mb": max(memory) if memory else None,
        }
    return out


def measure_warm(manifest: Path, records: Sequence[bytes], memory_mb: int, batch_sizes: Sequence[int], repeats: int, warmup: int = 3) -> dict[str, Any]:
    with execution_environment(manifest, memory_mb) as env:
        cold = invoke_ok(env, kinesis_event(records[:1]))
        batches = run_batches(env, records, batch_sizes, repeats, warmup)
    return {
        "memory_mb": memory_mb,
        "repeats": repeats,
        "cold_init_ms": float(cold.report.init_ms or 0.0),
        "batches": batches,
        "max_memory_used_mb": max([b["max_memory_used_mb"] for b in batches.values()] + [int(cold.report.max_memory_used_mb)]),
    }
