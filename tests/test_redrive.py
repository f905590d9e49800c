"""`mlayer redrive` round trip on moto: the real handler dead-letters records a producer sent in a
format it does not read, the handler is fixed, redrive puts the entries back into a stream, and
the fixed handler predicts every one of them (issue 10, item 3)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from handler_harness import aws_child_env, handler_for, kinesis_event, kinesis_record, seed_payload
from mlayer.cli import main
from test_handler_sinks import aws_client, create_table, scan

from conftest import DEMO_MODEL_NAME, DEMO_MODEL_VERSION

GOOD, BROKEN = 5, 15  # records in the format the handler reads, and in the producer's new one
TOO_LARGE = b'{"body": "' + b"x" * 10_000 + b'"}'  # over MAX_RECORD_BYTES: kept truncated, so never re-driven
SINKS = {
    "s3": ({"SINK": "s3", "SINK_S3_BUCKET": "mlayer-redrive", "SINK_S3_PREFIX": "rt/"}, ["--s3-bucket", "mlayer-redrive", "--s3-prefix", "rt/"]),
    "dynamodb": ({"SINK": "dynamodb", "SINK_DYNAMODB_TABLE": "mlayer-redrive"}, ["--dynamodb-table", "mlayer-redrive"]),
}


@pytest.fixture(scope="module")
def demo_model_dir(demo_artifacts: Path) -> Path:
    return demo_artifacts / DEMO_MODEL_NAME / DEMO_MODEL_VERSION


def create_sink(kind: str, endpoint: str) -> None:
    if kind == "s3":
        aws_client("s3", endpoint).create_bucket(Bucket="mlayer-redrive")
    else:
        create_table(endpoint, "mlayer-redrive")


def stored(kind: str, endpoint: str) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(predictions, dead-letter entries) in the sink, by sequence number."""
    predictions: dict[str, dict[str, Any]] = {}
    entries: dict[str, dict[str, Any]] = {}
    if kind == "s3":
        s3 = aws_client("s3", endpoint)
        for item in s3.list_objects_v2(Bucket="mlayer-redrive", Prefix="rt/").get("Contents", []):
            for line in s3.get_object(Bucket="mlayer-redrive", Key=item["Key"])["Body"].read().splitlines():
                document = json.loads(line)
                (entries if "/_invalid/" in item["Key"] else predictions)[document["sequenceNumber"]] = document
    else:
        for item in scan(endpoint, "mlayer-redrive"):
            document = {key: next(iter(value.values())) for key, value in item.items()}
            (entries if document["status"] == "invalid" else predictions)[document["sequenceNumber"]] = document
    return predictions, entries


def stream_event(endpoint: str, stream: str) -> dict[str, Any]:
    """What Lambda would deliver from the stream: its records, with Kinesis' own sequence numbers."""
    kinesis = aws_client("kinesis", endpoint)
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    return {"Records": [kinesis_record(r["Data"], r["SequenceNumber"], partition_key=r["PartitionKey"], shard_id=shard) for r in records]}


@pytest.mark.parametrize("kind", sorted(SINKS))
def test_dead_lettered_records_are_redriven_and_predicted_after_the_fix(deps_build, demo_model_dir, moto_endpoint, aws_env, capsys, kind):
    sink_env, sink_args = SINKS[kind]
    create_sink(kind, moto_endpoint)
    stream = f"mlayer-input-{kind}"
    kinesis = aws_client("kinesis", moto_endpoint)
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.1})
    texts = json.loads((demo_model_dir / "metadata.json").read_text())["samples"]["inputs"]
    # The producer started sending {"body": text}; the handler reads the seed's {"textblob": json(text)}.
    payloads = [seed_payload(texts[i % len(texts)]) for i in range(GOOD)]
    payloads += [json.dumps({"body": texts[i % len(texts)]}).encode() for i in range(BROKEN)]
    payloads += [seed_payload(texts[0]), TOO_LARGE]  # a good record ends the run: the s3 entries land in two objects
    event = kinesis_event(payloads, start=9000)
    env = {**aws_child_env(moto_endpoint), **sink_env, "MAX_RECORD_BYTES": "4096"}  # INVALID_RECORDS: the default

    with handler_for(deps_build, demo_model_dir, env, with_boto3=True) as handler:
        first = handler.invoke(event)
    assert first.failed_ids == []  # dead-letter is the default with a sink: nothing for Lambda to retry
    predictions, entries = stored(kind, moto_endpoint)
    dead_lettered = len(entries)
    assert (len(predictions), dead_lettered) == (GOOD + 1, BROKEN + 1)
    assert {e["reason"] for e in entries.values()} == {"missing_field", "record_too_large"}
    assert all(base64.b64decode(e["data_b64"]) == payloads[GOOD + i] for i, e in enumerate(sorted(entries.values(), key=lambda e: int(e["sequenceNumber"]))) if not e["truncated"])

    code = main(["redrive", "--stream", stream, *sink_args, "--delete"])
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert code == 0 and err.count("\n") == 1, err
    assert summary["found"] == BROKEN + 1 and summary["redriven"] == BROKEN and summary["skipped"] == {"truncated": 1}
    assert summary["deleted"] == (1 if kind == "s3" else BROKEN)  # s3: the run's object; dynamodb: each item

    redriven = stream_event(moto_endpoint, stream)
    assert sorted(base64.b64decode(r["kinesis"]["data"]) for r in redriven["Records"]) == sorted(payloads[GOOD : GOOD + BROKEN])
    fixed_env = {**env, "TEXT_FIELD": "body", "TEXT_FIELD_JSON_ENCODED": "false"}  # the fix
    with handler_for(deps_build, demo_model_dir, fixed_env, with_boto3=True) as fixed:
        second = fixed.invoke(redriven)
    assert second.failed_ids == [] and second.batch_log["predicted"] == BROKEN
    predictions, entries = stored(kind, moto_endpoint)
    predicted_after_fix = sum(1 for r in redriven["Records"] if r["kinesis"]["sequenceNumber"] in predictions)
    assert predicted_after_fix == BROKEN
    assert [e["reason"] for e in entries.values()] == ["record_too_large"]  # only what could not be re-driven is left
    print(f"redrive round trip ({kind}): dead-lettered {dead_lettered}, re-driven {summary['redriven']} "
          f"(skipped {summary['skipped']}), predicted after the fix {predicted_after_fix}")
