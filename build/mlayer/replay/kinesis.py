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

    @property
    def shard_id(self) -> str:
        return shard_id(self.shard_index)

    @property
    def event_id(self) -> str:
        return f"{self.shard_id}:{self.sequence_number}"


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
    """Put the records on a fresh stream of `shards` shards, in order, as a producer would."""
    now = time.time() if now is None else now
    run = int(now * 1000) * _TIME_STRIDE
    per_shard: list[list[StreamRecord]] = [[] for _ in range(shards)]
    for index, record in enumerate(records):
        key = record.partition_key if record.partition_key is not None else str(index)
        shard = shard_for(key, shards)
        sequence = _SEQUENCE_BASE + run + shard * _SHARD_STRIDE + (len(per_shard[shard]) + 1) * _RECORD_STRIDE
        per_shard[shard].append(StreamRecord(index, shard, str(sequence), key, record.data, round(now + index / 1000, 3)))
    return Stream(name, region, per_shard)


def event_record(record: StreamRecord, stream: Stream) -> dict:
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


def kinesis_event(records: Sequence[StreamRecord], stream: Stream) -> dict:
    return {"Records": [event_record(record, stream) for record in records]}


def record_event_bytes(record: StreamRecord, stream: Stream) -> int:
    return len(json.dumps(event_record(record, stream))) + 2  # ", " between records


def batches(shard: Sequence[StreamRecord], stream: Stream, batch_size: int) -> list[list[StreamRecord]]:
    """What the poller reads per invocation: up to batch_size records, never over 6 MB of event."""
    out: list[list[StreamRecord]] = []
    current: list[StreamRecord] = []
    size = _EVENT_OVERHEAD
    for record in shard:
        record_size = record_event_bytes(record, stream)
        if current and (len(current) == batch_size or size + record_size > PAYLOAD_LIMIT_BYTES):
            out.append(current)
            current, size = [], _EVENT_OVERHEAD
        current.append(record)
        size += record_size
    if current:
        out.append(current)
    return out
