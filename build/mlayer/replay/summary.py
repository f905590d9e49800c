"""The replay's result: every record accounted for, and what the invocations cost."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..cost import summary_cost
from .ledger import Ledger
from .sinks import SinkContents

_SAMPLE_IDS = 20


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class ReplaySummary:
    # what went in
    sent: int
    shards: int
    batch_size: int
    max_retries: int
    bisect: bool
    sink: str
    invalid_records: str  # the handler's INVALID_RECORDS policy: report or dead-letter
    # where every record ended up
    written: int  # distinct records found in the sink as predictions
    dead_lettered: int  # distinct records found in the sink as dead-letter entries (never decodable)
    reported_failed: int  # reported by the handler in the attempt that exhausted retries
    sent_to_on_failure: int  # distinct records in discarded batches (the on-failure destination)
    written_and_sent_to_on_failure: int  # e.g. good records after a failing one in an exhausted batch
    lost: int  # sent, but neither written, dead-lettered nor sent to on-failure: must be 0
    unknown: int  # not found in the sink nor sent on, when the sink could not be read back in full
    duplicates: int  # records with more than one copy in the final sink contents
    duplicate_copies: int  # the extra copies
    reprocessed: int  # records delivered more than once (expected with retries; not duplicates)
    # the invocations
    invocations: int
    outcomes: dict[str, int]  # success, partial, invalid_response, error, timeout, oom, crash, init_error
    retries: int
    bisections: int
    on_failure_batches: int
    cold_starts: int
    init_ms: float  # mean over cold starts (0 when none)
    init_ms_max: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_memory_mb: int
    billed_ms: int  # total, INIT included on cold starts
    mean_billed_ms: float
    memory_mb: int
    architecture: str
    cpu_throttled: bool
    cost_usd: float
    on_failure_path: str | None
    wall_s: float
    lost_event_ids: list[str] = field(default_factory=list)  # a sample, when lost or unknown > 0
    unverified: str | None = None  # why some records could not be verified (the sink died), else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(
    ledger: Ledger,
    contents: SinkContents,
    *,
    shards: int,
    batch_size: int,
    max_retries: int,
    bisect: bool,
    sink: str,
    invalid_records: str,
    memory_mb: int,
    architecture: str,
    cpu_throttled: bool,
    on_failure_path: str | None,
    wall_s: float,
) -> ReplaySummary:
    sent = set(ledger.sent)
    copies = contents.copies
    written = {eid for eid in copies if eid in sent}
    dead_lettered = contents.dead_lettered & sent
    accounted = written | dead_lettered | ledger.on_failure
    missing = [eid for eid in ledger.sent if eid not in accounted]
    # With a sink that could not be read back, a record not found may still have been written.
    lost, unknown = (missing, []) if contents.error is None else ([], missing)
    reports = ledger.reports
    durations = [r.duration_ms for r in reports]
    inits = [r.init_ms for r in reports if r.init_ms is not None]
    billed = sum(r.billed_ms for r in reports)
    summary = ReplaySummary(
        sent=len(ledger.sent),
        shards=shards,
        batch_size=batch_size,
        max_retries=max_retries,
        bisect=bisect,
        sink=sink,
        invalid_records=invalid_records,
        written=len(written),
        dead_lettered=len(dead_lettered),
        reported_failed=len(ledger.reported_failed),
        sent_to_on_failure=len(ledger.on_failure),
        written_and_sent_to_on_failure=len(written & ledger.on_failure),
        lost=len(lost),
        unknown=len(unknown),
        duplicates=sum(1 for eid in written if copies[eid] > 1),
        duplicate_copies=sum(copies[eid] - 1 for eid in written if copies[eid] > 1),
        reprocessed=sum(1 for count in ledger.invoked.values() if count > 1),
        invocations=len(reports),
        outcomes=dict(sorted(ledger.outcomes.items())),
        retries=ledger.retries,
        bisections=ledger.bisections,
        on_failure_batches=ledger.on_failure_batches,
        cold_starts=len(inits),
        init_ms=round(sum(inits) / len(inits), 2) if inits else 0.0,
        init_ms_max=max(inits, default=0.0),
        p50_ms=percentile(durations, 50),
        p99_ms=percentile(durations, 99),
        mean_ms=round(sum(durations) / len(durations), 2) if durations else 0.0,
        max_memory_mb=max((r.max_memory_used_mb for r in reports), default=0),
        billed_ms=billed,
        mean_billed_ms=round(billed / len(reports), 2) if reports else 0.0,
        memory_mb=memory_mb,
        architecture=architecture,
        cpu_throttled=cpu_throttled,
        cost_usd=0.0,
        on_failure_path=on_failure_path,
        wall_s=round(wall_s, 3),
        lost_event_ids=missing[:_SAMPLE_IDS],
        unverified=contents.error,
    )
    summary.cost_usd = summary_cost(summary).total_usd
    return summary
