"""Every record's history in a replay, and every invocation's REPORT."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..runtime.report import Invocation, Report
from .kinesis import StreamRecord
from .verdict import FunctionError, Verdict


@dataclass
class Ledger:
    sent: list[str]  # eventIDs in input order
    invoked: Counter[str] = field(default_factory=Counter)  # deliveries per record
    reported_failed: set[str] = field(default_factory=set)  # reported in the attempt that exhausted retries
    on_failure: set[str] = field(default_factory=set)  # sent to the on-failure destination
    reports: list[Report] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    bisections: int = 0
    on_failure_batches: int = 0

    def attempt(self, batch: Sequence[StreamRecord], invocation: Invocation, verdict: Verdict) -> None:
        self.invoked.update(record.event_id for record in batch)
        self.reports.append(invocation.report)
        self.outcomes[verdict.status if isinstance(verdict, FunctionError) else verdict.kind] += 1

    def discarded(self, batch: Iterable[StreamRecord], reported: Iterable[str] = ()) -> None:
        self.on_failure_batches += 1
        self.on_failure.update(record.event_id for record in batch)
        self.reported_failed.update(reported)
