"""Kinesis -> scikit-learn -> sink, as a Lambda handler (`lambda_function.lambda_handler`).

Init (module import, i.e. Lambda's INIT phase) reads the settings, verifies every model file's
sha256 against MODEL_DIR/metadata.json, loads the model once and predicts metadata.json's
samples. Any failure there raises: no prediction is ever served from an unverified model.

Each invocation decodes every record, predicts all decodable ones in ONE vectorised call
(bisecting only if that call raises), writes them to the sink and returns
`{"batchItemFailures": [{"itemIdentifier": <sequenceNumber>}, ...]}` for every record that was
not predicted AND written. Nothing is dropped silently: each record is either in the sink (or,
with SINK=none, in the response's "predictions") or in batchItemFailures.

Retries and idempotency: with ReportBatchItemFailures, Lambda checkpoints at the LOWEST
reported sequence number and re-delivers every record after it, so good records that were
already written are written again. Every sink write is idempotent or carries `eventID` for
deduplication (see sinks.py). A record that can never be decoded is reported on every retry:
bound that with the mapping's maximum_retry_attempts and an on-failure destination.
"""

from __future__ import annotations

import time

_INIT_STARTED = time.perf_counter()

import sys  # noqa: E402
from typing import Any  # noqa: E402

import telemetry  # noqa: E402
from handler_config import ConfigError, Settings, load_settings  # noqa: E402
from kinesis_records import Accepted, NotKinesisEvent, decode_batch  # noqa: E402
from model_store import LoadedModel, ModelInitError, load_model  # noqa: E402
from predictor import Outcome, predict_isolating, score_of, self_test  # noqa: E402
from sinks import make_sink  # noqa: E402

_DEADLINE_MARGIN_S = 1.0  # stop sink retries this long before the function's timeout


def _init() -> tuple[Settings, LoadedModel, Any]:
    settings = load_settings()
    model = load_model(settings.model_dir, settings.model_name, settings.model_version)
    started = time.perf_counter()
    samples = self_test(model) if settings.model_self_test else 0
    self_test_ms = (time.perf_counter() - started) * 1000
    sink = make_sink(settings.sink)
    sklearn = sys.modules.get("sklearn")
    telemetry.log(
        "INFO",
        "init",
        modelName=model.name,
        modelVersion=model.version,
        modelKind=model.kind,
        modelDir=settings.model_dir,
        verifyMs=round(model.verify_ms, 2),
        loadMs=round(model.load_ms, 2),
        selfTestSamples=samples,
        selfTestMs=round(self_test_ms, 2),
        initMs=round((time.perf_counter() - _INIT_STARTED) * 1000, 2),
        python=sys.version.split()[0],
        sklearn=getattr(sklearn, "__version__", None),
        sink=sink.name,
        recordFormat=settings.record_format.kind,
        warnings=model.warnings,
    )
    return settings, model, sink


try:
    SETTINGS, MODEL, SINK = _init()
except (ConfigError, ModelInitError) as _error:
    telemetry.log("ERROR", "init failed", errorType=type(_error).__name__, error=str(_error))
    raise

_cold = True


def _prediction(record: Accepted, outcome: Outcome) -> dict[str, Any]:
    source = record.source
    document: dict[str, Any] = {
        "eventID": source.event_id,
        "sequenceNumber": source.sequence_number,
        "partitionKey": source.partition_key,
        "shardId": source.shard_id,
        "modelName": MODEL.name,
        "modelVersion": MODEL.version,
        "label": outcome.label,
    }
    if outcome.probabilities is not None:
        document["score"] = score_of(outcome)
        document["probabilities"] = outcome.probabilities
    return document


def _deadline(context: Any) -> float:
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    remaining_s = remaining_ms() / 1000 if callable(remaining_ms) else 900.0
    return time.monotonic() + remaining_s - min(_DEADLINE_MARGIN_S, remaining_s * 0.2)


def _sequence_order(sequence: str) -> tuple[int, str]:
    return (len(sequence), sequence)  # decimal strings without leading zeros: numeric order


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    global _cold
    cold, _cold = _cold, False
    started = time.perf_counter()
    request_id = getattr(context, "aws_request_id", None)
    function_name = getattr(context, "function_name", None) or SETTINGS.function_name
    try:
        batch = decode_batch(event, SETTINGS.record_format)
    except NotKinesisEvent as exc:
        telemetry.log("ERROR", "not a Kinesis event", requestId=request_id, error=str(exc))
        raise
    decoded = time.perf_counter()

    failures: dict[str, str] = {r.source.sequence_number: r.reason for r in batch.rejected}
    outcomes, model_calls = predict_isolating(MODEL, [record.text for record in batch.accepted])
    predictions: list[dict[str, Any]] = []
    for record, outcome in zip(batch.accepted, outcomes):
        if outcome is None:
            failures[record.source.sequence_number] = "predict_failed"
        else:
            predictions.append(_prediction(record, outcome))
    predicted = time.perf_counter()

    sink_result = SINK.write(batch.sources, predictions, _deadline(context)) if predictions else None
    if sink_result is not None:
        for sequence in sink_result.failed:
            failures[sequence] = "sink_failed"
    finished = time.perf_counter()

    ordered = sorted(failures, key=_sequence_order)
    response: dict[str, Any] = {"batchItemFailures": [{"itemIdentifier": s} for s in ordered]}
    if SINK.name == "none":
        response["predictions"] = predictions
        response["failureReasons"] = {s: failures[s] for s in ordered}

    reasons: dict[str, int] = {}
    for reason in failures.values():
        reasons[reason] = reasons.get(reason, 0) + 1
    predict_ms = (predicted - decoded) * 1000
    sink_ms = (finished - predicted) * 1000
    telemetry.log(
        "WARN" if failures else "INFO",
        "batch processed",
        requestId=request_id,
        functionName=function_name,
        modelName=MODEL.name,
        modelVersion=MODEL.version,
        coldStart=cold,
        records=len(batch.sources),
        predicted=len(predictions),
        failures=len(failures),
        failureReasons=reasons,
        failedRecords=[{"sequenceNumber": s, "reason": failures[s]} for s in ordered[: telemetry.MAX_LOGGED_FAILURES]],
        modelCalls=model_calls,
        sink=SINK.name,
        sinkErrors=sink_result.errors[:5] if sink_result else [],
        sinkRetries=sink_result.retries if sink_result else 0,
        decodeMs=round((decoded - started) * 1000, 3),
        predictMs=round(predict_ms, 3),
        sinkMs=round(sink_ms, 3),
        totalMs=round((finished - started) * 1000, 3),
    )
    telemetry.emf(
        SETTINGS.metrics_namespace,
        {"FunctionName": function_name, "ModelVersion": MODEL.version},
        {
            "Records": (len(batch.sources), "Count"),
            "Failures": (len(failures), "Count"),
            "SinkFailures": (len(sink_result.failed) if sink_result else 0, "Count"),
            "PredictMs": (round(predict_ms, 3), "Milliseconds"),
            "SinkMs": (round(sink_ms, 3), "Milliseconds"),
        },
        requestId=request_id,
        ModelName=MODEL.name,
    )
    return response
