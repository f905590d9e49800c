"""The replay's result: every record accounted for, and what the invocations cost."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..cost import summary_cost
from .ledger import DEAD_LETTERED, ON_FAILURE, REPORTED, Ledger

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
    unverified: str | None,
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
    """Every record's fate from the ledger, one pass; `unverified` is why the sink could not be read back, if so."""
    counts: Counter[str] = Counter()
    missing: list[str] = []
    for shard, n, invoked, flags, copies in ledger.records():
        on_failure = bool(flags & ON_FAILURE)
        counts["written"] += copies > 0
        counts["dead_lettered"] += bool(flags & DEAD_LETTERED)
        counts["reported_failed"] += bool(flags & REPORTED)
        counts["on_failure"] += on_failure
        counts["written_and_on_failure"] += copies > 0 and on_failure
        counts["duplicates"] += copies > 1
        counts["duplicate_copies"] += max(0, copies - 1)
        counts["reprocessed"] += invoked > 1
        if not copies and not flags & (DEAD_LETTERED | ON_FAILURE):
            counts["missing"] += 1
            if len(missing) < _SAMPLE_IDS:
                missing.append(ledger.stream.event_id(shard, n))
    # With a sink that could not be read back, a record not found may still have been written.
    lost, unknown = (counts["missing"], 0) if unverified is None else (0, counts["missing"])
    reports = ledger.reports
    durations = [r.duration_ms for r in reports]
    inits = [r.init_ms for r in reports if r.init_ms is not None]
    billed = sum(r.billed_ms for r in reports)
    summary = ReplaySummary(
        sent=ledger.sent,
        shards=shards,
        batch_size=batch_size,
        max_retries=max_retries,
        bisect=bisect,
        sink=sink,
        invalid_records=invalid_records,
        written=counts["written"],
        dead_lettered=counts["dead_lettered"],
        reported_failed=counts["reported_failed"],
        sent_to_on_failure=counts["on_failure"],
        written_and_sent_to_on_failure=counts["written_and_on_failure"],
        lost=lost,
        unknown=unknown,
        duplicates=counts["duplicates"],
        duplicate_copies=counts["duplicate_copies"],
        reprocessed=counts["reprocessed"],
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
        lost_event_ids=missing,
        unverified=unverified,
    )
    summary.cost_usd = summary_cost(summary).total_usd
    return summary
