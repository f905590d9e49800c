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

INVALID_RECORDS=dead-letter (the default where a sink is configured) instead writes each such record to the sink as a
dead-letter entry (dead_letters.py) and does not report it, so Lambda does not retry the batch
for it; only if that write fails is the record reported (sink_failed). Predict and sink
failures are always reported: a retry may fix them.
"""

from __future__ import annotations

import time

_INIT_STARTED = time.perf_counter()

import os  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

_VCPU_MB = 1769  # Lambda gives one vCPU per 1,769 MB of memory


def _blas_threads(environ: dict[str, str]) -> str:
    """As many BLAS threads as the function has vCPUs: extra threads only burn the CPU quota.

    Measured with the demo model at 1,769 MB: INIT 1,208 ms with OpenBLAS's default threads,
    1,018 ms with one. Must be set before numpy is first imported; an explicit setting wins.
    """
    memory = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    return str(max(1, int(memory) // _VCPU_MB)) if memory.isdigit() else "1"


os.environ.setdefault("OPENBLAS_NUM_THREADS", _blas_threads(dict(os.environ)))

import telemetry  # noqa: E402
from handler_config import ConfigError, Settings, load_settings  # noqa: E402
from dead_letters import dead_letter_entry  # noqa: E402
from kinesis_records import DUPLICATE_RECORD, Accepted, Batch, NotKinesisEvent, decode_batch  # noqa: E402
from model_store import LoadedModel, ModelInitError, load_model  # noqa: E402
from predictor import Outcome, predict_isolating, self_test  # noqa: E402
from sinks import SinkResult, make_sink  # noqa: E402

_DEADLINE_MARGIN_S = 1.0  # stop sink retries this long before the function's timeout


def _init() -> tuple[Settings, LoadedModel, Any]:
    settings = load_settings()
    model = load_model(settings.model_dir, settings.model_name, settings.model_version)
    started = time.perf_counter()
    samples = self_test(model) if settings.model_self_test else 0
    self_test_ms = (time.perf_counter() - started) * 1000
    sink = make_sink(settings.sink, dead_letter=settings.invalid_records == "dead-letter")
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
        blasThreads=os.environ.get("OPENBLAS_NUM_THREADS"),
        sklearn=getattr(sklearn, "__version__", None),
        sink=sink.name,
        invalidRecords=settings.invalid_records,
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


def _predictions(accepted: list[Accepted], outcomes: list[Outcome | None], failures: dict[str, str]) -> list[dict[str, Any]]:
    """The sinks' prediction documents, in record order; a record the model raised for goes to failures."""
    name, version = MODEL.name, MODEL.version
    documents: list[dict[str, Any]] = []
    for record, outcome in zip(accepted, outcomes):
        source = record.source
        if outcome is None:
            failures[source.sequence_number] = "predict_failed"
            continue
        document: dict[str, Any] = {
            "eventID": source.event_id,
            "sequenceNumber": source.sequence_number,
            "partitionKey": source.partition_key,
            "shardId": source.shard_id,
            "modelName": name,
            "modelVersion": version,
            "label": outcome.label,
        }
        if outcome.probabilities is not None:
            document["score"] = outcome.score
            document["probabilities"] = outcome.probabilities
        documents.append(document)
    return documents


def _deadline(context: Any) -> float:
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    remaining_s = remaining_ms() / 1000 if callable(remaining_ms) else 900.0
    return time.monotonic() + remaining_s - min(_DEADLINE_MARGIN_S, remaining_s * 0.2)


def _sequence_order(sequence: str) -> tuple[int, str]:
    return (len(sequence), sequence)  # decimal strings without leading zeros: numeric order


def _write_dead_letters(batch: Batch, deadline: float, sink_result: SinkResult) -> dict[str, str]:
    """Write the batch's undecodable records as dead-letter entries; return sequence -> reason of
    those written. What fails to be written lands in sink_result.failed (then reported).
    A duplicate record is never dead-lettered: its entry would share the first copy's key."""
    rejected = [r for r in batch.rejected if r.reason != DUPLICATE_RECORD]
    if not rejected:
        return {}
    entries = [dead_letter_entry(record, MODEL.name, MODEL.version) for record in rejected]
    result = SINK.write(batch.sources, entries, deadline, invalid=True)
    sink_result.add(result)
    return {r.source.sequence_number: r.reason for r in rejected if r.source.sequence_number not in result.failed}


def _count(reasons: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for reason in reasons:
        counts[reason] = counts.get(reason, 0) + 1
    return counts


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

    dead_letter = SETTINGS.invalid_records == "dead-letter"
    failures: dict[str, str] = {
        r.source.sequence_number: r.reason for r in batch.rejected if not dead_letter or r.reason == DUPLICATE_RECORD
    }
    outcomes, model_calls = predict_isolating(MODEL, [record.text for record in batch.accepted])
    predictions = _predictions(batch.accepted, outcomes, failures)
    predicted = time.perf_counter()

    deadline = _deadline(context)
    sink_result = SinkResult()
    if predictions:
        sink_result.add(SINK.write(batch.sources, predictions, deadline))
    dead_letters = _write_dead_letters(batch, deadline, sink_result) if dead_letter else {}
    for sequence in sink_result.failed:
        failures[sequence] = "sink_failed"
    finished = time.perf_counter()

    ordered = sorted(failures, key=_sequence_order)
    response: dict[str, Any] = {"batchItemFailures": [{"itemIdentifier": s} for s in ordered]}
    if SINK.name == "none":
        response["predictions"] = predictions
        response["failureReasons"] = {s: failures[s] for s in ordered}

    predict_ms = (predicted - decoded) * 1000
    sink_ms = (finished - predicted) * 1000
    telemetry.log(
        "WARN" if failures or dead_letters else "INFO",
        "batch processed",
        requestId=request_id,
        functionName=function_name,
        modelName=MODEL.name,
        modelVersion=MODEL.version,
        coldStart=cold,
        records=len(batch.sources),
        predicted=len(predictions),
        failures=len(failures),
        failureReasons=_count(failures.values()),
        failedRecords=[{"sequenceNumber": s, "reason": failures[s]} for s in ordered[: telemetry.MAX_LOGGED_FAILURES]],
        deadLettered=len(dead_letters),
        deadLetterReasons=_count(dead_letters.values()),
        modelCalls=model_calls,
        sink=SINK.name,
        sinkErrors=sink_result.errors[:5],
        sinkRetries=sink_result.retries,
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
            "SinkFailures": (len(sink_result.failed), "Count"),
            "DeadLettered": (len(dead_letters), "Count"),
            "PredictMs": (round(predict_ms, 3), "Milliseconds"),
            "SinkMs": (round(sink_ms, 3), "Milliseconds"),
        },
        requestId=request_id,
        ModelName=MODEL.name,
    )
    return response
