"""The handler's sinks against moto's real HTTP server, with the runtime-provided boto3 in the
handler's interpreter; and a sink that cannot be reached: every record reported, none claimed."""

from __future__ import annotations

import base64
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from handler_harness import (
    FUNCTION_DIR,
    HandlerProcess,
    aws_child_env,
    handler_for,
    kinesis_event,
    kinesis_record,
    seed_payload,
    sequence_number,
    target_python,
)

from conftest import DEMO_MODEL_NAME, DEMO_MODEL_VERSION, REPO, free_port

BUCKET = "mlayer-predictions"
TABLE = "mlayer-predictions"
STREAM = "mlayer-predictions"
SHARD = "shardId-000000000000"
REPORT = {"INVALID_RECORDS": "report"}  # the default with a sink is dead-letter; these tests report


@pytest.fixture(scope="module")
def demo_model_dir(demo_artifacts: Path) -> Path:
    return demo_artifacts / DEMO_MODEL_NAME / DEMO_MODEL_VERSION


@pytest.fixture(scope="module")
def samples(demo_model_dir: Path) -> tuple[list[str], list[Any]]:
    metadata = json.loads((demo_model_dir / "metadata.json").read_text())
    return metadata["samples"]["inputs"], metadata["samples"]["expected"]


def aws_client(service: str, endpoint: str) -> Any:
    """A client for this process (test setup and checks), on moto with fake credentials."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


def create_table(endpoint: str, table: str) -> None:
    """A sink table as the Terraform module makes it: hash key eventID (string)."""
    aws_client("dynamodb", endpoint).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "eventID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "eventID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def mixed_batch(texts: list[str], count: int, bad_index: int, start: int = 0) -> dict[str, Any]:
    """count records from one shard; the one at bad_index is not JSON."""
    payloads = [seed_payload(texts[i % len(texts)]) for i in range(count)]
    payloads[bad_index] = b"not json"
    return kinesis_event(payloads, start=start)


def started(handler: HandlerProcess) -> HandlerProcess:
    handler.start()
    # Lazy by design: INIT must not pay for boto3; the first write imports it.
    handler.boto3_at_init = handler.loaded_modules(["boto3", "botocore"])  # type: ignore[attr-defined]
    return handler


# -- S3 ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def s3_handler(deps_build, demo_model_dir, moto_endpoint) -> Iterator[HandlerProcess]:
    aws_client("s3", moto_endpoint).create_bucket(Bucket=BUCKET)
    env = {**aws_child_env(moto_endpoint), **REPORT, "SINK": "s3", "SINK_S3_BUCKET": BUCKET, "SINK_S3_PREFIX": "predictions/"}
    handler = started(handler_for(deps_build, demo_model_dir, env, with_boto3=True))
    yield handler
    handler.close()


def s3_objects(endpoint: str, prefix: str) -> dict[str, list[dict[str, Any]]]:
    s3 = aws_client("s3", endpoint)
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    out = {}
    for item in listing:
        body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().decode()
        assert body.endswith("\n")
        out[item["Key"]] = [json.loads(line) for line in body.splitlines()]
    return out


def test_s3_sink_writes_one_object_per_run_and_a_checkpoint_retry_overwrites_it(s3_handler, moto_endpoint, samples):
    texts, expected = samples
    assert s3_handler.boto3_at_init == []
    event = mixed_batch(texts, 8, bad_index=3, start=1000)  # records 0-2 and 4-7 are good
    sequences = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]

    first = s3_handler.invoke(event)

    assert first.failed_ids == [sequences[3]]
    assert "predictions" not in first.response  # results live in the sink, not in the response
    before = f"predictions/{SHARD}/{sequences[0]}-{sequences[2]}.jsonl"
    after = f"predictions/{SHARD}/{sequences[4]}-{sequences[7]}.jsonl"
    objects = s3_objects(moto_endpoint, f"predictions/{SHARD}/")
    assert sorted(objects) == sorted([before, after])
    assert [line["sequenceNumber"] for line in objects[before]] == sequences[:3]
    assert [line["sequenceNumber"] for line in objects[after]] == sequences[4:]
    lines = objects[before] + objects[after]
    assert [line["eventID"] for line in lines] == [f"{SHARD}:{s}" for s in sequences[:3] + sequences[4:]]
    assert [line["label"] for line in lines] == [expected[i % len(expected)] for i in (0, 1, 2, 4, 5, 6, 7)]
    assert all(line["modelVersion"] == DEMO_MODEL_VERSION and 0 < line["score"] <= 1 for line in lines)
    assert s3_handler.loaded_modules(["boto3"]) == ["boto3"]

    # Lambda re-delivers the same batch (e.g. the invocation timed out): same keys, overwritten.
    again = s3_handler.invoke(event)
    assert again.failed_ids == [sequences[3]]
    assert s3_objects(moto_endpoint, f"predictions/{SHARD}/") == objects

    # Lambda resumes at the checkpoint (the lowest reported sequence number): the records after
    # the bad one form the same run, so they overwrite their object instead of duplicating.
    resumed = {"Records": event["Records"][3:]}
    assert s3_handler.invoke(resumed).failed_ids == [sequences[3]]
    everything = s3_objects(moto_endpoint, f"predictions/{SHARD}/")
    assert everything == objects
    copies = [line["eventID"] for lines_ in everything.values() for line in lines_]
    assert len(copies) == len(set(copies)) == 7


# -- DynamoDB ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dynamodb_handler(deps_build, demo_model_dir, moto_endpoint) -> Iterator[HandlerProcess]:
    create_table(moto_endpoint, TABLE)
    env = {**aws_child_env(moto_endpoint), **REPORT, "SINK": "dynamodb", "SINK_DYNAMODB_TABLE": TABLE}
    handler = started(handler_for(deps_build, demo_model_dir, env, with_boto3=True))
    yield handler
    handler.close()


def scan(endpoint: str, table: str = TABLE) -> list[dict[str, Any]]:
    dynamodb = aws_client("dynamodb", endpoint)
    items, kwargs = [], {"TableName": table}
    while True:
        page = dynamodb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_dynamodb_sink_writes_one_item_per_event_id_and_a_rerun_is_idempotent(dynamodb_handler, moto_endpoint, samples):
    texts, expected = samples
    assert dynamodb_handler.boto3_at_init == []
    event = mixed_batch(texts, 60, bad_index=30, start=2000)  # more than one BatchWriteItem (25 max)
    sequences = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    good = {f"{SHARD}:{s}": i for i, s in enumerate(sequences) if i != 30}

    assert dynamodb_handler.invoke(event).failed_ids == [sequences[30]]
    items = scan(moto_endpoint)
    assert {item["eventID"]["S"] for item in items} == set(good)
    for item in items:
        index = good[item["eventID"]["S"]]
        assert item["sequenceNumber"]["S"] == sequences[index]
        assert item["label"]["S"] == expected[index % len(expected)]
        assert item["modelName"]["S"] == DEMO_MODEL_NAME and item["modelVersion"]["S"] == DEMO_MODEL_VERSION
        assert float(item["score"]["N"]) == float(item["probabilities"]["M"][item["label"]["S"]]["N"])

    assert dynamodb_handler.invoke(event).failed_ids == [sequences[30]]
    assert sorted(scan(moto_endpoint), key=lambda i: i["eventID"]["S"]) == sorted(items, key=lambda i: i["eventID"]["S"])


# -- Kinesis -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def kinesis_handler(deps_build, demo_model_dir, moto_endpoint) -> Iterator[HandlerProcess]:
    kinesis = aws_client("kinesis", moto_endpoint)
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=STREAM, WaiterConfig={"Delay": 0.1})
    env = {**aws_child_env(moto_endpoint), **REPORT, "SINK": "kinesis", "SINK_KINESIS_STREAM": STREAM}
    handler = started(handler_for(deps_build, demo_model_dir, env, with_boto3=True))
    yield handler
    handler.close()


def test_kinesis_sink_puts_one_record_per_prediction_keyed_by_the_source_partition_key(
    kinesis_handler, moto_endpoint, samples
):
    texts, expected = samples
    event = mixed_batch(texts, 5, bad_index=2, start=3000)
    sequences = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]

    assert kinesis_handler.invoke(event).failed_ids == [sequences[2]]

    kinesis = aws_client("kinesis", moto_endpoint)
    shard = kinesis.list_shards(StreamName=STREAM)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = kinesis.get_records(ShardIterator=iterator["ShardIterator"], Limit=100)["Records"]
    documents = [json.loads(r["Data"]) for r in records]
    assert [d["sequenceNumber"] for d in documents] == [s for i, s in enumerate(sequences) if i != 2]
    assert [r["PartitionKey"] for r in records] == [f"pk-{3000 + i}" for i in (0, 1, 3, 4)]
    assert [d["label"] for d in documents] == [expected[i % len(expected)] for i in (0, 1, 3, 4)]


EVERY_SINK = [
    {"SINK": "s3", "SINK_S3_BUCKET": BUCKET},
    {"SINK": "dynamodb", "SINK_DYNAMODB_TABLE": TABLE},
    {"SINK": "kinesis", "SINK_KINESIS_STREAM": STREAM},
]


# -- a sink that cannot be reached -----------------------------------------------------------------
@pytest.fixture(scope="module")
def closed_endpoint() -> str:
    return f"http://127.0.0.1:{free_port()}"  # bound then released: nothing listens there


@pytest.mark.parametrize("sink_env", EVERY_SINK, ids=["s3", "dynamodb", "kinesis"])
def test_an_unreachable_sink_reports_every_record_and_claims_none(deps_build, demo_model_dir, closed_endpoint, samples, sink_env):
    texts, _ = samples
    env = {**aws_child_env(closed_endpoint), **sink_env, **REPORT, "SINK_MAX_ATTEMPTS": "2", "SINK_CONNECT_TIMEOUT": "0.5"}
    event = mixed_batch(texts, 30, bad_index=7)
    sequences = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]

    with handler_for(deps_build, demo_model_dir, env, with_boto3=True) as handler:
        result = handler.invoke(event)

    assert result.failed_ids == sequences  # all of them: 29 unwritten + 1 undecodable
    log = result.batch_log
    assert log["failureReasons"] == {"sink_failed": 29, "not_json": 1}
    assert log["predicted"] == 29 and log["sinkErrors"] and "127.0.0.1" in " ".join(log["sinkErrors"])
    assert (result.emf["Failures"], result.emf["SinkFailures"]) == (30, 29)


# -- partial-failure retries (UnprocessedItems / FailedRecordCount), which moto never produces ------
def test_partial_failures_are_retried_with_backoff_within_the_attempt_budget_and_the_deadline(deps_build):
    """The retry loop itself, in the target interpreter: a flaky send, a dead one, an expired deadline."""
    from mlayer.isolated import run_isolated_json

    code = textwrap.dedent(
        """
        import json, time
        from handler_config import load_settings
        from sinks import SinkResult, _retry_partial

        settings = load_settings({"SINK_MAX_ATTEMPTS": "4"}).sink
        calls = []

        def flaky(pending):  # the service accepts one more item per call
            calls.append(list(pending))
            return pending[1:]

        result = SinkResult()
        started = time.monotonic()
        flaky_left = _retry_partial(["a", "b", "c"], flaky, settings, time.monotonic() + 60, result)
        flaky_out = {"left": flaky_left, "calls": calls, "retries": result.retries}

        dead = SinkResult()
        dead_left = _retry_partial(["a", "b"], lambda pending: pending, settings, time.monotonic() + 60, dead)

        late = SinkResult()
        late_calls = []
        late_left = _retry_partial(["a"], lambda p: late_calls.append(p) or p, settings, time.monotonic(), late)
        print(json.dumps({"flaky": flaky_out, "dead": [dead_left, dead.retries],
                          "late": [late_left, len(late_calls)], "elapsed": time.monotonic() - started}))
        """
    )
    out = run_isolated_json(target_python(deps_build), [FUNCTION_DIR], code, what="retry loop")
    assert out["flaky"] == {"left": [], "calls": [["a", "b", "c"], ["b", "c"], ["c"]], "retries": 2}
    assert out["dead"] == [["a", "b"], 3]  # 4 attempts in all, then the rest is reported
    assert out["late"] == [["a"], 1]  # no time left for a backoff: one attempt, nothing claimed
    assert out["elapsed"] < 5  # full jitter, capped


def test_the_runtime_provided_boto3_is_the_pinned_tooling_release(deps_build):
    """The handler's boto3 in tests (and in the local runtime) is requirements-dev.txt's, for the layer's Python."""
    from mlayer.isolated import run_isolated_json
    from mlayer.runtime.provided import BOTO3_VERSION, runtime_provided_dir

    pinned = [line.split("==")[1].strip() for line in (REPO / "requirements-dev.txt").read_text().splitlines()
              if line.startswith("boto3==")]  # fmt: skip
    assert pinned == [BOTO3_VERSION]
    provided = runtime_provided_dir(deps_build.runtime)
    assert runtime_provided_dir(deps_build.runtime) == provided  # cached
    code = "import json, sys, boto3; print(json.dumps([boto3.__version__, boto3.__file__, sys.version_info[:2]]))"
    version, location, python = run_isolated_json(target_python(deps_build), [provided], code, what="import boto3")
    assert version == BOTO3_VERSION and location.startswith(str(provided))
    assert ".".join(map(str, python)) == deps_build.runtime.python_version



