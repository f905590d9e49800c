"""Every record's history in a replay, in a few bytes per record, and every invocation's REPORT.

A record is known by (shard, n), its position in its shard (LiveStream.locate maps an eventID
back to it), so the ledger holds three bytearrays per shard instead of strings, sets and
dicts: about 3 bytes per record (a 10-million-record replay: 30 MB), where the first replay
held ~2.7 KB per record. Counts saturate at 255, far above any retry policy's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from ..runtime.report import Invocation, Report
from .kinesis import LiveStream, StreamRecord
from .verdict import FunctionError, Verdict

ON_FAILURE = 1  # in a batch sent to the on-failure destination
REPORTED = 2  # reported by the handler in the attempt that exhausted retries
DEAD_LETTERED = 4  # found in the sink as a dead-letter entry
_MAX = 255


@dataclass
class Ledger:
    stream: LiveStream
    invoked: list[bytearray] = field(init=False)  # deliveries per record
    flags: list[bytearray] = field(init=False)
    copies: list[bytearray] = field(init=False)  # copies found in the sink's final contents
    reports: list[Report] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    bisections: int = 0
    on_failure_batches: int = 0

    def __post_init__(self) -> None:
        shards = self.stream.shard_count
        self.invoked, self.flags, self.copies = ([bytearray() for _ in range(shards)] for _ in range(3))

    @property
    def sent(self) -> int:
        return self.stream.sent

    def put(self, record: StreamRecord) -> None:
        """A record was put on the stream (its n is the shard's count)."""
        for arrays in (self.invoked, self.flags, self.copies):
            arrays[record.shard_index].append(0)

    def _mark(self, arrays: list[bytearray], shard: int, n: int, *, flag: int = 0, add: int = 0, value: int | None = None) -> None:
        array = arrays[shard]
        if value is not None:
            array[n - 1] = value
        elif flag:
            array[n - 1] |= flag
        else:
            array[n - 1] = min(_MAX, array[n - 1] + add)

    def attempt(self, batch: Sequence[StreamRecord], invocation: Invocation, verdict: Verdict) -> None:
        for record in batch:
            self._mark(self.invoked, record.shard_index, record.n, add=1)
        self.reports.append(invocation.report)
        self.outcomes[verdict.status if isinstance(verdict, FunctionError) else verdict.kind] += 1

    def discarded(self, batch: Iterable[StreamRecord], reported: Iterable[str] = ()) -> None:
        self.on_failure_batches += 1
        for record in batch:
            self._mark(self.flags, record.shard_index, record.n, flag=ON_FAILURE)
        for event_id in reported:
            self.flag_event(event_id, REPORTED)

    def flag_event(self, event_id: str, flag: int) -> bool:
        located = self.stream.locate(event_id)
        if located is not None:
            self._mark(self.flags, *located, flag=flag)
        return located is not None

    def found_written(self, event_id: str, *, overwrite: bool = False) -> bool:
        """A copy of this record's prediction is in the sink (overwrite: a keyed store, one copy at most)."""
        located = self.stream.locate(event_id)
        if located is not None:
            self._mark(self.copies, *located, value=1) if overwrite else self._mark(self.copies, *located, add=1)
        return located is not None

    def records(self) -> Iterator[tuple[int, int, int, int, int]]:
        """(shard, n, deliveries, flags, copies) for every record, shard by shard."""
        for shard in range(self.stream.shard_count):
            for n, (invoked, flags, copies) in enumerate(zip(self.invoked[shard], self.flags[shard], self.copies[shard]), 1):
                yield shard, n, invoked, flags, copies
