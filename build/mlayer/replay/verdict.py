"""How Lambda's Kinesis poller reads one invocation's outcome (ReportBatchItemFailures on).

- function error (handler exception, timeout, out of memory, runtime exit, INIT failure):
  the whole batch failed; it may be bisected.
- success: no batchItemFailures, an empty or null list, or no usable response body at all.
- partial: every itemIdentifier is a sequence number of this batch; Lambda checkpoints at the
  LOWEST of them (the records before it are done) and retries from there.
- invalid: an empty / null / missing itemIdentifier, or one that is not in the batch: Lambda
  treats the whole batch as failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..runtime.report import Invocation
from .kinesis import StreamRecord


@dataclass(frozen=True)
class Success:
    kind = "success"


@dataclass(frozen=True)
class Partial:
    checkpoint: int  # index in the batch of the lowest reported sequence number
    reported: frozenset[str]  # the reported sequence numbers
    kind = "partial"


@dataclass(frozen=True)
class Invalid:
    reason: str
    kind = "invalid_response"


@dataclass(frozen=True)
class FunctionError:
    status: str  # error, timeout, oom, crash, init_error
    error_type: str | None
    kind = "function_error"


Verdict = Success | Partial | Invalid | FunctionError


def classify(invocation: Invocation, batch: Sequence[StreamRecord]) -> Verdict:
    if not invocation.ok:
        return FunctionError(invocation.status, (invocation.error or {}).get("errorType"))
    response = invocation.response
    if not isinstance(response, dict):
        return Success()
    failures = response.get("batchItemFailures")
    if not failures:
        return Success()
    if not isinstance(failures, list):
        return Invalid(f"batchItemFailures is a {type(failures).__name__}, not a list")
    position = {record.sequence_number: index for index, record in enumerate(batch)}
    reported: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or not identifier:
            return Invalid(f"empty or missing itemIdentifier in {item!r}")
        if identifier not in position:
            return Invalid(f"itemIdentifier {identifier!r} is not a sequence number of this batch")
        reported.add(identifier)
    return Partial(min(position[s] for s in reported), frozenset(reported))
