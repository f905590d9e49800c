"""The ingest: N records through `mlayer.replay` at one batch size, wall time with the cold start."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlayer.replay import replay

from .envs import settings


def run_replay(manifest: Path, records: Sequence[bytes], batch_size: int, memory_mb: int) -> dict[str, Any]:
    started = time.perf_counter()
    summary = replay(list(records), batch_size=batch_size, shards=1, env=settings(manifest, memory_mb))
    wall = time.perf_counter() - started
    data = summary.to_dict()
    data.pop("lost_event_ids", None)
    return {"records": len(records), "batch_size": batch_size, "memory_mb": memory_mb, "wall_s": wall, "summary": data}


def measure_ingest(manifest: Path, records: Sequence[bytes], batch_size: int, memory_mb: int) -> dict[str, Any]:
    """wall_s: from the replay call to its return (stream put, cold start, every batch, teardown)."""
    result = run_replay(manifest, records, batch_size, memory_mb)
    summary = result["summary"]
    if summary["lost"] or summary["written"] != len(records):
        raise RuntimeError(f"the replay lost records: {summary['lost']} lost, {summary['written']} of {len(records)} written")
    result["records_per_s"] = len(records) / result["wall_s"] if result["wall_s"] else None
    return result
