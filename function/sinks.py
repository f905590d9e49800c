"""Where predictions go: nothing (returned in the response), S3, DynamoDB or Kinesis.

Every write is idempotent or replay-safe, because delivery is at-least-once: Lambda
checkpoints at the LOWEST sequence number in batchItemFailures and re-delivers everything
after it, so good records already written are written again.

- s3: one JSON-lines object per run of consecutive predicted records in a shard's batch, key
  `<prefix>/<shardId>/<firstSeq>-<lastSeq>.jsonl` (first/last of the run). Without failures a
  batch is one run, one object. A failed record ends a run: when Lambda resumes at the
  checkpoint (the failed record), the runs after it are delivered again and land on the same
  keys, so retries overwrite instead of duplicating. Only a record that fails once and then
  succeeds (a transient error) can leave a record in two objects: consumers dedupe on
  `eventID`, present in every line. Keys are built from shard and sequence number only
  (kinesis_records makes `eventID` `<shardId>:<sequenceNumber>` and rejects a repeated one), so
  two records can never share an object, whatever eventIDs the producer sent.
- dynamodb: one item per record, partition key `eventID` (string): re-writing is a no-op overwrite.
  Numbers are made valid for DynamoDB (dynamodb_number): a float below 1e-130 in magnitude, which
  DynamoDB rejects and predict_proba can produce, is written as 0; one above 9.99e125 is clamped
  to DynamoDB's largest number. If a chunk still meets a ValidationException (an item over 400 KB,
  say), its items are written one by one, so only the offending record fails.
- kinesis: one record per prediction, partition key = the source record's partition key (or
  eventID when that is empty or over Kinesis' 256 characters), so per-key order is kept;
  re-delivery can duplicate, consumers dedupe on `eventID`.

Dead-letter entries (INVALID_RECORDS=dead-letter, see dead_letters.py) go the same way, told
apart from predictions: s3 under `<prefix>/_invalid/<shardId>/<firstSeq>-<lastSeq>.jsonl` per
run of consecutive invalid records; dynamodb items with `status = "invalid"` (predictions then
get `status = "predicted"`); kinesis records with `"invalid": true`. They are written in calls
of their own, so an entry that cannot be written never fails a prediction's write.

Transient errors and throttling are retried by botocore (standard mode, SINK_MAX_ATTEMPTS);
partial failures inside a successful call (UnprocessedItems, FailedRecordCount) are retried
here with exponential backoff and full jitter, bounded by the same attempt budget and by the
invocation's remaining time. What still fails is returned so the handler reports it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from handler_config import SinkSettings
from kinesis_records import SourceRecord

_CLIENTS: dict[str, Any] = {}  # one boto3 client per service per execution environment
_BACKOFF_BASE_S = 0.05
_BACKOFF_CAP_S = 2.0
_DYNAMODB_BATCH = 25
_KINESIS_BATCH = 500
_KINESIS_BATCH_BYTES = 5 * 1024 * 1024
_KINESIS_MAX_PARTITION_KEY = 256  # characters
INVALID_FOLDER = "_invalid"  # s3: dead-letter entries live under <prefix>/_invalid/


class SinkResult:
    __slots__ = ("failed", "errors", "retries")

    def __init__(self) -> None:  # a plain class, not @dataclass: see handler_config
        self.failed: set[str] = set()  # sequence numbers not written
        self.errors: list[str] = []
        self.retries = 0  # partial-failure rounds run by the handler (botocore's own retries not counted)

    def add(self, other: SinkResult) -> None:
        self.failed |= other.failed
        self.errors += other.errors
        self.retries += other.retries


def client(service: str, settings: SinkSettings) -> Any:
    """The service's client, created on first use: SINK=none never imports boto3."""
    existing = _CLIENTS.get(service)
    if existing is not None:
        return existing
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": settings.max_attempts, "mode": "standard"},
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        user_agent_extra="mlayer-handler",
    )
    created = boto3.client(service, config=config)
    _CLIENTS[service] = created
    return created


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def json_line(document: dict[str, Any]) -> bytes:
    """One JSON line as UTF-8; a string UTF-8 cannot hold (a lone surrogate) is written \\u-escaped."""
    try:
        return (dumps(document) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(document, separators=(",", ":"), allow_nan=False) + "\n").encode("ascii")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def _sleep_before_retry(attempt: int, deadline: float) -> bool:
    """Full-jitter exponential backoff; False when the invocation has no time left for it."""
    import random  # only a retry needs it: not imported at INIT

    delay = random.uniform(0, min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * (2**attempt)))
    if time.monotonic() + delay >= deadline:
        return False
    time.sleep(delay)
    return True


