"""`redrive`: put dead-lettered records back into a Kinesis stream, once the producer or the
handler is fixed.

The handler's INVALID_RECORDS=dead-letter keeps each undecodable record as an entry
(function/dead_letters.py): its raw bytes as `data_b64`, the reason, shard, sequence number,
partition key and arrival time. This reads the entries where the sink put them:
  s3:       every JSON line under `<prefix>/_invalid/`
  dynamodb: every item with `status = "invalid"`
  dir:      every JSON line of the *.jsonl files in a directory (e.g. a downloaded _invalid/)
and puts each entry's bytes, under its partition key, into the target stream. An entry whose
bytes were cut (`truncated`, e.g. record_too_large) or that has none (missing_data) cannot be
re-driven: it is counted as skipped, never sent partially. The entries stay where they are unless
--delete is given, which removes them only once everything they hold was accepted by Kinesis
(so a re-run never sends a record twice after a delete, and never loses one before it).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import MlayerError
from .inputs import parse_json_text, read_input_text

INVALID_FOLDER = "_invalid"  # the handler's s3 sink: <prefix>/_invalid/<shard>/<first>-<last>.jsonl
PUT_RECORDS_MAX = 500
MAX_PARTITION_KEY = 256
PUT_ATTEMPTS = 5


@dataclass(frozen=True)
class Entry:
    """One dead-letter entry and where it is stored (to delete it after a re-drive)."""

    document: dict[str, Any]
    location: str  # s3 key, dynamodb eventID, or file path


@dataclass
class RedriveSummary:
    found: int = 0
    redriven: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # why -> count
    failed: int = 0
    deleted: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # the entries' dead-letter reasons

    def to_dict(self) -> dict[str, Any]:
        return {"found": self.found, "redriven": self.redriven, "skipped": self.skipped, "failed": self.failed,
                "deleted": self.deleted, "reasons": self.reasons}  # fmt: skip


def _client(service: str) -> Any:
    try:
        import boto3
    except ImportError:
        raise MlayerError("redrive needs boto3: run `make venv`") from None
    return boto3.client(service)


def _lines(body: str, where: str) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(body.splitlines(), 1):
        if line.strip():
            document = parse_json_text(line, f"{where}:{number}", "it is not a dead-letter entry written by the handler")
            if isinstance(document, dict):
                yield document


def s3_entries(bucket: str, prefix: str) -> Iterator[Entry]:
    s3 = _client("s3")
    root = f"{prefix.strip('/')}/{INVALID_FOLDER}/" if prefix.strip("/") else f"{INVALID_FOLDER}/"
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode("utf-8", "replace")
                for document in _lines(body, f"s3://{bucket}/{item['Key']}"):
                    yield Entry(document, item["Key"])
    except MlayerError:
        raise
    except Exception as exc:
        raise MlayerError(f"cannot read s3://{bucket}/{root} ({type(exc).__name__}: {exc}): check the bucket, AWS_ENDPOINT_URL and credentials") from None


def _plain(value: dict[str, Any]) -> Any:
    """A DynamoDB attribute value as plain Python (the handler writes S, N, BOOL, NULL, M, L)."""
    kind, inner = next(iter(value.items()))
    if kind == "M":
        return {k: _plain(v) for k, v in inner.items()}
    if kind == "L":
        return [_plain(v) for v in inner]
    if kind == "N":
        return float(inner) if any(c in inner for c in ".eE") else int(inner)
    if kind == "NULL":
        return None
    return inner


def dynamodb_entries(table: str) -> Iterator[Entry]:
    dynamodb = _client("dynamodb")
    try:
        pages = dynamodb.get_paginator("scan").paginate(
            TableName=table, FilterExpression="#status = :invalid",
            ExpressionAttributeNames={"#status": "status"}, ExpressionAttributeValues={":invalid": {"S": "invalid"}},
        )  # fmt: skip
        for page in pages:
            for item in page.get("Items", []):
                document = {key: _plain(value) for key, value in item.items()}
                yield Entry(document, str(document.get("eventID")))
    except Exception as exc:
        raise MlayerError(f"cannot scan DynamoDB table {table} ({type(exc).__name__}: {exc}): check the table, AWS_ENDPOINT_URL and credentials") from None


def dir_entries(directory: Path) -> Iterator[Entry]:
    for path in sorted(Path(directory).rglob("*.jsonl")):
        text = read_input_text(path, "dead-letter file", "pass --from-dir holding the handler's _invalid/*.jsonl files")
        for document in _lines(text, str(path)):
            yield Entry(document, str(path))


def _record(document: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """(the PutRecords entry, "") or (None, why it cannot be re-driven)."""
    if document.get("truncated"):
        return None, "truncated"
    data = document.get("data_b64")
    if not isinstance(data, str):
        return None, "no_data"
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None, "bad_data_b64"
    if not raw:
        return None, "no_data"
    key = document.get("partitionKey")
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_PARTITION_KEY:
        key = str(document.get("eventID") or document.get("sequenceNumber") or "redrive")[:MAX_PARTITION_KEY]
    return {"Data": raw, "PartitionKey": key}, ""


def _put(kinesis: Any, stream: str, records: list[dict[str, Any]]) -> int:
    """Put records (retrying partial failures with backoff); return how many were never accepted."""
    pending = records
    for attempt in range(PUT_ATTEMPTS):
        if attempt:
            time.sleep(min(2.0, 0.1 * 2**attempt))
        try:
            response = kinesis.put_records(StreamName=stream, Records=pending)
        except Exception as exc:
            raise MlayerError(f"cannot put records into stream {stream} ({type(exc).__name__}: {exc}): check --stream, AWS_ENDPOINT_URL and credentials") from None
        if not response.get("FailedRecordCount"):
            return 0
        pending = [record for record, result in zip(pending, response["Records"]) if result.get("ErrorCode")]
    return len(pending)


def redrive(entries: Iterator[Entry], stream: str, *, limit: int | None = None, dry_run: bool = False,
            delete: Any = None) -> RedriveSummary:  # fmt: skip
    """Send entries' bytes into `stream`; `delete(locations)` is called for the locations whose every entry went in."""
    summary = RedriveSummary()
    kinesis = None if dry_run else _client("kinesis")
    batch: list[tuple[Entry, dict[str, Any]]] = []
    complete: dict[str, bool] = {}  # location -> every entry there was re-driven

    def flush() -> None:
        if not batch:
            return
        failed = _put(kinesis, stream, [record for _, record in batch]) if kinesis is not None else 0
        summary.failed += failed
        summary.redriven += len(batch) - failed
        if failed:  # which ones is not known per location after retries: keep them all
            for entry, _ in batch:
                complete[entry.location] = False
        batch.clear()

    for entry in entries:
        if limit is not None and summary.found >= limit:
            break
        summary.found += 1
        reason = str(entry.document.get("reason"))
        summary.reasons[reason] = summary.reasons.get(reason, 0) + 1
        record, why = _record(entry.document)
        complete.setdefault(entry.location, True)
        if record is None:
            summary.skipped[why] = summary.skipped.get(why, 0) + 1
            complete[entry.location] = False
            continue
        batch.append((entry, record))
        if len(batch) == PUT_RECORDS_MAX:
            flush()
    flush()
    if delete is not None and not dry_run:
        done = sorted(location for location, ok in complete.items() if ok)
        delete(done)
        summary.deleted = len(done)
    return summary


def delete_s3(bucket: str) -> Any:
    def delete(keys: list[str]) -> None:
        s3 = _client("s3")
        for start in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys[start : start + 1000]]})

    return delete


def delete_dynamodb(table: str) -> Any:
    def delete(event_ids: list[str]) -> None:
        dynamodb = _client("dynamodb")
        for event_id in event_ids:
            dynamodb.delete_item(TableName=table, Key={"eventID": {"S": event_id}})

    return delete


def summary_line(summary: RedriveSummary, stream: str, dry_run: bool) -> str:
    verb = "would re-drive" if dry_run else "re-drove"
    skipped = ", ".join(f"{count} {why}" for why, count in sorted(summary.skipped.items())) or "none"
    return f"mlayer redrive: {summary.found} dead-letter entries, {verb} {summary.redriven} into {stream}, skipped {skipped}, failed {summary.failed}"


def as_json(summary: RedriveSummary) -> str:
    return json.dumps(summary.to_dict(), indent=2)
