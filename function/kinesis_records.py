"""Turn a Lambda Kinesis event into texts to predict, and per-record rejections.

A record that cannot yield a text is rejected with a short reason code; it never stops the
other records, whatever it holds (deep nesting, bad encodings, huge numbers: any exception while
decoding one record is that record's rejection). An event that is not a Kinesis event at all,
or a record without a usable sequence number (it could not even be reported), raises.

Every record's identity is its shard and sequence number: `event_id` is always
`<shardId>:<sequenceNumber>` (what Kinesis itself sends as eventID), whatever the producer put in
eventID, so sinks keyed on it never collide. A second record with the same shard and sequence
number in one event is rejected as duplicate_record (always reported, never dead-lettered: its
entry would overwrite the first record's prediction).
"""

from __future__ import annotations

import binascii
import json
import math
import re
from typing import Any

from handler_config import RecordFormat

# The KPL's aggregation magic: such a record holds many user records in protobuf.
_KPL_MAGIC = b"\xf3\x89\x9a\xc2"
_SEQUENCE_RE = re.compile(r"0|[1-9][0-9]{0,128}")  # Kinesis' own pattern for a sequence number
_SHARD_RE = re.compile(r"[A-Za-z0-9_.-]{1,128}")  # Kinesis' own pattern for a shard id
_SCAN_JSON = json.scanner.make_scanner(json.decoder.JSONDecoder())  # json.loads' own (C) scanner, without its wrapper
_scan_json_string = json.decoder.scanstring  # json.loads' own (C) string scanner
UNKNOWN_SHARD = "unknown-shard"
DUPLICATE_RECORD = "duplicate_record"


class NotKinesisEvent(ValueError):
    """The event is not a Lambda Kinesis event (wrong trigger or a hand-made payload)."""


# Plain slotted classes, not @dataclass: a @dataclass costs ~0.6 ms of INIT (see handler_config).
# SourceRecord and Accepted are made once per record on the warm path: keep their __init__ bare.
class SourceRecord:
    __slots__ = ("event_id", "sequence_number", "partition_key", "shard_id")

    def __init__(self, event_id: str, sequence_number: str, partition_key: str, shard_id: str) -> None:
        self.event_id = event_id
        self.sequence_number = sequence_number
        self.partition_key = partition_key
        self.shard_id = shard_id


class Accepted:
    __slots__ = ("source", "text")

    def __init__(self, source: SourceRecord, text: str) -> None:
        self.source = source
        self.text = text


class Rejected:
    __slots__ = ("source", "reason", "data", "arrival")

    def __init__(self, source: SourceRecord, reason: str, data: Any, arrival: float | None = None) -> None:
        self.source = source
        self.reason = reason
        self.data = data  # the record's kinesis.data as delivered (base64 text, or whatever stood there)
        self.arrival = arrival  # kinesis.approximateArrivalTimestamp (epoch seconds), if usable


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
    sequence_ok = _SEQUENCE_RE.fullmatch
    shards: dict[str, str] = {}  # eventID prefix -> validated shard id: a batch comes from one shard
    for index, record in enumerate(event["Records"]):
        if not isinstance(record, dict) or record.get("eventSource") != "aws:kinesis":
            source = record.get("eventSource") if isinstance(record, dict) else type(record).__name__
            raise NotKinesisEvent(
                f"Records[{index}] has eventSource {source!r}, expected 'aws:kinesis': "
                "this function only accepts Kinesis events"
            )
        kinesis = record.get("kinesis")
        sequence = kinesis.get("sequenceNumber") if isinstance(kinesis, dict) else None
        if not isinstance(sequence, str) or not sequence_ok(sequence):
            # Without a sequence number the record cannot be reported: fail the whole batch.
            raise NotKinesisEvent(f"Records[{index}] has no valid kinesis.sequenceNumber (a decimal string)")
        raw_event_id = record.get("eventID")
        prefix = raw_event_id.partition(":")[0] if isinstance(raw_event_id, str) and ":" in raw_event_id else ""
        shard_id = shards.get(prefix)
        if shard_id is None:
            shard_id = shards[prefix] = prefix if _SHARD_RE.fullmatch(prefix) else UNKNOWN_SHARD
        partition_key = kinesis.get("partitionKey")
        partition_key = safe_text(partition_key if isinstance(partition_key, str) else "")
        out.append((SourceRecord(f"{shard_id}:{sequence}", sequence, partition_key, shard_id), kinesis))
    return out


