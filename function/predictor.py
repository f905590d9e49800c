"""Vectorised prediction with failure isolation, and JSON-safe prediction documents.

The whole batch goes through the model in one call. If that call raises (a record the model
cannot handle), the batch is bisected: halves that predict are kept, failing halves are split
again, so k bad records among n cost O(k log n) calls instead of n single-record calls.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from model_store import LoadedModel, ModelInitError


class Outcome:
    """One record's prediction; made once per record on the warm path (a plain class: see handler_config)."""

    __slots__ = ("label", "probabilities", "score")

    def __init__(self, label: Any, probabilities: dict[str, float | None] | None, score: float | None = None) -> None:
        self.label = label
        self.probabilities = probabilities  # class -> probability, when the estimator has predict_proba
        self.score = score  # the predicted label's probability (probabilities[str(label)])


def json_safe(value: Any) -> Any:
    """numpy scalars/arrays -> Python; non-finite floats -> None (JSON has no NaN)."""
    if type(value) not in (str, int, float, bool) and hasattr(value, "tolist"):
        value = value.tolist()  # numpy scalar (np.str_ included) or array
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def _predict_chunk(model: LoadedModel, texts: Sequence[str]) -> list[Outcome]:
    features: Any = list(texts)
    for transform in model.transforms:
        features = transform.transform(features)
    both = getattr(model.estimator, "predict_with_proba", None)  # lean: one decision for labels and probabilities
    labels, proba = both(features) if both is not None else (model.estimator.predict(features), None)
    if len(labels) != len(texts):
        raise ValueError(f"predict returned {len(labels)} labels for {len(texts)} inputs")
    # One .tolist() per array turns numpy values into Python ones in C; converting value by
    # value was a tenth of a batch-100 invocation. A str label is already JSON-safe.
    labels = [label if type(label) is str else json_safe(label) for label in _as_list(labels)]
    if not model.has_proba:
        return [Outcome(label, None) for label in labels]
    rows = _as_list(proba if proba is not None else model.estimator.predict_proba(features))
    names = [str(json_safe(c)) for c in model.classes or []]
    finite = math.isfinite
    outcomes: list[Outcome] = []
    append = outcomes.append  # bound once: this loop runs per record
    for label, row in zip(labels, rows):
        # A finite sum means every cell is finite (any inf or nan makes the sum non-finite): the
        # per-cell check is then needed only for a row that has one.
        cells = dict(zip(names, row)) if finite(sum(row)) else {n: p if finite(p) else None for n, p in zip(names, row)}
        key = label if type(label) is str else str(label)
        append(Outcome(label, cells, cells[key] if key in cells else None))
    return outcomes


def _as_list(values: Any) -> list[Any]:
    return values.tolist() if hasattr(values, "tolist") else list(values)


def predict_isolating(model: LoadedModel, texts: Sequence[str]) -> tuple[list[Outcome | None], int]:
    """Outcomes aligned with texts (None where the model raised for that text), and the number of model calls."""
    results: list[Outcome | None] = [None] * len(texts)
    calls = 0
    pending: list[tuple[int, int]] = [(0, len(texts))] if texts else []
    while pending:
        lo, hi = pending.pop()
        calls += 1
        try:
            outcomes = _predict_chunk(model, texts[lo:hi])
        except Exception:
            if hi - lo > 1:
                mid = (lo + hi) // 2
                pending += [(mid, hi), (lo, mid)]
            continue
        results[lo:hi] = outcomes
    return results, calls


def same_output(expected: Any, got: Any) -> bool:
    """Equal labels; numbers within float noise (the same rule `mlayer build` checks samples with)."""
    expected, got = json_safe(expected), json_safe(got)
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected == got
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        return math.isclose(expected, got, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(expected, list) and isinstance(got, list):
        return len(expected) == len(got) and all(same_output(a, b) for a, b in zip(expected, got))
    return expected == got


def self_test(model: LoadedModel) -> int:
    """Predict metadata.json's samples at init: proves this deps layer reproduces the model's outputs
    and warms lazily imported code paths. Returns the number of samples checked."""
    samples = model.metadata.get("samples")
    if not isinstance(samples, dict) or not samples.get("inputs"):
        return 0
    inputs, expected = list(samples["inputs"]), samples.get("expected")
    outcomes, _ = predict_isolating(model, inputs)
    if expected is None:
        if any(o is None for o in outcomes):
            raise ModelInitError("the model raised on metadata.json's sample inputs")
        return len(inputs)
    if not isinstance(expected, list) or len(expected) != len(inputs):
        raise ModelInitError("metadata.json samples: expected must be a list as long as inputs")
    for index, (text, want, got) in enumerate(zip(inputs, expected, outcomes)):
        if got is None or not same_output(want, got.label):
            raise ModelInitError(
                f"self-test failed on metadata.json samples.inputs[{index}] ({text[:60]!r}): expected label "
                f"{want!r}, got {None if got is None else got.label!r}; the deps layer does not reproduce this model "
                "(check pickled_with against the layer's versions) — set MODEL_SELF_TEST=false only to debug"
            )
    return len(inputs)