# -- INVALID_RECORDS=dead-letter: undecodable records kept in the sink, not reported ---------------
DEAD_LETTER_ENV = {"INVALID_RECORDS": "dead-letter", "MAX_RECORD_BYTES": "4096"}
TOO_LARGE = bytes(range(256)) * 40  # 10,240 bytes: over MAX_RECORD_BYTES above
NOT_BASE64 = "%%% not base64 %%%"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def poisoned_batch(texts: list[str], start: int) -> tuple[dict[str, Any], dict[int, tuple[str, bytes]]]:
    """9 records of one shard: good ones, and at 2, 3, 5 and 7 records that can never be decoded.
    Returns the event and index -> (reason, the raw bytes an entry keeps)."""
    bad: dict[int, tuple[str, bytes]] = {
        2: ("not_json", b"not json"),
        3: ("invalid_base64", NOT_BASE64.encode()),
        5: ("record_too_large", TOO_LARGE[:1024]),
        7: ("not_utf8", b"\xff\xfe\x00"),
    }
    records = []
    for i in range(9):
        sequence = sequence_number(start + i)
        if i == 3:
            records.append(kinesis_record(None, sequence, partition_key=f"pk-{start + i}", raw_data=NOT_BASE64))
            continue
        payload = TOO_LARGE if i == 5 else bad[i][1] if i in bad else seed_payload(texts[i % len(texts)])
        records.append(kinesis_record(payload, sequence, partition_key=f"pk-{start + i}"))
    return {"Records": records}, bad


