"""Sample inputs with the outputs the model must give for them (checked at every model build).

Accepted files:
* JSON:  {"inputs": [x0, x1, ...], "expected": [y0, y1, ...]}
* JSONL: one object per line, {"input": x, "expected": y} (blank lines ignored)
An input is whatever the first step takes per row: a text for a text model, a list of numbers
for a tabular one. Expected outputs are what `predict()` returns (labels or numbers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import MlayerError
from ..inputs import parse_json_text, read_input_text

MAX_SAMPLES = 1000  # they live in metadata.json and run at every build


def validate_samples(samples: Any) -> dict[str, list[Any]] | None:
    """None, or {"inputs": [...], "expected": [...]} of equal, non-zero length."""
    if samples is None:
        return None
    if not isinstance(samples, dict) or set(samples) != {"inputs", "expected"}:
        raise MlayerError('samples must be an object with exactly "inputs" and "expected"')
    inputs, expected = samples["inputs"], samples["expected"]
    if not isinstance(inputs, list) or not isinstance(expected, list):
        raise MlayerError('samples "inputs" and "expected" must be lists')
    if not inputs:
        raise MlayerError("samples are empty: give at least one input with its expected output")
    if len(inputs) != len(expected):
        raise MlayerError(f"samples have {len(inputs)} inputs but {len(expected)} expected outputs: give one expected output per input")
    if len(inputs) > MAX_SAMPLES:
        raise MlayerError(f"{len(inputs)} samples, the limit is {MAX_SAMPLES}: keep a representative subset")
    return {"inputs": inputs, "expected": expected}


def _parse_jsonl(text: str, path: Path) -> dict[str, list[Any]]:
    inputs: list[Any] = []
    expected: list[Any] = []
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        row = parse_json_text(line, f"{path}:{line_no}", 'each line must be {"input": ..., "expected": ...}')
        if not isinstance(row, dict) or set(row) != {"input", "expected"}:
            raise MlayerError(f'{path}:{line_no}: each line must be an object with exactly "input" and "expected"')
        inputs.append(row["input"])
        expected.append(row["expected"])
    return {"inputs": inputs, "expected": expected}


def load_samples(path: Path) -> dict[str, list[Any]]:
    """Read a samples file (JSON or JSONL); MlayerError naming the file and the fix."""
    path = Path(path)
    text = read_input_text(path, "samples file", "pass a JSON or JSONL file to --samples")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = _parse_jsonl(text, path)
    except (RecursionError, ValueError):
        raise MlayerError(f"samples file {path} is JSON nested too deeply or otherwise unreadable: pass a JSON or JSONL file to --samples") from None
    else:
        if isinstance(data, dict) and set(data) == {"input", "expected"}:  # a one-line JSONL file
            data = {"inputs": [data["input"]], "expected": [data["expected"]]}
    try:
        samples = validate_samples(data)
    except MlayerError as exc:
        raise MlayerError(f"samples file {path}: {exc}") from None
    assert samples is not None
    return samples
