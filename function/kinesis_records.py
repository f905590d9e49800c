"""Turn a Lambda Kinesis event into texts to predict, and per-record rejections.

A record that cannot yield a text is rejected with a short reason code; it never stops the
other records. An event that is not a Kinesis event at all is a misconfiguration and raises.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from handler_config import RecordFormat

# The KPL's aggregation magic: such a record holds many user records in protobuf.
_KPL_MAGIC = b"\xf3\x89\x9a\xc2"


class NotKinesisEvent(ValueError):
    """The event is not a Lambda Kinesis event (wrong trigger or a hand-made payload)."""


@dataclass(frozen=True, slots=True)
class SourceRecord:
    event_id: str
    sequence_number: str
    partition_key: str
    shard_id: str


@dataclass(frozen=True, slots=True)
class Accepted:
    source: SourceRecord
    text: str


@dataclass(frozen=True, slots=True)
class Rejected:
    source: SourceRecord
    reason: str
    data: Any  # the record's kinesis.data as delivered (base64 text, or whatever stood there)


class _Reject(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def source_records(event: Any) -> list[tuple[SourceRecord, Any]]:
    """Validate the event's shape; return each record's identity with its raw kinesis payload."""
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
        raise NotKinesisEvent(
            "event has no Records list: this function must be triggered by a Kinesis event source mapping"
        )
    out: list[tuple[SourceRecord, Any]] = []
    for index, record in enumerate(event["Records"]):
        if not isinstance(record, dict) or record.get("eventSource") != "aws:kinesis":
            source = record.get("eventSource") if isinstance(record, dict) else type(record).__name__
            raise NotKinesisEvent(
                f"Records[{index}] has eventSource {source!r}, expected 'aws:kinesis': "
                "this function only accepts Kinesis events"
            )
        kinesis = record.get("kinesis")
        sequence = kinesis.get("sequenceNumber") if isinstance(kinesis, dict) else None
        if not isinstance(sequence, str) or not sequence:
            # Without a sequence number the record cannot be reported: fail the whole batch.
            raise NotKinesisEvent(f"Records[{index}] has no kinesis.sequenceNumber")
        event_id = str(record.get("eventID") or "")
        shard_id = event_id.split(":", 1)[0] if ":" in event_id else "unknown-shard"
        out.append((SourceRecord(event_id, sequence, str(kinesis.get("partitionKey") or ""), shard_id), kinesis))
    return out


def _decode_text(kinesis: dict, fmt: RecordFormat) -> str:
    data = kinesis.get("data")
    if not isinstance(data, str):
        raise _Reject("missing_data")
    if fmt.max_record_bytes and len(data) > (fmt.max_record_bytes + 2) // 3 * 4:
        raise _Reject("record_too_large")  # rejected before decoding: base64 is 4/3 of the payload
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _Reject("invalid_base64") from None
    if fmt.max_record_bytes and len(raw) > fmt.max_record_bytes:
        raise _Reject("record_too_large")
    if not raw:
        raise _Reject("empty_record")
    if raw.startswith(_KPL_MAGIC):
        raise _Reject("kpl_aggregated_record")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Reject("not_utf8") from None
    if fmt.kind == "text":
        text = decoded
    else:
        text = _text_from_json(decoded, fmt)
    if not text.strip():
        raise _Reject("empty_text")
    return text


def _text_from_json(decoded: str, fmt: RecordFormat) -> str:
    try:
        document = json.loads(decoded)
    except ValueError:
        raise _Reject("not_json") from None
    if not isinstance(document, dict):
        raise _Reject("not_json_object")
    if fmt.text_field not in document:
        raise _Reject("missing_field")
    value = document[fmt.text_field]
    if not isinstance(value, str):
        raise _Reject("field_not_string")
    if not fmt.field_json_encoded:
        return value
    try:
        inner = json.loads(value)
    except ValueError:
        raise _Reject("field_not_json_encoded") from None
    if not isinstance(inner, str):
        raise _Reject("field_not_json_string")
    return inner


@dataclass(frozen=True, slots=True)
class Batch:
    sources: list[SourceRecord]  # every record, in event order
    accepted: list[Accepted]
    rejected: list[Rejected]


def decode_batch(event: Any, fmt: RecordFormat) -> Batch:
    """Every record of the event ends up in exactly one of accepted / rejected, in event order."""
    sources: list[SourceRecord] = []
    accepted: list[Accepted] = []
    rejected: list[Rejected] = []
    for source, kinesis in source_records(event):
        sources.append(source)
        try:
            accepted.append(Accepted(source, _decode_text(kinesis, fmt)))
        except _Reject as reject:
            rejected.append(Rejected(source, reject.reason, kinesis.get("data")))
    return Batch(sources, accepted, rejected)