def expected_entry(event: dict[str, Any], index: int, reason: str, kept: bytes) -> dict[str, Any]:
    record = event["Records"][index]
    return {
        "eventID": record["eventID"],
        "sequenceNumber": record["kinesis"]["sequenceNumber"],
        "partitionKey": record["kinesis"]["partitionKey"],
        "shardId": SHARD,
        "approximateArrivalTimestamp": record["kinesis"]["approximateArrivalTimestamp"],
        "reason": reason,
        "data_b64": b64(kept),
        "truncated": reason == "record_too_large",
        "modelName": DEMO_MODEL_NAME,
        "modelVersion": DEMO_MODEL_VERSION,
    }


def test_s3_dead_letters_undecodable_records_per_run_under_invalid_and_reports_none(
    deps_build, demo_model_dir, moto_endpoint, samples
):
    texts, expected = samples
    env = {**aws_child_env(moto_endpoint), **DEAD_LETTER_ENV, "SINK": "s3", "SINK_S3_BUCKET": BUCKET, "SINK_S3_PREFIX": "dead-letter/"}
    event, bad = poisoned_batch(texts, start=5000)
    seq = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]

    with started(handler_for(deps_build, demo_model_dir, env, with_boto3=True)) as handler:
        result = handler.invoke(event)
        objects = s3_objects(moto_endpoint, "dead-letter/")
        again = handler.invoke(event)  # a re-delivery overwrites the same keys
        assert again.failed_ids == [] and s3_objects(moto_endpoint, "dead-letter/") == objects

    assert result.failed_ids == []
    invalid = f"dead-letter/_invalid/{SHARD}"
    runs = {f"{invalid}/{seq[2]}-{seq[3]}.jsonl": [2, 3], f"{invalid}/{seq[5]}-{seq[5]}.jsonl": [5], f"{invalid}/{seq[7]}-{seq[7]}.jsonl": [7]}
    predicted = {f"dead-letter/{SHARD}/{seq[a]}-{seq[b]}.jsonl": list(range(a, b + 1)) for a, b in ((0, 1), (4, 4), (6, 6), (8, 8))}
    assert sorted(objects) == sorted([*runs, *predicted])
    for key, indexes in runs.items():
        assert objects[key] == [expected_entry(event, i, *bad[i]) for i in indexes]
    for key, indexes in predicted.items():
        assert [line["label"] for line in objects[key]] == [expected[i % len(expected)] for i in indexes]
        assert all("reason" not in line and "data_b64" not in line for line in objects[key])

    log = result.batch_log
    assert (log["predicted"], log["failures"], log["deadLettered"]) == (5, 0, 4)
    assert log["deadLetterReasons"] == {"not_json": 1, "invalid_base64": 1, "record_too_large": 1, "not_utf8": 1}
    assert (result.emf["Failures"], result.emf["DeadLettered"], result.emf["SinkFailures"]) == (0, 4, 0)
    assert "DeadLettered" in {m["Name"] for m in result.emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}


