"""The bench's traffic: the demo's seed-shaped ingest (all well-formed), and Kinesis events of it.

Records come from `mlayer.demo.records.ingest_records` (JSON whose `textblob` holds a
JSON-encoded text, the seed's shape) with no malformed records, so the seed-style handler, which
has no error handling, sees the same records as ours. Events are built by mlayer.replay's own
Kinesis stand-in, exactly as the replay's poller builds them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mlayer.demo.records import ingest_records
from mlayer.replay import InputRecord, kinesis_event as replay_event, put_records

STREAM = "mlayer-bench"
REGION = "us-east-1"


def ingest(count: int) -> list[bytes]:
    records, malformed = ingest_records(count, malformed_fraction=0.0)
    assert not malformed
    return records


def text_of(record: bytes) -> str:
    return json.loads(json.loads(record)["textblob"])


def kinesis_event(batch: Sequence[bytes], start: int = 0) -> dict[str, Any]:
    """One Lambda Kinesis event holding `batch`, on a one-shard stream (partition keys from `start`)."""
    stream = put_records([InputRecord(data, str(start + i)) for i, data in enumerate(batch)], 1, STREAM, REGION)
    return replay_event(stream.shards[0], stream)