def safe_text(value: str) -> str:
    """`value` if it can be written as UTF-8; else with its lone surrogates escaped (\\udXXX), so
    a hostile partition key never breaks a sink write."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _arrival(kinesis: dict) -> float | None:
    value = kinesis.get("approximateArrivalTimestamp")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _decode_text(kinesis: dict, fmt: RecordFormat) -> str:
    data = kinesis.get("data")
    if not isinstance(data, str):
        raise _Reject("missing_data")
    if fmt.max_record_bytes and len(data) > (fmt.max_record_bytes + 2) // 3 * 4:
        raise _Reject("record_too_large")  # rejected before decoding: base64 is 4/3 of the payload
    try:  # base64.b64decode(data, validate=True) is this call behind a Python wrapper
        raw = binascii.a2b_base64(data, strict_mode=True)
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


def _json_object(decoded: str) -> Any:
    """json.loads(decoded), with its C scanner called directly for the common case (an object
    filling the whole text); anything else (whitespace around, BOM, errors) goes through json.loads."""
    if decoded[:1] == "{":
        try:
            document, end = _SCAN_JSON(decoded, 0)
        except (StopIteration, ValueError):
            document, end = None, -1
        if end == len(decoded):
            return document
    return json.loads(decoded)


def _json_string(value: str) -> Any:
    """json.loads(value), the common case (a quoted string and nothing else) by json's own string scanner."""
    if value[:1] == '"':
        try:
            text, end = _scan_json_string(value, 1)
        except ValueError:
            end = -1
        if end == len(value):
            return text
    return json.loads(value)


def _text_from_json(decoded: str, fmt: RecordFormat) -> str:
    try:
        document = _json_object(decoded)
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
        inner = _json_string(value)
    except ValueError:
        raise _Reject("field_not_json_encoded") from None
    if not isinstance(inner, str):
        raise _Reject("field_not_json_string")
    return inner


class Batch:
    __slots__ = ("sources", "accepted", "rejected")

    def __init__(self, sources: list[SourceRecord], accepted: list[Accepted], rejected: list[Rejected]) -> None:
        self.sources = sources  # every record, in event order
        self.accepted = accepted
        self.rejected = rejected


def decode_batch(event: Any, fmt: RecordFormat) -> Batch:
    """Every record of the event ends up in exactly one of accepted / rejected, in event order."""
    sources: list[SourceRecord] = []
    accepted: list[Accepted] = []
    rejected: list[Rejected] = []
    seen: set[str] = set()
    for source, kinesis in source_records(event):
        sources.append(source)
        try:
            if source.event_id in seen:
                raise _Reject(DUPLICATE_RECORD)
            seen.add(source.event_id)
            accepted.append(Accepted(source, _decode_text(kinesis, fmt)))
        except _Reject as reject:
            rejected.append(Rejected(source, reject.reason, kinesis.get("data"), _arrival(kinesis)))
        except RecursionError:  # json nested deeper than the interpreter's recursion limit
            rejected.append(Rejected(source, "too_deeply_nested", kinesis.get("data"), _arrival(kinesis)))
        except Exception:  # anything else one record can provoke is that record's failure
            rejected.append(Rejected(source, "decode_error", kinesis.get("data"), _arrival(kinesis)))
    return Batch(sources, accepted, rejected)