def test_dynamodb_dead_letters_are_items_with_status_invalid_and_predictions_status_predicted(
    deps_build, demo_model_dir, moto_endpoint, samples
):
    texts, expected = samples
    table = "mlayer-dead-letters"
    create_table(moto_endpoint, table)
    env = {**aws_child_env(moto_endpoint), **DEAD_LETTER_ENV, "SINK": "dynamodb", "SINK_DYNAMODB_TABLE": table}
    event, bad = poisoned_batch(texts, start=6000)

    with started(handler_for(deps_build, demo_model_dir, env, with_boto3=True)) as handler:
        result = handler.invoke(event)

    assert result.failed_ids == [] and result.batch_log["deadLettered"] == 4
    items = {item["eventID"]["S"]: item for item in scan(moto_endpoint, table)}
    assert len(items) == 9
    for index, record in enumerate(event["Records"]):
        item = items[record["eventID"]]
        if index in bad:
            entry = expected_entry(event, index, *bad[index])
            assert item["status"] == {"S": "invalid"} and "label" not in item
            entry["approximateArrivalTimestamp"] = repr(entry["approximateArrivalTimestamp"])  # a DynamoDB N string
            assert {k: next(iter(v.values())) for k, v in item.items() if k != "status"} == entry
        else:
            assert item["status"] == {"S": "predicted"} and "reason" not in item
            assert item["label"]["S"] == expected[index % len(expected)]


