"""Where a warm invocation's time goes, from the handler's own "batch processed" log line.

The handler logs decodeMs / predictMs / sinkMs / totalMs (time inside lambda_handler). The
runtime's Duration also covers what happens around the handler: json.loads of the event and
json.dumps of the response (and the log writes after totalMs was taken). Parsed defensively:
a handler without that line just gives no breakdown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .stats import median

FIELDS = {"decodeMs": "decode", "predictMs": "predict", "sinkMs": "sink", "totalMs": "in_handler"}


def handler_fields(logs: Iterable[str]) -> dict[str, float] | None:
    for line in logs:
        if '"batch processed"' not in line:
            continue
        try:
            document = json.loads(line[line.index("{"):])
        except ValueError:
            continue
        if document.get("message") == "batch processed":
            return {name: float(document[key]) for key, name in FIELDS.items() if isinstance(document.get(key), (int, float))}
    return None


def summarize_breakdown(samples: list[tuple[float, dict[str, float] | None]]) -> dict[str, Any] | None:
    """Median of each part over (duration_ms, fields) samples; 'around_handler' = duration - in_handler."""
    usable = [(d, f) for d, f in samples if f and "in_handler" in f]
    if not usable:
        return None
    out = {name: median([f[name] for _, f in usable if name in f]) for name in FIELDS.values()}
    out["around_handler"] = median([d - f["in_handler"] for d, f in usable])
    out["duration"] = median([d for d, _ in usable])
    return out
