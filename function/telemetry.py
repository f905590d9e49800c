"""Structured JSON log lines and CloudWatch Embedded Metric Format (EMF) lines, on stdout.

Lambda ships stdout to CloudWatch Logs; an EMF line there becomes metrics with no SDK, no agent
and no API call from the function.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

MAX_LOGGED_FAILURES = 50  # keeps one log line bounded for a batch of 10,000 bad records


def emit(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, separators=(",", ":"), default=str) + "\n")
    sys.stdout.flush()


def log(level: str, message: str, **fields: Any) -> None:
    emit({"level": level, "message": message, **fields})


def emf(namespace: str, dimensions: dict[str, str], metrics: dict[str, tuple[float, str]], **properties: Any) -> None:
    """One EMF document: metrics is name -> (value, unit); properties become searchable log fields."""
    emit(
        {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": namespace,
                        "Dimensions": [list(dimensions)],
                        "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in metrics.items()],
                    }
                ],
            },
            **dimensions,
            **{name: value for name, (value, _) in metrics.items()},
            **properties,
        }
    )