def _retry_partial(
    pending: list[Any],
    send: Callable[[list[Any]], list[Any]],
    settings: SinkSettings,
    deadline: float,
    result: SinkResult,
) -> list[Any]:
    """Call send(pending) until nothing comes back, attempts run out or time does; return the rest."""
    for attempt in range(settings.max_attempts):
        if attempt:
            if not _sleep_before_retry(attempt, deadline):
                break
            result.retries += 1
        pending = send(pending)
        if not pending:
            break
    return pending


class NoSink:
    name = "none"

    def write(
        self, sources: Sequence[SourceRecord], documents: list[dict[str, Any]], deadline: float, *, invalid: bool = False
    ) -> SinkResult:
        return SinkResult()


def consecutive_runs(sources: Sequence[SourceRecord], documents: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Maximal runs of consecutive delivered records (per shard, in delivery order) that have a document
    (a prediction, or a dead-letter entry): any other record ends a run."""
    by_event = {d["eventID"]: d for d in documents}
    runs: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    for source in sources:
        document = by_event.pop(source.event_id, None)  # a repeated record never gets it twice
        if document is None or (current and current[-1]["shardId"] != source.shard_id):
            if current:
                runs.append(current)
            current = []
        if document is not None:
            current.append(document)
    if current:
        runs.append(current)
    return runs


class S3Sink:
    name = "s3"

    def __init__(self, settings: SinkSettings) -> None:
        self.settings = settings

    def key(self, shard_id: str, first_sequence: str, last_sequence: str, invalid: bool = False) -> str:
        parts = (self.settings.s3_prefix, INVALID_FOLDER if invalid else "", shard_id, f"{first_sequence}-{last_sequence}.jsonl")
        return "/".join(part for part in parts if part)

    def write(
        self, sources: Sequence[SourceRecord], documents: list[dict[str, Any]], deadline: float, *, invalid: bool = False
    ) -> SinkResult:
        result = SinkResult()
        for run in consecutive_runs(sources, documents):
            first, last = run[0], run[-1]
            key = self.key(first["shardId"], first["sequenceNumber"], last["sequenceNumber"], invalid)
            try:
                body = b"".join(json_line(p) for p in run)
                client("s3", self.settings).put_object(
                    Bucket=self.settings.s3_bucket, Key=key, Body=body, ContentType="application/x-ndjson"
                )
            except Exception as exc:  # botocore already retried what was retryable
                result.failed.update(p["sequenceNumber"] for p in run)
                result.errors.append(f"s3://{self.settings.s3_bucket}/{key}: {_describe(exc)}")
        return result


DYNAMODB_MIN_MAGNITUDE = 1e-130  # DynamoDB rejects a non-zero number smaller than this
DYNAMODB_MAX_NUMBER = "9.9999999999999999999999999999999999999E+125"  # and a larger one than this


def dynamodb_number(value: int | float) -> str:
    """A number as DynamoDB accepts it: below 1e-130 in magnitude -> 0, beyond +-9.99e125 -> clamped,
    at most 38 significant digits (a float's repr has at most 17)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a number DynamoDB can hold")
        if abs(value) < DYNAMODB_MIN_MAGNITUDE:
            return "0"
    elif len(str(abs(value))) <= 38:
        return str(value)
    if abs(value) >= 1e126:
        return ("-" if value < 0 else "") + DYNAMODB_MAX_NUMBER
    return repr(float(value)) if isinstance(value, int) else repr(value)


def dynamodb_value(value: Any) -> dict[str, Any]:
    """A JSON-safe value as a DynamoDB attribute value (numbers as N strings, no Decimal needed)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": dynamodb_number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        return {"M": {str(k): dynamodb_value(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [dynamodb_value(v) for v in value]}
    return {"S": str(value)}


def _is_validation_error(exc: BaseException) -> bool:
    """A request DynamoDB refuses for its content (item too large, bad number): retrying it whole
    would fail the same way, so the chunk is split to find the culprit."""
    response = getattr(exc, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") == "ValidationException"


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class DynamoDBSink:
    name = "dynamodb"

    def __init__(self, settings: SinkSettings, dead_letter: bool = False) -> None:
        self.settings = settings
        self.dead_letter = dead_letter  # then every item carries `status`, so a scan tells them apart

    def item(self, document: dict[str, Any], invalid: bool) -> dict[str, Any]:
        if invalid:
            document = {**document, "status": "invalid"}
        elif self.dead_letter:
            document = {**document, "status": "predicted"}
        return dynamodb_value(document)["M"]

    def write(
        self, sources: Sequence[SourceRecord], documents: list[dict[str, Any]], deadline: float, *, invalid: bool = False
    ) -> SinkResult:
        result = SinkResult()
        table = self.settings.dynamodb_table
        sequence_of = {d["eventID"]: d["sequenceNumber"] for d in documents}
        requests = [{"PutRequest": {"Item": self.item(d, invalid)}} for d in documents]

        def send(pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
            unprocessed: list[dict[str, Any]] = []
            chunks = list(_chunks(pending, _DYNAMODB_BATCH))
            while chunks:
                chunk = chunks.pop(0)
                try:
                    response = client("dynamodb", self.settings).batch_write_item(RequestItems={table: chunk})
                except Exception as exc:
                    if _is_validation_error(exc) and len(chunk) > 1:
                        chunks[:0] = [[request] for request in chunk]  # find the item(s) DynamoDB refuses
                        continue
                    result.errors.append(f"dynamodb table {table}: {_describe(exc)}")
                    result.failed.update(sequence_of[r["PutRequest"]["Item"]["eventID"]["S"]] for r in chunk)
                    continue
                unprocessed.extend((response.get("UnprocessedItems") or {}).get(table, []))
            return unprocessed

        left = _retry_partial(requests, send, self.settings, deadline, result)
        if left:
            result.errors.append(f"dynamodb table {table}: {len(left)} items still unprocessed after retries")
            result.failed.update(sequence_of[r["PutRequest"]["Item"]["eventID"]["S"]] for r in left)
        return result


def _kinesis_chunks(entries: list[tuple[str, dict[str, Any]]]) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """PutRecords takes at most 500 records and 5 MiB (data + partition keys) per call."""
    chunk: list[tuple[str, dict[str, Any]]] = []
    size = 0
    for entry in entries:
        entry_size = len(entry[1]["Data"]) + len(entry[1]["PartitionKey"].encode())
        if chunk and (len(chunk) == _KINESIS_BATCH or size + entry_size > _KINESIS_BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(entry)
        size += entry_size
    if chunk:
        yield chunk


def _partition_key(document: dict[str, Any]) -> str:
    key = document["partitionKey"]
    return key if 0 < len(key) <= _KINESIS_MAX_PARTITION_KEY else document["eventID"]


class KinesisSink:
    name = "kinesis"

    def __init__(self, settings: SinkSettings) -> None:
        self.settings = settings

    def write(
        self, sources: Sequence[SourceRecord], documents: list[dict[str, Any]], deadline: float, *, invalid: bool = False
    ) -> SinkResult:
        result = SinkResult()
        stream = self.settings.kinesis_stream
        marked = [{**d, "invalid": True} for d in documents] if invalid else documents
        entries = [(d["sequenceNumber"], {"Data": json_line(d), "PartitionKey": _partition_key(d)}) for d in marked]
        last_codes: dict[str, str] = {}

        def send(pending: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
            failed_entries: list[tuple[str, dict[str, Any]]] = []
            for chunk in _kinesis_chunks(pending):
                try:
                    response = client("kinesis", self.settings).put_records(
                        StreamName=stream, Records=[request for _, request in chunk]
                    )
                except Exception as exc:
                    result.errors.append(f"kinesis stream {stream}: {_describe(exc)}")
                    result.failed.update(sequence for sequence, _ in chunk)
                    continue
                if not response.get("FailedRecordCount"):
                    continue
                for entry, outcome in zip(chunk, response.get("Records", [])):
                    if outcome.get("ErrorCode"):
                        last_codes[entry[0]] = str(outcome["ErrorCode"])
                        failed_entries.append(entry)
            return failed_entries

        left = _retry_partial(entries, send, self.settings, deadline, result)
        if left:
            codes = sorted({last_codes.get(sequence, "?") for sequence, _ in left})
            result.errors.append(f"kinesis stream {stream}: {len(left)} records still failing ({', '.join(codes)})")
            result.failed.update(sequence for sequence, _ in left)
        return result


def make_sink(settings: SinkSettings, dead_letter: bool = False) -> NoSink | S3Sink | DynamoDBSink | KinesisSink:
    if settings.kind == "none":
        return NoSink()
    if settings.kind == "dynamodb":
        return DynamoDBSink(settings, dead_letter)
    return {"s3": S3Sink, "kinesis": KinesisSink}[settings.kind](settings)
