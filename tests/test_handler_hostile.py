"""Hostile records against the real handler: one record never fails its batch, sink keys never
collide, DynamoDB numbers are always valid and a refused item fails alone (issue 10, items 1-2)."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from handler_harness import FUNCTION_DIR, HandlerProcess, aws_child_env, handler_for, kinesis_event, seed_payload
from test_handler_sinks import SHARD, aws_client, create_table, scan

from conftest import DEMO_MODEL_NAME, DEMO_MODEL_VERSION

DEEP = b"[" * 100_000 + b"]" * 100_000  # ~200 KB, far under the 1 MiB limit, deeper than any recursion limit
REPORT = {"INVALID_RECORDS": "report"}
BUCKET = "mlayer-hostile"


def s3_objects(endpoint: str, prefix: str) -> dict[str, list[dict[str, Any]]]:
    s3 = aws_client("s3", endpoint)
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    return {key: [json.loads(line) for line in s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().splitlines()] for key in keys}


@pytest.fixture(scope="module")
def demo_model_dir(demo_artifacts: Path) -> Path:
    return demo_artifacts / DEMO_MODEL_NAME / DEMO_MODEL_VERSION


@pytest.fixture(scope="module")
def texts(demo_model_dir: Path) -> list[str]:
    return json.loads((demo_model_dir / "metadata.json").read_text())["samples"]["inputs"]


@pytest.fixture(scope="module")
def report_handler(deps_build, demo_model_dir) -> Iterator[HandlerProcess]:
    with handler_for(deps_build, demo_model_dir) as handler:
        yield handler


@pytest.fixture(scope="module")
def s3_handler(deps_build, demo_model_dir, moto_endpoint) -> Iterator[HandlerProcess]:
    """SINK=s3 with its default INVALID_RECORDS (dead-letter)."""
    aws_client("s3", moto_endpoint).create_bucket(Bucket=BUCKET)
    env = {**aws_child_env(moto_endpoint), "SINK": "s3", "SINK_S3_BUCKET": BUCKET, "SINK_S3_PREFIX": "hostile/"}
    with handler_for(deps_build, demo_model_dir, env, with_boto3=True) as handler:
        yield handler


def sequences(event: dict[str, Any]) -> list[str]:
    return [r["kinesis"]["sequenceNumber"] for r in event["Records"]]


@pytest.mark.parametrize(
    "payload, reason",
    [(DEEP, "too_deeply_nested"), (json.dumps({"textblob": DEEP.decode()}).encode(), "too_deeply_nested")],
    ids=["whole-record", "inside-textblob"],
)
def test_a_deeply_nested_record_fails_alone_and_the_records_around_it_are_predicted(report_handler, texts, payload, reason):
    event = kinesis_event([seed_payload(texts[0]), payload, seed_payload(texts[1])], start=100)
    seq = sequences(event)

    result = report_handler.invoke(event)

    assert result.error_type is None, result.error
    assert result.failed_ids == [seq[1]]
    assert result.response["failureReasons"] == {seq[1]: reason}
    assert [p["sequenceNumber"] for p in result.response["predictions"]] == [seq[0], seq[2]]


def test_a_deeply_nested_record_is_dead_lettered_by_default_with_a_sink(s3_handler, moto_endpoint, texts):
    event = kinesis_event([seed_payload(texts[0]), DEEP, seed_payload(texts[1])], start=200)
    seq = sequences(event)

    result = s3_handler.invoke(event)

    assert result.failed_ids == []
    entries = s3_objects(moto_endpoint, f"hostile/_invalid/{SHARD}/{seq[1]}-")
    [(key, [entry])] = entries.items()
    assert (entry["reason"], entry["sequenceNumber"], entry["shardId"]) == ("too_deeply_nested", seq[1], SHARD)
    assert base64.b64decode(entry["data_b64"]) == DEEP and entry["approximateArrivalTimestamp"] == 1545084650.987
    predicted = s3_objects(moto_endpoint, f"hostile/{SHARD}/")
    assert sorted(predicted) == [f"hostile/{SHARD}/{seq[0]}-{seq[0]}.jsonl", f"hostile/{SHARD}/{seq[2]}-{seq[2]}.jsonl"]


def test_a_lone_surrogate_partition_key_is_written_escaped_and_fails_nothing(s3_handler, moto_endpoint, texts):
    event = kinesis_event([seed_payload(t) for t in texts[:3]], start=300)
    event["Records"][1]["kinesis"]["partitionKey"] = "evil\ud800key"  # arrives like this from a JSON \ud800 escape
    seq = sequences(event)

    result = s3_handler.invoke(event)

    assert result.error_type is None, result.error
    assert result.failed_ids == []
    [lines] = s3_objects(moto_endpoint, f"hostile/{SHARD}/{seq[0]}-{seq[2]}").values()
    assert [line["partitionKey"] for line in lines] == ["pk-300", "evil\\ud800key", "pk-302"]


@pytest.mark.parametrize("event_ids", [[None, None, None], ["same", "same", None], ["x:1", "x:1", "x:1"]],
                         ids=["no-event-id", "shared-event-id", "lying-event-id"])
def test_records_are_keyed_by_shard_and_sequence_whatever_the_event_ids(s3_handler, moto_endpoint, texts, event_ids):
    start = 400 + 10 * len(str(event_ids))
    event = kinesis_event([seed_payload(t) for t in texts[:3]], start=start)
    for record, event_id in zip(event["Records"], event_ids):
        if event_id is None:
            del record["eventID"]
        else:
            record["eventID"] = event_id
    seq = sequences(event)

    result = s3_handler.invoke(event)

    assert result.failed_ids == []
    shard = "x" if event_ids[0] == "x:1" else "unknown-shard"
    objects = s3_objects(moto_endpoint, f"hostile/{shard}/{seq[0]}-")
    lines = [line for run in objects.values() for line in run]
    assert [line["sequenceNumber"] for line in lines] == seq  # three records, three lines: none overwritten
    assert len({line["eventID"] for line in lines}) == 3


def test_a_repeated_sequence_number_is_reported_not_written_twice(s3_handler, moto_endpoint, texts):
    event = kinesis_event([seed_payload(t) for t in texts[:2]], start=500)
    event["Records"].append(json.loads(json.dumps(event["Records"][0])))  # the first record again
    seq = sequences(event)

    result = s3_handler.invoke(event)

    assert result.failed_ids == [seq[0]]  # never dead-lettered: its entry would share the first's key
    assert result.batch_log["failureReasons"] == {"duplicate_record": 1}
    lines = [line for run in s3_objects(moto_endpoint, f"hostile/{SHARD}/{seq[0]}-").values() for line in run]
    assert [line["sequenceNumber"] for line in lines] == seq[:2]


def test_an_item_dynamodb_refuses_fails_alone_not_its_chunk(deps_build, demo_model_dir, moto_endpoint, texts):
    """A 300 KB partition key makes a 400 KB+ item: ValidationException for the whole
    BatchWriteItem. Only that record may fail; its 24 chunk neighbours must be written."""
    table = "mlayer-hostile"
    create_table(moto_endpoint, table)
    event = kinesis_event([seed_payload(texts[i % len(texts)]) for i in range(30)], start=600)
    event["Records"][5]["kinesis"]["partitionKey"] = "k" * 450_000
    seq = sequences(event)
    env = {**aws_child_env(moto_endpoint), **REPORT, "SINK": "dynamodb", "SINK_DYNAMODB_TABLE": table}

    with handler_for(deps_build, demo_model_dir, env, with_boto3=True) as handler:
        result = handler.invoke(event)

    assert result.failed_ids == [seq[5]]
    assert result.batch_log["failureReasons"] == {"sink_failed": 1}
    assert "ValidationException" in " ".join(result.batch_log["sinkErrors"])
    assert sorted(item["sequenceNumber"]["S"] for item in scan(moto_endpoint, table)) == sorted(seq[:5] + seq[6:])


# -- DynamoDB numbers, checked on the handler's own function (pure Python, no boto3 needed) ----------
@pytest.fixture(scope="module")
def sinks_module() -> Any:
    sys.path.insert(0, str(FUNCTION_DIR))
    try:
        import sinks

        yield sinks
    finally:
        sys.path.remove(str(FUNCTION_DIR))


@pytest.mark.parametrize(
    "value, written",
    [
        (1e-200, "0"),  # predict_proba can produce this; DynamoDB refuses non-zero below 1e-130
        (-5e-324, "0"),
        (1e-130, "1e-130"),
        (0.25, "0.25"),
        (1e300, "9.9999999999999999999999999999999999999E+125"),
        (-1e300, "-9.9999999999999999999999999999999999999E+125"),
        (10**40, "1e+40"),  # more digits than DynamoDB's 38: rounded, not refused
        (12345, "12345"),
    ],
)
def test_dynamodb_numbers_are_clamped_into_what_dynamodb_accepts(sinks_module, value, written):
    assert sinks_module.dynamodb_number(value) == written
    mantissa, _, exponent = written.lstrip("-").upper().partition("E")
    assert len(mantissa.replace(".", "").lstrip("0")) <= 38
    assert written == "0" or -130 <= int(exponent or 0) + len(mantissa.split(".")[0]) - 1 <= 125
