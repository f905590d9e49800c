"""The on-failure destination: one JSON line per discarded batch, as Lambda sends to SQS/SNS.

Lambda sends batch METADATA, not the records (the consumer re-reads them from the stream by
sequence number): requestContext, responseContext, KinesisBatchInfo. For local convenience
each line also carries "mlayer": the eventIDs in the range and the ones the handler reported.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ..runtime.report import Invocation
from .kinesis import LiveStream, Stream, StreamRecord


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def failure_message(
    records: Sequence[StreamRecord],
    stream: Stream | LiveStream,
    invocation: Invocation,
    function_arn: str,
    attempts: int,
    reason: str,
    reported: Sequence[str] = (),
) -> dict[str, Any]:
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if not invocation.ok:
        response_context["functionError"] = "Unhandled"
    return {
        "requestContext": {
            "requestId": invocation.request_id,
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": attempts,
        },
        "responseContext": response_context,
        "version": "1.0",
        "timestamp": _iso(dt.datetime.now(dt.timezone.utc).timestamp()),
        "KinesisBatchInfo": {
            "shardId": records[0].shard_id,
            "startSequenceNumber": records[0].sequence_number,
            "endSequenceNumber": records[-1].sequence_number,
            "approximateArrivalOfFirstRecord": _iso(records[0].arrival),
            "approximateArrivalOfLastRecord": _iso(records[-1].arrival),
            "batchSize": len(records),
            "streamArn": stream.arn,
        },
        "mlayer": {
            "reason": reason,
            "eventIDs": [record.event_id for record in records],
            "reportedFailed": sorted(f"{records[0].shard_id}:{s}" for s in reported),
            "lastError": invocation.error,
        },
    }


class OnFailureDestination:
    """Appends failure messages to a JSONL file (truncated when the replay starts), or only counts them."""

    def __init__(self, path: Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self.messages = 0
        self._out: TextIO | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._out = open(self.path, "w", encoding="utf-8")

    def send(self, message: dict[str, Any]) -> None:
        self.messages += 1
        if self._out is not None:
            self._out.write(json.dumps(message, separators=(",", ":")) + "\n")
            self._out.flush()

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
