"""A seed-like Kinesis ingest: JSON records whose `textblob` field holds a JSON-encoded text.

About 1% are malformed in the ways real producers get it wrong, so the demo exercises partial
batch failures: every malformed record must come back reported (or, with INVALID_RECORDS=dead-letter,
kept in the sink as a dead-letter entry), never silently dropped.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from pathlib import Path

from ..fsutil import atomic_path
from ..model.corpus import CLASSES, make_corpus

def seed_record(text: str, record_id: int) -> bytes:
    """The seed's shape: json.loads(json.loads(data)["textblob"]) is the text."""
    return json.dumps({"id": record_id, "textblob": json.dumps(text)}).encode()


_MALFORMED: dict[str, Callable[[int], bytes]] = {
    "not_json": lambda i: b"this is not json %d" % i,
    "not_utf8": lambda i: b"\xff\xfe\x00" + str(i).encode(),
    "missing_field": lambda i: json.dumps({"id": i, "text": "no textblob here"}).encode(),
    "field_not_string": lambda i: json.dumps({"id": i, "textblob": 42}).encode(),
    "not_json_encoded": lambda i: json.dumps({"id": i, "textblob": "plain text, not JSON-encoded"}).encode(),
    "empty_text": lambda i: json.dumps({"id": i, "textblob": json.dumps("   ")}).encode(),
}
MALFORMED_KINDS = tuple(_MALFORMED)


def ingest_records(count: int = 50_000, malformed_fraction: float = 0.01, seed: int = 20250801) -> tuple[list[bytes], list[int]]:
    """(records, indexes of the malformed ones); deterministic for a given seed.

    Texts come from the demo model's ticket corpus with a seed other than the training one, so
    the ingest is new text in the same domain.
    """
    rng = random.Random(seed)
    malformed = set(rng.sample(range(count), round(count * malformed_fraction)))
    per_class = -(-count // len(CLASSES))
    texts = [ticket.text for ticket in make_corpus(per_class=per_class, seed=seed, label_noise=0.0)]
    records = []
    for i in range(count):
        if i in malformed:
            records.append(_MALFORMED[MALFORMED_KINDS[i % len(MALFORMED_KINDS)]](i))
        else:
            records.append(seed_record(texts[i], i))
    return records, sorted(malformed)


def write_records_jsonl(records: list[bytes], path: Path) -> Path:
    """One record per line as {"data_b64": ...}, the format `mlayer replay --records` reads."""
    with atomic_path(path) as tmp:
        with open(tmp, "w") as out:
            for record in records:
                out.write(json.dumps({"data_b64": base64.b64encode(record).decode()}) + "\n")
    return path
