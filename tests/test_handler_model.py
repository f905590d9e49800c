"""A kind "pipeline" model that raises on some inputs and has no predict_proba, trained for real
with the deps layer: the handler isolates the failing records by bisection and keeps the rest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from handler_harness import TEST_DATA, HandlerProcess, handler_for, kinesis_event, seed_payload, target_python


@pytest.fixture(scope="module")
def guarded_model(deps_build, tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    """Pipeline(reject_poison -> TF-IDF -> LinearSVC), pickled in the layer's interpreter."""
    from mlayer.isolated import run_isolated_json

    out = tmp_path_factory.mktemp("guarded") / "Guarded" / "v1"
    code = f"import json, handler_models; print(json.dumps(handler_models.main('guarded-pipeline', {str(out)!r}, 'Guarded', 'v1')))"
    metadata = run_isolated_json(target_python(deps_build), [deps_build.python_dir, TEST_DATA], code, what="training")
    return out, metadata


@pytest.fixture(scope="module")
def guarded_handler(deps_build, guarded_model) -> Iterator[HandlerProcess]:
    # tests/data holds the module the pickled FunctionTransformer refers to, as a layer would.
    with handler_for(deps_build, guarded_model[0], extra_paths=[TEST_DATA]) as handler:
        yield handler


def test_a_pipeline_model_predicts_its_samples_without_scores(guarded_handler, guarded_model):
    metadata = guarded_model[1]
    init = json.loads(guarded_handler.init_logs[0])
    assert (init["modelKind"], init["modelName"], init["selfTestSamples"]) == ("pipeline", "Guarded", 4)
    result = guarded_handler.invoke(kinesis_event([seed_payload(t) for t in metadata["samples"]["inputs"]]))
    assert [p["label"] for p in result.response["predictions"]] == metadata["samples"]["expected"]
    assert all("score" not in p and "probabilities" not in p for p in result.response["predictions"])


def test_records_the_model_raises_on_are_isolated_and_the_rest_predicted(guarded_handler, guarded_model):
    inputs, expected = guarded_model[1]["samples"]["inputs"], guarded_model[1]["samples"]["expected"]
    texts = [inputs[i % len(inputs)] for i in range(64)]
    poisoned = {5, 6, 41}
    for index in poisoned:
        texts[index] = f"{texts[index]} POISON"
    event = kinesis_event([seed_payload(t) for t in texts])
    sequences = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]

    result = guarded_handler.invoke(event)

    assert result.failed_ids == [sequences[i] for i in sorted(poisoned)]
    assert set(result.response["failureReasons"].values()) == {"predict_failed"}
    good = [i for i in range(64) if i not in poisoned]
    assert [p["sequenceNumber"] for p in result.response["predictions"]] == [sequences[i] for i in good]
    assert [p["label"] for p in result.response["predictions"]] == [expected[i % len(expected)] for i in good]
    calls = result.batch_log["modelCalls"]
    assert 1 < calls < 64 // 2  # bisection, not one call per record


def test_a_batch_the_model_rejects_entirely_is_reported_entirely(guarded_handler):
    event = kinesis_event([seed_payload(f"POISON {i}") for i in range(5)])
    result = guarded_handler.invoke(event)
    assert result.failed_ids == [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    assert result.response["predictions"] == []
    assert result.batch_log["failureReasons"] == {"predict_failed": 5}
