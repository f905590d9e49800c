"""Records on a Kinesis stream, and the events Lambda's poller builds from them.

- Shards: the 128-bit MD5 of the partition key picks the shard whose hash-key range holds it;
  a stream of K shards splits 0..2^128-1 into K equal ranges (as CreateStream does).
- Sequence numbers: per shard, strictly increasing 56-digit decimal strings, like Kinesis'
  ("4959..."). They grow with time, so two replays never share an eventID, and they compare
  numerically (and, having the same length, as strings).
- Events: the exact shape Lambda sends (and `sam local generate-event kinesis get-records`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ..runtime.lambda_env import ACCOUNT_ID
from .records import InputRecord

HASH_SPACE = 2**128
_SEQUENCE_BASE = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898  # 56 digits
# sequence = BASE + ms since epoch * 10^33 + shard * 10^31 + n * (2^66 + 1): time dominates, so a
# later replay's numbers are higher in every shard; n below 10^11 and shard below 64 never overlap.
_TIME_STRIDE = 10**33
_SHARD_STRIDE = 10**31
_RECORD_STRIDE = 2**66 + 1  # changes the middle digits, as consecutive Kinesis sequence numbers do
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/mlayer-local-lambda-role"
PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024  # Lambda's invoke payload: the poller never builds a bigger event
_EVENT_OVERHEAD = len('{"Records": []}')


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"


def shard_for(partition_key: str, shards: int) -> int:
    """Which of `shards` equal hash-key ranges the key's MD5 falls in."""
    hash_key = int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")
    return min(hash_key // (HASH_SPACE // shards), shards - 1)


@dataclass(frozen=True)
class StreamRecord:
    index: int  # position in the input
    shard_index: int
    sequence_number: str
    partition_key: str
    data: bytes
    arrival: float  # approximateArrivalTimestamp, epoch seconds
    n: int = 0  # 1-based position in its shard (LiveStream.locate's inverse)

    @property
    def shard_id(self) -> str:
        return shard_id(self.shard_index)

    @property
    def event_id(self) -> str:
        return f"{self.shard_id}:{self.sequence_number}"


class LiveStream:
    """A stream being written: only per-shard counters are kept, never the records, so a replay
    of 10 million records holds what one of 1,000 does. Sequence numbers are arithmetic
    (sequence_number / locate), which lets the replay account for records by (shard, n)."""

    def __init__(self, name: str, region: str, shards: int, now: float | None = None) -> None:
        self.name, self.region, self.shard_count = name, region, shards
        self.now = time.time() if now is None else now
        self._run = int(self.now * 1000) * _TIME_STRIDE
        self.counts = [0] * shards  # records put per shard
        self.sent = 0

    @property
    def arn(self) -> str:
        return f"arn:aws:kinesis:{self.region}:{ACCOUNT_ID}:stream/{self.name}"

    def sequence_number(self, shard: int, n: int) -> str:
        """The n-th (1-based) record's sequence number in `shard`."""
        return str(_SEQUENCE_BASE + self._run + shard * _SHARD_STRIDE + n * _RECORD_STRIDE)

    def event_id(self, shard: int, n: int) -> str:
        return f"{shard_id(shard)}:{self.sequence_number(shard, n)}"

    def locate(self, event_id: str) -> tuple[int, int] | None:
        """(shard, n) of a record this stream holds, from its eventID; None for any other."""
        shard_text, _, sequence = event_id.partition(":")
        if not shard_text.startswith("shardId-") or not shard_text[8:].isdigit() or not sequence.isdigit():
            return None
        shard = int(shard_text[8:])
        if shard >= self.shard_count:
            return None
        n, rest = divmod(int(sequence) - _SEQUENCE_BASE - self._run - shard * _SHARD_STRIDE, _RECORD_STRIDE)
        return (shard, n) if rest == 0 and 1 <= n <= self.counts[shard] else None

    def put(self, record: InputRecord) -> StreamRecord:
        """Put one record, as PutRecord would: its shard from the partition key, the next sequence number."""
        index = self.sent
        key = record.partition_key if record.partition_key is not None else str(index)
        shard = shard_for(key, self.shard_count)
        self.counts[shard] += 1
        self.sent += 1
        n = self.counts[shard]
        return StreamRecord(index, shard, self.sequence_number(shard, n), key, record.data, round(self.now + index / 1000, 3), n)


@dataclass(frozen=True)
class Stream:
    name: str
    region: str
    shards: list[list[StreamRecord]]  # per shard, in sequence order

    @property
    def arn(self) -> str:
        return f"arn:aws:kinesis:{self.region}:{ACCOUNT_ID}:stream/{self.name}"

    @property
    def records(self) -> list[StreamRecord]:
        return sorted((r for shard in self.shards for r in shard), key=lambda r: r.index)


def put_records(records: Sequence[InputRecord], shards: int, name: str, region: str, now: float | None = None) -> Stream:
    """Put the records on a fresh stream of `shards` shards, in order, as a producer would (all in memory)."""
    live = LiveStream(name, region, shards, now)
    per_shard: list[list[StreamRecord]] = [[] for _ in range(shards)]
    for record in records:
        put = live.put(record)
        per_shard[put.shard_index].append(put)
    return Stream(name, region, per_shard)


def event_record(record: StreamRecord, stream: Stream | LiveStream) -> dict:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record.partition_key,
            "sequenceNumber": record.sequence_number,
            "data": base64.b64encode(record.data).decode("ascii"),
            "approximateArrivalTimestamp": record.arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": record.event_id,
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": ROLE_ARN,
        "awsRegion": stream.region,
        "eventSourceARN": stream.arn,
    }


def kinesis_event(records: Sequence[StreamRecord], stream: Stream | LiveStream) -> dict:
    return {"Records": [event_record(record, stream) for record in records]}


def record_event_bytes(record: StreamRecord, stream: Stream | LiveStream) -> int:
    return len(json.dumps(event_record(record, stream))) + 2  # ", " between records


class ShardBatcher:
    """One shard's next batch, built record by record: up to batch_size records, never over 6 MB of event."""

    def __init__(self, stream: Stream | LiveStream, batch_size: int) -> None:
        self.stream, self.batch_size = stream, batch_size
        self.current: list[StreamRecord] = []
        self.size = _EVENT_OVERHEAD

    def add(self, record: StreamRecord) -> list[StreamRecord] | None:
        """Add a record; return the batch it completed (the one before it), if any."""
        record_size = record_event_bytes(record, self.stream)
        full = None
        if self.current and (len(self.current) == self.batch_size or self.size + record_size > PAYLOAD_LIMIT_BYTES):
            full, self.current, self.size = self.current, [], _EVENT_OVERHEAD
        self.current.append(record)
        self.size += record_size
        return full

    def flush(self) -> list[StreamRecord] | None:
        full, self.current, self.size = self.current or None, [], _EVENT_OVERHEAD
        return full


def batches(shard: Sequence[StreamRecord], stream: Stream | LiveStream, batch_size: int) -> list[list[StreamRecord]]:
    """What the poller reads per invocation, for a whole shard at once."""
    batcher = ShardBatcher(stream, batch_size)
    out = [batch for batch in map(batcher.add, shard) if batch is not None]
    last = batcher.flush()
    return out + [last] if last is not None else out
