"""Warm invocations, measured in pairs so every ratio compares like with like.

One execution environment per variant (ours, seed-style) at the same memory, plus (at a full
vCPU) the floor probe. After each environment's cold invocation is discarded, every batch size
gets a few warm-up rounds and then `repeats` rounds; in each round every variant is invoked once
with the same event (and the floor timed once on the same texts), the order alternating between
rounds. Machine load drifting during the run therefore hits all sides alike.

Durations are the runtime's REPORT Duration (the handler's time, with the event's json.loads
and the response's json.dumps, as on Lambda); wall_ms adds the local runtime's plumbing.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .breakdown import handler_fields, summarize_breakdown
from .envs import execution_environment, invoke_ok
from .floor import FloorProbe
from .records import kinesis_event
from .stats import median, summarize

DISTINCT_EVENTS = 8  # rotate through this many different batches per size


def batch_events(records: Sequence[bytes], batch_size: int, count: int) -> list[dict[str, Any]]:
    events = []
    for i in range(count):
        start = (i * batch_size) % max(1, len(records) - batch_size + 1)
        events.append(kinesis_event(records[start : start + batch_size], start))
    return events


class _Samples:
    def __init__(self) -> None:
        self.durations: list[float] = []
        self.billed: list[float] = []
        self.walls: list[float] = []
        self.memory: list[int] = []
        self.parts: list[tuple[float, dict[str, float] | None]] = []

    def add(self, invocation: Any, wall_ms: float) -> None:
        report = invocation.report
        self.durations.append(float(report.duration_ms))
        self.billed.append(float(report.billed_ms))
        self.walls.append(wall_ms)
        self.memory.append(int(report.max_memory_used_mb))
        self.parts.append((float(report.duration_ms), handler_fields(invocation.logs)))

    def result(self, size: int) -> dict[str, Any]:
        p50 = median(self.durations)
        return {
            "duration_ms": summarize(self.durations),
            "billed_ms": summarize(self.billed),
            "wall_ms": summarize(self.walls),
            "records_per_s": size / (p50 / 1000.0) if p50 else None,
            "records_per_s_wall": size / (median(self.walls) / 1000.0) if self.walls else None,
            "max_memory_used_mb": max(self.memory) if self.memory else None,
            "breakdown_ms_p50": summarize_breakdown(self.parts),
        }


def _timed_invoke(env: Any, event: dict[str, Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    invocation = invoke_ok(env, event)
    return invocation, (time.perf_counter() - start) * 1000.0


def measure_warm(
    manifests: Mapping[str, Path],
    records: Sequence[bytes],
    memory_mb: int,
    batch_sizes: Sequence[int],
    repeats: int,
    *,
    warmup: int = 3,
    floor: FloorProbe | None = None,
    environment: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Per variant and batch size: duration p50/p99, billed, throughput, memory, breakdown; and the paired floor."""
    with contextlib.ExitStack() as stack:
        envs = {key: stack.enter_context(execution_environment(path, memory_mb, environment)) for key, path in manifests.items()}
        cold = {key: invoke_ok(env, kinesis_event(records[:1])) for key, env in envs.items()}
        batches: dict[str, dict[str, Any]] = {key: {} for key in envs}
        floor_out: dict[str, Any] = {}
        paired: dict[str, list[float]] = {}
        for size in batch_sizes:
            events = batch_events(records, size, min(DISTINCT_EVENTS, max(1, repeats)))
            for i in range(warmup):
                for env in envs.values():
                    invoke_ok(env, events[i % len(events)])
                if floor is not None:
                    floor.time(size)
            samples = {key: _Samples() for key in envs}
            floor_ms: list[float] = []
            floor_stages: dict[str, list[float]] = {}
            ratios: list[float] = []
            for i in range(repeats):
                event = events[i % len(events)]
                order = list(envs) if i % 2 == 0 else list(reversed(envs))
                for key in order:
                    invocation, wall = _timed_invoke(envs[key], event)
                    samples[key].add(invocation, wall)
                if floor is not None:
                    ms, stages = floor.time(size)
                    floor_ms.append(ms)
                    for name, value in stages.items():
                        floor_stages.setdefault(name, []).append(value)
                    ratios.append(samples[next(iter(envs))].durations[-1] / ms if ms else float("nan"))
            for key in envs:
                batches[key][str(size)] = samples[key].result(size)
            if floor is not None:
                floor_out[str(size)] = {**summarize(floor_ms), "stages_ms_p50": {k: median(v) for k, v in floor_stages.items()}}
                paired[str(size)] = ratios
    out: dict[str, Any] = {
        "memory_mb": memory_mb,
        "repeats": repeats,
        "variants": {
            key: {
                "cold_init_ms": float(cold[key].report.init_ms or 0.0),
                "batches": batches[key],
                "max_memory_used_mb": max([b["max_memory_used_mb"] for b in batches[key].values()] + [int(cold[key].report.max_memory_used_mb)]),
            }
            for key in envs
        },
    }
    if floor is not None:
        out["floor"] = {
            "proba": floor.proba,
            "pickle_bytes": floor.pickle_bytes,
            "batches": floor_out,
            "paired_ratio_p50": {size: median(values) for size, values in paired.items()},  # median of per-round first-variant / floor
            "load_ms": summarize([floor.load_ms() for _ in range(max(3, repeats // 10))]),
        }
    return out
