"""Dead-letter entries (INVALID_RECORDS=dead-letter): a record that can never be decoded is kept in
the sink, with its raw bytes and the reason, instead of being reported for Lambda to retry.

Only decode rejections become entries: a retry cannot change a record's bytes. Predict and sink
failures stay reported, since a retry may fix them.

`data_b64` is the base64 of the record's raw bytes, at most DEAD_LETTER_MAX_BYTES of them
(RECORD_TOO_LARGE_KEPT_BYTES for record_too_large), with `truncated` saying whether bytes were
cut: the cap keeps every entry inside DynamoDB's 400 KB item and Kinesis' 1 MiB record, so an
entry never fails for its size. For invalid_base64 there are no raw bytes to recover: data_b64
holds the base64 of the delivered `data` text itself. For missing_data it is null.

With `shardId`, `sequenceNumber`, `partitionKey` and `approximateArrivalTimestamp` (epoch seconds,
null if the event had none) an entry holds what `mlayer redrive` needs to put the record back
into a stream once the producer or the handler is fixed.
"""

from __future__ import annotations

import binascii  # base64's functions are thin wrappers of these; importing base64 is INIT time
from typing import Any

from kinesis_records import Rejected

DEAD_LETTER_MAX_BYTES = 256 * 1024
RECORD_TOO_LARGE_KEPT_BYTES = 1024


def kept_bytes(data: Any, limit: int, base64_encoded: bool = True) -> tuple[bytes | None, bool]:
    """(at most `limit` raw bytes of the record, whether more were cut), decoding only what is kept.

    `data` is the delivered kinesis.data; base64_encoded=False keeps that text's own UTF-8 bytes.
    """
    if not isinstance(data, str):
        return None, False
    if not base64_encoded:
        raw = data.encode("utf-8", "surrogatepass")
        return raw[:limit], len(raw) > limit
    chars = (limit + 2) // 3 * 4  # whole base64 quanta covering `limit` bytes
    try:
        raw = binascii.a2b_base64(data[:chars], strict_mode=True)  # base64.b64decode(..., validate=True)
    except (binascii.Error, ValueError):  # only a record rejected before its base64 was checked
        return kept_bytes(data, limit, base64_encoded=False)
    return raw[:limit], len(data) > chars or len(raw) > limit


def dead_letter_entry(record: Rejected, model_name: str, model_version: str) -> dict[str, Any]:
    source = record.source
    limit = RECORD_TOO_LARGE_KEPT_BYTES if record.reason == "record_too_large" else DEAD_LETTER_MAX_BYTES
    raw, truncated = kept_bytes(record.data, limit, base64_encoded=record.reason != "invalid_base64")
    return {
        "eventID": source.event_id,
        "sequenceNumber": source.sequence_number,
        "partitionKey": source.partition_key,
        "shardId": source.shard_id,
        "approximateArrivalTimestamp": record.arrival,
        "reason": record.reason,
        "data_b64": None if raw is None else binascii.b2a_base64(raw, newline=False).decode("ascii"),
        "truncated": truncated,
        "modelName": model_name,
        "modelVersion": model_version,
    }
