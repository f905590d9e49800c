"""Replay input: records as a producer would put them on the stream (data bytes + partition key).

`--records FILE.jsonl` holds one record per line, a JSON object with either
    {"data_b64": "<base64 of the record's bytes>"}   (any bytes, e.g. what `mlayer demo` writes)
or  {"data": "<text>"} / {"data": {...}}              (UTF-8 text, or a JSON document sent compact)
and optionally "partitionKey" (otherwise the record's 0-based index, as a string).
Blank lines are not records. Kinesis' own limits are enforced, as PutRecord would.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import MlayerError
from ..inputs import check_input_file, parse_json_text

MAX_DATA_BYTES = 1024 * 1024  # Kinesis: a record's data blob, before base64
MAX_PARTITION_KEY_CHARS = 256


@dataclass(frozen=True)
class InputRecord:
    data: bytes
    partition_key: str | None = None


def _check(record: InputRecord, where: str) -> InputRecord:
    if len(record.data) > MAX_DATA_BYTES:
        raise MlayerError(f"{where} is {len(record.data):,} bytes, over Kinesis' 1 MiB record limit: PutRecord would reject it; split or shrink it")
    key = record.partition_key
    if key is not None and not (1 <= len(key) <= MAX_PARTITION_KEY_CHARS):
        raise MlayerError(f"{where} has a partition key of {len(key)} characters: Kinesis needs 1 to {MAX_PARTITION_KEY_CHARS}")
    return record


def normalize(records: Iterable[bytes | str | tuple[str, bytes] | InputRecord]) -> list[InputRecord]:
    """bytes, str (UTF-8), (partition_key, bytes) or InputRecord -> InputRecord, checked."""
    return list(iter_normalized(records))


def iter_normalized(records: Iterable[bytes | str | tuple[str, bytes] | InputRecord]) -> Iterator[InputRecord]:
    """normalize(), one record at a time."""
    for index, item in enumerate(records):
        if isinstance(item, InputRecord):
            record = item
        elif isinstance(item, bytes):
            record = InputRecord(item)
        elif isinstance(item, str):
            record = InputRecord(item.encode("utf-8"))
        elif isinstance(item, tuple) and len(item) == 2:
            record = InputRecord(bytes(item[1]), str(item[0]))
        else:
            raise MlayerError(f"record {index} is a {type(item).__name__}: pass bytes, str, (partition_key, bytes) or InputRecord")
        yield _check(record, f"record {index}")


def _parse_line(line: str, where: str) -> InputRecord:
    fix = 'each line must be a JSON object {"data_b64": "<base64>"} or {"data": "<text>"}, optionally with "partitionKey"'
    document = parse_json_text(line, where, fix)
    if not isinstance(document, dict) or ("data_b64" in document) == ("data" in document):
        raise MlayerError(f"{where} has neither or both of data_b64 and data: {fix}")
    if "data_b64" in document:
        try:
            data = base64.b64decode(document["data_b64"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise MlayerError(f"{where} has data_b64 that is not valid base64: {fix}") from None
    elif isinstance(document["data"], str):
        data = document["data"].encode("utf-8")
    else:
        data = json.dumps(document["data"], separators=(",", ":")).encode("utf-8")
    key = document.get("partitionKey", document.get("partition_key"))
    if key is not None and not isinstance(key, str):
        raise MlayerError(f"{where} has a partitionKey that is not a string: {fix}")
    return InputRecord(data, key)


def read_records_jsonl(path: Path) -> list[InputRecord]:
    """Every record of the file, checked (in memory: replay() takes iter_records_jsonl's stream)."""
    return list(iter_records_jsonl(path))


def iter_records_jsonl(path: Path) -> Iterator[InputRecord]:
    """The file's records one line at a time, each checked; a bad line is one MlayerError naming it."""
    path = Path(path)
    fix = 'pass --records FILE.jsonl, one JSON object per line (write binary records as {"data_b64": ...} lines)'
    check_input_file(path, "records file", fix)
    found = False
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise MlayerError(f"{path}:{number} is not UTF-8 text: {fix}") from None
            if line.strip():
                found = True
                yield _check(_parse_line(line, f"{path}:{number}"), f"{path}:{number}")
    if not found:
        raise MlayerError(f"records file {path} has no records: write one JSON object per line")
