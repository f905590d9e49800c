"""The demo's report: a markdown table beside the seed's numbers, and a PNG chart."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..cost import SAGEMAKER_MONTHLY_USD, SEED_BY_BATCH, SEED_INGEST_RECORDS, all_in_costs
from ..fsutil import atomic_path


@dataclass(frozen=True)
class DemoRow:
    batch_size: int
    invocations: int
    p50_ms: float
    p99_ms: float
    mean_billed_ms: float
    max_memory_mb: int
    init_ms: float
    cost_per_ingest: float
    sent: int
    written: int
    reported_failed: int
    lost: int
    duplicates: int
    scaled_from: int  # records actually replayed (cost scaled to 50,000 when smaller)
    dead_lettered: int = 0  # INVALID_RECORDS=dead-letter: malformed records kept in the sink, not retried
    sent_to_on_failure: int = 0  # records in batches that exhausted their retries
    mode: str = "report"  # the handler's INVALID_RECORDS in this replay
    unknown: int = 0  # records the sink could not be read back for
    predictor: str = "sklearn"  # which runtime served the model: "lean" (numpy only) or "sklearn"

    @classmethod
    def from_summary(cls, summary: Any, cost_per_ingest: float, mode: str = "report", predictor: str = "sklearn") -> DemoRow:
        """A row from a ReplaySummary: every field of the same name, plus the scaled cost."""
        copied = {f.name: getattr(summary, f.name) for f in fields(cls) if hasattr(summary, f.name) and f.name not in ("mode", "predictor")}
        return cls(**copied, cost_per_ingest=cost_per_ingest, scaled_from=summary.sent, mode=mode, predictor=predictor)


def break_even(cost_per_ingest: float) -> float:
    return SAGEMAKER_MONTHLY_USD / cost_per_ingest if cost_per_ingest else float("inf")


def markdown_table(rows: list[DemoRow], memory_mb: int, cpu_note: str) -> str:
    modes = sorted({row.mode for row in rows})
    lines = [
        f"Local Lambda replay of a 50,000-record ingest, {memory_mb} MB, {cpu_note}, INVALID_RECORDS {' and '.join(modes)} "
        "(dead-letter keeps malformed records in the sink; report has Lambda retry their batches, then send them to the "
        "on-failure destination). Seed: python3.6, 192 MB, model reloaded per call.",
        "",
        "| INVALID_RECORDS | batch | runtime | ours p50 / p99 ms | seed avg ms | ours billed ms | seed billed ms | ours max MB | seed max MB "
        "| ours $/ingest | seed $/ingest | cheaper | break-even ingests/month (ours / seed) |",
        "|:---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        seed = SEED_BY_BATCH[row.batch_size]
        ratio = seed["cost_per_ingest"] / row.cost_per_ingest if row.cost_per_ingest else float("inf")
        lines.append(
            f"| {row.mode} | {row.batch_size} | {row.predictor} | {row.p50_ms:.1f} / {row.p99_ms:.1f} | {seed['avg_ms']:,} | {row.mean_billed_ms:.1f} "
            f"| {seed['billed_ms']:,} | {row.max_memory_mb} | {seed['max_memory_mb']} | ${row.cost_per_ingest:.6f} "
            f"| ${seed['cost_per_ingest']:.4f} | {ratio:,.0f}x | {break_even(row.cost_per_ingest):,.0f} / {break_even(seed['cost_per_ingest']):,.0f} |"
        )
    lines.append("")
    lines.append("| INVALID_RECORDS | batch | runtime | records replayed | written | dead-lettered | reported failed | sent to on-failure | lost | duplicates | invocations | init ms |")
    lines.append("|:---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        lines.append(
            f"| {row.mode} | {row.batch_size} | {row.predictor} | {row.scaled_from:,} | {row.written:,} | {row.dead_lettered:,} | {row.reported_failed:,} "
            f"| {row.sent_to_on_failure:,} | {row.lost} | {row.duplicates} | {row.invocations:,} | {row.init_ms:.0f} |"
        )
    lines.extend(all_in_table(rows))
    if any(row.scaled_from != 50_000 for row in rows):
        lines.append("")
        lines.append("Rows replaying fewer than 50,000 records scale their cost to 50,000 records.")
    return "\n".join(lines) + "\n"


def all_in_table(rows: list[DemoRow]) -> list[str]:
    """Lambda alone and Lambda plus each sink's requests, per 50,000-record ingest (mlayer.cost prices)."""
    lines = [
        "",
        "All-in $ per 50,000-record ingest (Lambda + the sink's own requests; S3 one object per batch, DynamoDB "
        "one 1-WRU item per record, Kinesis one payload unit per record, shard-hours left out):",
        "",
        "| batch | runtime | Lambda only | + S3 | + DynamoDB | + Kinesis |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        costs = all_in_costs(row.cost_per_ingest, SEED_INGEST_RECORDS, row.batch_size)
        lines.append(
            f"| {row.batch_size} | {row.predictor} | ${costs['none']:.6f} | ${costs['s3']:.6f} | ${costs['dynamodb']:.6f} | ${costs['kinesis']:.6f} |"
        )
    return lines


def write_chart(rows: list[DemoRow], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    batches = sorted({row.batch_size for row in rows})
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for mode in sorted({row.mode for row in rows}):
        mine = [row for row in rows if row.mode == mode]
        left.plot([row.batch_size for row in mine], [row.p50_ms for row in mine], "o-", label=f"mlayer p50 ({mode})")
        right.plot([row.batch_size for row in mine], [row.cost_per_ingest for row in mine], "o-", label=f"mlayer ({mode})")
    left.plot(batches, [SEED_BY_BATCH[b]["avg_ms"] for b in batches], "s--", label="seed average")
    left.set(xscale="log", yscale="log", xlabel="batch size (records per invocation)", ylabel="duration per invocation (ms)", title="Duration")
    left.legend()
    right.plot(batches, [SEED_BY_BATCH[b]["cost_per_ingest"] for b in batches], "s--", label="seed")
    right.set(xscale="log", yscale="log", xlabel="batch size (records per invocation)", ylabel="USD per 50,000-record ingest", title="Cost per ingest")
    right.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path
