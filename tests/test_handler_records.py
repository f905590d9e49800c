"""The handler on the real deps layer and the demo model (SINK=none): record formats, bad records,
size limits, event validation, logs and metrics. One warm handler process per configuration."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from handler_harness import (
    HandlerProcess,
    handler_for,
    kinesis_event,
    kinesis_record,
    seed_payload,
    sequence_number,
)

from conftest import DEMO_MODEL_NAME, DEMO_MODEL_VERSION

ONE_MIB = 1024 * 1024
EMF_UNITS = {"Count", "Milliseconds", "Seconds", "Bytes", "None"}


@pytest.fixture(scope="module")
def demo_model_dir(demo_artifacts: Path) -> Path:
    return demo_artifacts / DEMO_MODEL_NAME / DEMO_MODEL_VERSION


@pytest.fixture(scope="module")
def metadata(demo_model_dir: Path) -> dict[str, Any]:
    data = json.loads((demo_model_dir / "metadata.json").read_text())
    assert data["samples"] and len(data["samples"]["inputs"]) >= 2, "the demo model must ship samples"
    return data


@pytest.fixture(scope="module")
def seed_handler(deps_build, demo_model_dir: Path) -> Iterator[HandlerProcess]:
    with handler_for(deps_build, demo_model_dir, function_name="seed-fn") as handler:
        yield handler


@pytest.fixture(scope="module")
def text_handler(deps_build, demo_model_dir: Path) -> Iterator[HandlerProcess]:
    with handler_for(deps_build, demo_model_dir, {"RECORD_FORMAT": "text"}) as handler:
        yield handler


@pytest.fixture(scope="module")
def plain_field_handler(deps_build, demo_model_dir: Path) -> Iterator[HandlerProcess]:
    env = {"TEXT_FIELD": "body", "TEXT_FIELD_JSON_ENCODED": "false"}
    with handler_for(deps_build, demo_model_dir, env) as handler:
        yield handler


def labels_of(response: dict[str, Any]) -> list[Any]:
    return [p["label"] for p in response["predictions"]]


def assert_nothing_lost(event: dict[str, Any], response: dict[str, Any]) -> None:
    sequences = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    predicted = [p["sequenceNumber"] for p in response["predictions"]]
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert len(predicted) + len(failed) == len(sequences)
    assert sorted(predicted + failed) == sorted(sequences)


# -- the seed's format ---------------------------------------------------------------------------
def test_seed_format_predicts_the_samples_recorded_in_metadata(seed_handler, metadata):
    inputs, expected = metadata["samples"]["inputs"], metadata["samples"]["expected"]
    event = kinesis_event([seed_payload(text) for text in inputs])
    result = seed_handler.invoke(event)

    assert result.response["batchItemFailures"] == []
    assert labels_of(result.response) == expected
    for record, prediction in zip(event["Records"], result.response["predictions"]):
        assert prediction["eventID"] == record["eventID"]
        assert prediction["sequenceNumber"] == record["kinesis"]["sequenceNumber"]
        assert prediction["partitionKey"] == record["kinesis"]["partitionKey"]
        assert prediction["shardId"] == record["eventID"].split(":")[0] == "shardId-000000000000"
        assert (prediction["modelName"], prediction["modelVersion"]) == (metadata["name"], metadata["version"])
        probabilities = prediction["probabilities"]
        assert prediction["score"] == probabilities[str(prediction["label"])]
        assert max(probabilities, key=probabilities.get) == str(prediction["label"])
        assert sum(probabilities.values()) == pytest.approx(1.0)


def test_bad_records_are_reported_and_good_ones_in_the_same_batch_still_predicted(seed_handler, metadata):
    good_texts = metadata["samples"]["inputs"]
    bad: list[tuple[str, bytes | None, str | None]] = [  # (expected reason, payload, raw base64)
        ("invalid_base64", None, "not*base64!"),
        ("not_utf8", b'{"textblob": "\xff\xfe"}', None),
        ("not_json", b"love it, not JSON", None),
        ("not_json_object", b'["textblob"]', None),
        ("missing_field", json.dumps({"text": json.dumps("love it")}).encode(), None),
        ("field_not_string", json.dumps({"textblob": 42}).encode(), None),
        ("field_not_json_encoded", json.dumps({"textblob": "love it"}).encode(), None),
        ("field_not_json_string", json.dumps({"textblob": json.dumps(["love it"])}).encode(), None),
        ("empty_text", seed_payload(""), None),
        ("empty_text", seed_payload(" \n\t "), None),
        ("empty_record", b"", None),
        ("record_too_large", seed_payload("x" * (ONE_MIB + 1)), None),
        ("kpl_aggregated_record", b"\xf3\x89\x9a\xc2" + b"\x0a\x03pk0", None),
    ]
    records, expected_reasons, expected_labels = [], {}, {}
    for index, (reason, payload, raw) in enumerate(bad):  # interleaved: bad, good, bad, good, ...
        sequence = sequence_number(100 + 2 * index)
        records.append(kinesis_record(payload, sequence, raw_data=raw))
        expected_reasons[sequence] = reason
        sequence = sequence_number(101 + 2 * index)
        records.append(kinesis_record(seed_payload(good_texts[index % len(good_texts)]), sequence))
        expected_labels[sequence] = metadata["samples"]["expected"][index % len(good_texts)]
    event = {"Records": records}

    result = seed_handler.invoke(event)

    assert result.failed_ids == sorted(expected_reasons, key=int)
    assert result.response["failureReasons"] == expected_reasons
    assert {p["sequenceNumber"]: p["label"] for p in result.response["predictions"]} == expected_labels
    assert_nothing_lost(event, result.response)
    log = result.batch_log
    assert (log["records"], log["predicted"], log["failures"]) == (len(records), len(expected_labels), len(expected_reasons))
    assert log["failureReasons"]["empty_text"] == 2 and log["modelCalls"] == 1  # one vectorised call


def test_a_one_mib_record_is_predicted_and_one_byte_more_is_rejected(seed_handler, metadata):
    text, expected = metadata["samples"]["inputs"][0], metadata["samples"]["expected"][0]
    room = ONE_MIB - len(seed_payload(""))  # each plain ASCII character adds one byte to the record
    big_text = ((text + " ") * (room // (len(text) + 1) + 1))[:room]
    payload, too_big = seed_payload(big_text), seed_payload(big_text + " ")
    assert len(payload) == ONE_MIB and len(too_big) == ONE_MIB + 1
    event = kinesis_event([payload, too_big])

    result = seed_handler.invoke(event)

    assert labels_of(result.response) == [expected]  # the same text repeated: same class
    assert result.response["failureReasons"] == {sequence_number(1): "record_too_large"}


def test_empty_records_is_a_successful_empty_batch(seed_handler):
    result = seed_handler.invoke({"Records": []})
    assert result.response["batchItemFailures"] == [] and result.response["predictions"] == []
    assert result.batch_log["records"] == 0 and result.emf["Records"] == 0


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"hello": "world"}, "event has no Records list"),
        ({"Records": [{"eventSource": "aws:sqs", "body": "love it"}]}, "'aws:sqs', expected 'aws:kinesis'"),
        (
            {"Records": [{"eventSource": "aws:kinesis", "eventID": "s:1", "kinesis": {"data": "aGk="}}]},
            "has no valid kinesis.sequenceNumber",
        ),
    ],
    ids=["no-records", "sqs", "no-sequence-number"],
)
def test_an_event_that_is_not_from_kinesis_fails_the_invocation(seed_handler, event, message):
    result = seed_handler.invoke(event)
    assert result.response is None
    assert result.error_type == "NotKinesisEvent" and message in result.error
    assert any(line.get("level") == "ERROR" for line in result.json_logs)
    assert seed_handler.invoke(kinesis_event([seed_payload("still serving")])).failed_ids == []


def test_one_structured_log_line_and_one_emf_line_per_invocation(seed_handler, metadata):
    event = kinesis_event([seed_payload(t) for t in metadata["samples"]["inputs"][:3]] + [b"nope", b""])
    result = seed_handler.invoke(event, request_id="req-1234")

    assert len(result.logs) == 2  # nothing else on stdout
    log = result.batch_log
    assert log["requestId"] == "req-1234" and log["functionName"] == "seed-fn"
    assert (log["modelName"], log["modelVersion"]) == (metadata["name"], metadata["version"])
    assert (log["records"], log["predicted"], log["failures"]) == (5, 3, 2)
    assert log["failureReasons"] == {"not_json": 1, "empty_record": 1}
    assert log["predictMs"] > 0 and log["sinkMs"] >= 0 and log["totalMs"] >= log["predictMs"]
    assert log["coldStart"] is (seed_handler.invocations == 1)

    emf = result.emf
    directive = emf["_aws"]["CloudWatchMetrics"][0]
    assert isinstance(emf["_aws"]["Timestamp"], int)
    assert directive["Namespace"] == "mlayer"
    assert directive["Dimensions"] == [["FunctionName", "ModelVersion"]]
    assert (emf["FunctionName"], emf["ModelVersion"]) == ("seed-fn", metadata["version"])
    names = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert {"Records", "Failures", "PredictMs"} <= set(names) and set(names.values()) <= EMF_UNITS
    assert all(isinstance(emf[name], (int, float)) for name in names)
    assert (emf["Records"], emf["Failures"], emf["PredictMs"]) == (5, 2, log["predictMs"])


def test_init_loads_the_model_once_and_sink_none_never_imports_boto3(seed_handler, demo_model_dir):
    init = [json.loads(line) for line in seed_handler.init_logs]
    assert [entry["message"] for entry in init] == ["init"]
    assert init[0]["modelDir"] == str(demo_model_dir) and init[0]["selfTestSamples"] >= 2
    assert init[0]["warnings"] == []  # pickled with exactly the layer's versions
    seed_handler.invoke(kinesis_event([seed_payload("a warm call")]))
    assert seed_handler.loaded_modules(["sklearn", "boto3", "botocore"]) == ["sklearn"]
    assert not any("init" == json.loads(line).get("message") for line in seed_handler.invoke({"Records": []}).logs)


# -- other record formats ----------------------------------------------------------------------
def test_text_format_reads_the_record_bytes_as_the_text(text_handler, metadata):
    inputs, expected = metadata["samples"]["inputs"], metadata["samples"]["expected"]
    payloads = [t.encode() for t in inputs] + [b"", b"\xc3\x28", seed_payload(inputs[0])]
    result = text_handler.invoke(kinesis_event(payloads))

    n = len(inputs)
    assert labels_of(result.response)[:n] == expected
    assert result.response["failureReasons"] == {sequence_number(n): "empty_record", sequence_number(n + 1): "not_utf8"}
    assert len(result.response["predictions"]) == n + 1  # a JSON document is just text here


def test_custom_field_without_json_encoding(plain_field_handler, metadata):
    inputs, expected = metadata["samples"]["inputs"], metadata["samples"]["expected"]
    payloads = [json.dumps({"body": t, "id": i}).encode() for i, t in enumerate(inputs)]
    payloads += [seed_payload(inputs[0]), json.dumps({"body": 3}).encode()]
    result = plain_field_handler.invoke(kinesis_event(payloads))

    n = len(inputs)
    assert labels_of(result.response) == expected
    assert result.response["failureReasons"] == {
        sequence_number(n): "missing_field",
        sequence_number(n + 1): "field_not_string",
    }


def test_warm_batches_of_one_ten_and_a_hundred_are_fast(seed_handler, metadata):
    inputs = metadata["samples"]["inputs"]
    for size in (1, 10, 100):
        event = kinesis_event([seed_payload(inputs[i % len(inputs)]) for i in range(size)])
        timings = sorted(seed_handler.invoke(event).duration_ms for _ in range(3))
        # The seed paid ~3,800 ms per call reloading the model; warm calls must not load anything.
        assert timings[1] < 250, f"batch of {size}: median {timings[1]:.1f} ms"


def test_base64_is_decoded_strictly(seed_handler):
    valid = base64.b64encode(seed_payload("love it")).decode()
    records = [kinesis_record(None, sequence_number(0), raw_data=valid[:-2] + "\n" + valid[-2:])]
    result = seed_handler.invoke({"Records": records})
    assert result.response["failureReasons"] == {sequence_number(0): "invalid_base64"}

