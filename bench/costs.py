"""Cost per 50,000-record ingest from billed durations measured here (INIT billed), vs the seed.

Batch 100 takes the ingest replay's own totals. Batch 1 and 10 replay a sample (at most
`sample_invocations` invocations) through `mlayer.replay` and scale the warm invocations' billed
time to the ingest; the cold start is counted once (one shard, one execution environment), as in
the full replay. The seed-style handler's cost comes from its billed durations measured in this
same run at the same memory; the seed article's own figures are quoted beside them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlayer import cost as lambda_cost

from .config import INGEST_RECORDS
from .ingest import run_replay


def _scaled_billed_ms(summary: dict[str, Any], full_invocations: int) -> float:
    """Cold start billed once, the warm invocations' billed time scaled to the full ingest."""
    init_billed = math.ceil(summary["init_ms"]) * summary["cold_starts"]
    warm_billed = summary["billed_ms"] - init_billed
    warm_invocations = summary["invocations"] - summary["cold_starts"]
    if warm_invocations <= 0:
        return float(summary["billed_ms"])
    return init_billed + warm_billed * (full_invocations - summary["cold_starts"]) / warm_invocations


def _ours(summary: dict[str, Any], batch_size: int, memory_mb: int, architecture: str) -> dict[str, Any]:
    full_invocations = math.ceil(INGEST_RECORDS / batch_size)
    billed = _scaled_billed_ms(summary, full_invocations)
    cost = lambda_cost.ingest_cost(billed, memory_mb, architecture, requests=full_invocations)
    return {
        "records_replayed": summary["sent"],
        "invocations_replayed": summary["invocations"],
        "scaled": summary["sent"] != INGEST_RECORDS,
        "mean_billed_ms": summary["mean_billed_ms"],
        "init_ms": summary["init_ms"],
        "ingest_billed_ms": billed,
        "ours_usd": cost.total_usd,
        "ours_compute_usd": cost.compute_usd,
        "ours_request_usd": cost.request_usd,
    }


def _seed_measured(batch_size: int, memory_mb: int, architecture: str, seed_warm: dict[str, Any], seed_cold: dict[str, Any]) -> dict[str, Any] | None:
    batch = seed_warm["batches"].get(str(batch_size))
    if batch is None:
        return None
    full_invocations = math.ceil(INGEST_RECORDS / batch_size)
    billed = seed_cold["first_billed_ms"]["p50"] + batch["billed_ms"]["p50"] * (full_invocations - 1)
    cost = lambda_cost.ingest_cost(billed, memory_mb, architecture, requests=full_invocations)
    return {"billed_ms_p50": batch["billed_ms"]["p50"], "usd": cost.total_usd, "compute_usd": cost.compute_usd}


def measure_costs(
    manifest: Path,
    records: Sequence[bytes],
    memory_mb: int,
    batch_sizes: Sequence[int],
    sample_invocations: int,
    ingest_result: dict[str, Any],
    seed_warm: dict[str, Any],
    seed_cold: dict[str, Any],
) -> dict[str, Any]:
    architecture = ingest_result["summary"]["architecture"]
    out: dict[str, Any] = {
        "memory_mb": memory_mb,
        "architecture": architecture,
        "price_gb_s_usd": lambda_cost.price_for(architecture).gb_second_usd,
        "price_request_usd": lambda_cost.price_for(architecture).request_usd,
        "prices_taken": lambda_cost.PRICES_TAKEN,
        "sagemaker_monthly_usd": lambda_cost.SAGEMAKER_MONTHLY_USD,
        "seed_break_even_ingests": lambda_cost.SEED_BREAK_EVEN_INGESTS,
        "batches": {},
    }
    for size in batch_sizes:
        if size == ingest_result["batch_size"]:
            summary = ingest_result["summary"]
        else:
            count = min(len(records), sample_invocations * size)
            summary = run_replay(manifest, records[:count], size, memory_mb)["summary"]
        row = _ours(summary, size, memory_mb, architecture)
        seed_article = lambda_cost.SEED_BY_BATCH.get(size, {}).get("cost_per_ingest")
        row["seed_article_usd"] = seed_article
        row["seed_over_ours"] = seed_article / row["ours_usd"] if seed_article and row["ours_usd"] else None
        row["seed_measured"] = _seed_measured(size, memory_mb, architecture, seed_warm, seed_cold)
        row["break_even_ingests_per_month"] = lambda_cost.break_even_ingests(row["ours_usd"])
        out["batches"][str(size)] = row
    return out