def test_kinesis_dead_letters_are_records_marked_invalid(deps_build, demo_model_dir, moto_endpoint, samples):
    texts, _ = samples
    stream = "mlayer-dead-letters"
    kinesis = aws_client("kinesis", moto_endpoint)
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.1})
    env = {**aws_child_env(moto_endpoint), **DEAD_LETTER_ENV, "SINK": "kinesis", "SINK_KINESIS_STREAM": stream}
    event = mixed_batch(texts, 4, bad_index=1, start=7000)

    with started(handler_for(deps_build, demo_model_dir, env, with_boto3=True)) as handler:
        assert handler.invoke(event).failed_ids == []

    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = kinesis.get_records(ShardIterator=iterator["ShardIterator"], Limit=100)["Records"]
    documents = {json.loads(r["Data"])["eventID"]: (r["PartitionKey"], json.loads(r["Data"])) for r in records}
    assert len(records) == len(documents) == 4
    bad_id = event["Records"][1]["eventID"]
    key, entry = documents[bad_id]
    assert key == "pk-7001" and entry == {**expected_entry(event, 1, "not_json", b"not json"), "invalid": True}
    assert all("invalid" not in document and "label" in document for eid, (_, document) in documents.items() if eid != bad_id)


@pytest.mark.parametrize("sink_env", EVERY_SINK, ids=["s3", "dynamodb", "kinesis"])
def test_a_dead_letter_that_cannot_be_written_is_reported(deps_build, demo_model_dir, closed_endpoint, samples, sink_env):
    texts, _ = samples
    env = {**aws_child_env(closed_endpoint), **sink_env, **DEAD_LETTER_ENV, "SINK_MAX_ATTEMPTS": "2", "SINK_CONNECT_TIMEOUT": "0.5"}
    event = mixed_batch(texts, 30, bad_index=7)
    sequences = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]

    with handler_for(deps_build, demo_model_dir, env, with_boto3=True) as handler:
        result = handler.invoke(event)

    assert result.failed_ids == sequences  # the undecodable one too: its entry was not written
    log = result.batch_log
    assert log["failureReasons"] == {"sink_failed": 30} and log["deadLettered"] == 0
    assert (result.emf["Failures"], result.emf["SinkFailures"], result.emf["DeadLettered"]) == (30, 30, 0)
