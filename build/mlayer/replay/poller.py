"""One shard's poller: batches in sequence order, Lambda's retry / checkpoint / bisect rules.

For each batch read from the shard (ReportBatchItemFailures on):
- success: the batch is done (checkpoint after its last record).
- partial failure: checkpoint at the LOWEST reported sequence number; the records before it are
  done; the rest of the batch is retried (a retry: counts toward max_retries).
- function error (exception, timeout, out of memory, runtime exit): with bisect on and more
  than one record, the batch is split in half and each half is processed in order (splitting
  does not count toward the retry quota); otherwise the same batch is retried.
- invalid response (empty or unknown itemIdentifier): the whole batch failed; it is retried
  (no bisect: the function did not error).
When a piece has used its retries, its records go to the on-failure destination and the shard
moves on, as Lambda does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from ..runtime.environment import ExecutionEnvironment
from .destination import OnFailureDestination, failure_message
from .kinesis import LiveStream, StreamRecord, kinesis_event
from .ledger import Ledger
from .settings import EnvironmentFactory
from .sinks import SinkReader
from .verdict import FunctionError, Invalid, Partial, Success, classify


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    bisect: bool = True


@dataclass
class _Piece:
    records: list[StreamRecord]
    retries: int  # re-sends of this range so far


class ShardPoller:
    """Processes one shard's batches with its own (lazily created, warm) execution environment."""

    def __init__(self, stream: LiveStream, factory: EnvironmentFactory, policy: RetryPolicy, ledger: Ledger, sink: SinkReader, destination: OnFailureDestination) -> None:
        self.stream = stream
        self.factory = factory
        self.policy = policy
        self.ledger = ledger
        self.sink = sink
        self.destination = destination
        self.env: ExecutionEnvironment | None = None

    def environment(self) -> ExecutionEnvironment:
        if self.env is None:
            self.env = self.factory()
        return self.env

    def close(self) -> None:
        if self.env is not None:
            self.env.close()

    def process(self, batch: Sequence[StreamRecord]) -> None:
        queue = deque([_Piece(list(batch), 0)])
        while queue:
            piece = queue.popleft()
            invocation = self.environment().invoke(kinesis_event(piece.records, self.stream))
            verdict = classify(invocation, piece.records)
            self.ledger.attempt(piece.records, invocation, verdict)
            if invocation.ok:
                self.sink.on_response(piece.records, invocation.response)
            if isinstance(verdict, Success):
                continue
            if isinstance(verdict, Partial):
                rest = piece.records[verdict.checkpoint:]
                if piece.retries < self.policy.max_retries:
                    self.ledger.retries += 1
                    queue.appendleft(_Piece(rest, piece.retries + 1))
                else:
                    reported = [f"{rest[0].shard_id}:{s}" for s in sorted(verdict.reported)]
                    self._discard(rest, invocation, piece.retries + 1, "partial batch failure", verdict.reported, reported)
                continue
            if isinstance(verdict, FunctionError) and self.policy.bisect and len(piece.records) > 1:
                self.ledger.bisections += 1
                middle = len(piece.records) // 2
                queue.appendleft(_Piece(piece.records[middle:], piece.retries))
                queue.appendleft(_Piece(piece.records[:middle], piece.retries))
                continue
            if piece.retries < self.policy.max_retries:
                self.ledger.retries += 1
                queue.appendleft(_Piece(piece.records, piece.retries + 1))
                continue
            reason = f"function error ({verdict.status}: {verdict.error_type})" if isinstance(verdict, FunctionError) else f"invalid response: {verdict.reason}"
            assert isinstance(verdict, (FunctionError, Invalid))
            self._discard(piece.records, invocation, piece.retries + 1, reason, frozenset(), [])

    def _discard(self, records, invocation, attempts: int, reason: str, reported_sequences, reported_ids: list[str]) -> None:
        env = self.environment()
        self.destination.send(failure_message(records, self.stream, invocation, env.function.arn, attempts, reason, sorted(reported_sequences)))
        self.ledger.discarded(records, reported_ids)
