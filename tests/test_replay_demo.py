"""The real thing: the built demo model, the real handler, replayed with ~1% malformed records.

Uses the session's `built_manifest` (real deps layer, trained demo model, function zip) and,
for the S3 and DynamoDB sinks, the real moto server. CPU throttling is off here only to keep
the suite quick: nothing below depends on speed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlayer.replay import EnvironmentSettings, SinkSpec, replay
from mlayer.runtime.environment import ExecutionEnvironment

from test_runtime_support import NO_PYTHON, PYTHON

pytestmark = [pytest.mark.slow, pytest.mark.skipif(PYTHON is None, reason=NO_PYTHON)]

SAMPLE = Path(__file__).parent / "data" / "kinesis-event.json"
TEXTS = ["was charged twice for my invoice", "the dashboard is down again", "cannot reset my password", "really like the new design"]
MALFORMED = [b"this is not json", b"\xff\xfe\x00", b'{"text": "no textblob"}', b'{"textblob": 42}', b'{"textblob": "not JSON-encoded"}']


def ingest(count: int, every: int) -> tuple[list[bytes], set[int]]:
    """Seed-shaped records; every `every`-th one (offset 7) malformed in one of five ways."""
    bad = {i for i in range(count) if i % every == 7}
    records = [
        MALFORMED[i % len(MALFORMED)] if i in bad else json.dumps({"id": i, "textblob": json.dumps(TEXTS[i % len(TEXTS)])}).encode()
        for i in range(count)
    ]
    return records, bad


def settings(manifest: Path, **env: str) -> EnvironmentSettings:
    return EnvironmentSettings(manifest, memory_mb=512, cpu_throttle=False, environment=env)


def test_real_handler_on_the_sample_event(built_manifest: Path):
    event = json.loads(SAMPLE.read_text())
    sequences = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    with ExecutionEnvironment(built_manifest, cpu_throttle=False) as env:
        cold = env.invoke(event)
        warm = env.invoke(event)
    assert cold.ok, cold.error
    assert cold.response["batchItemFailures"] == [{"itemIdentifier": sequences[3]}]  # "this is not json 3"
    assert [p["sequenceNumber"] for p in cold.response["predictions"]] == sequences[:3]
    assert [p["label"] for p in cold.response["predictions"]] == ["billing", "outage", "feedback"]
    assert cold.report.init_ms is not None and warm.report.init_ms is None
    assert cold.report.max_memory_used_mb > 25  # numpy + the model are really loaded (the demo builds lean: ~34 MB, no scipy/sklearn)


def test_replay_with_malformed_records_loses_nothing(built_manifest: Path, tmp_path: Path):
    records, bad = ingest(500, 100)  # 5 malformed, 1%
    summary = replay(records, batch_size=10, env=settings(built_manifest), on_failure=tmp_path / "failed.jsonl")
    assert summary.sent == 500 and summary.lost == 0 and summary.duplicates == 0
    assert summary.written + summary.reported_failed == summary.sent
    assert summary.reported_failed == len(bad) == 5
    assert summary.outcomes.get("error", 0) == 0 and summary.cold_starts == 1
    messages = [json.loads(line) for line in (tmp_path / "failed.jsonl").read_text().splitlines()]
    # Each malformed record sits at position 7 of its batch of 10: the checkpoint is there, so each
    # exhausted range is that record plus the two good ones after it, and only it was reported.
    assert len(messages) == 5
    for message in messages:
        ids = message["mlayer"]["eventIDs"]
        assert message["KinesisBatchInfo"]["batchSize"] == len(ids) == 3
        assert message["mlayer"]["reportedFailed"] == ids[:1]
        assert message["requestContext"]["approximateInvokeCount"] == 3  # max_retries 2
    assert summary.sent_to_on_failure == 15 and summary.written_and_sent_to_on_failure == 10


def test_replay_into_dynamodb_counts_what_the_table_holds(built_manifest: Path, aws_env: dict[str, str]):
    import boto3

    table = "mlayer-test-predictions"
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(TableName=table, KeySchema=[{"AttributeName": "eventID", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "eventID", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    records, bad = ingest(200, 50)  # 4 malformed
    summary = replay(records, batch_size=10, env=settings(built_manifest), sink=SinkSpec("dynamodb", dynamodb_table=table),
                     invalid_records="report")
    items = dynamodb.scan(TableName=table, Select="COUNT")["Count"]
    assert items == summary.written == 200 - len(bad)
    assert (summary.lost, summary.duplicates, summary.reported_failed) == (0, 0, len(bad))


def test_replay_into_s3_overwrites_on_retries(built_manifest: Path, aws_env: dict[str, str]):
    import boto3

    bucket = "mlayer-test-sink"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    records, bad = ingest(200, 50)  # malformed at batch position 7 in 4 of the 20 batches
    summary = replay(records, batch_size=10, env=settings(built_manifest), sink=SinkSpec("s3", s3_bucket=bucket, s3_prefix="run1"),
                     invalid_records="report")
    assert (summary.lost, summary.written, summary.reported_failed) == (0, 200 - len(bad), len(bad))
    assert summary.reprocessed > 0 and summary.duplicates == 0  # re-delivered runs landed on the same keys
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="run1/")["Contents"]]
    assert len(keys) == 16 + 4 * 2  # one object per clean batch; [0..6] and [8..9] around each bad record


def test_dead_letter_into_s3_invokes_each_batch_once_and_accounts_for_every_record(built_manifest: Path, aws_env: dict[str, str], tmp_path: Path):
    import boto3

    bucket = "mlayer-test-dead-letter"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    records, bad = ingest(200, 50)  # malformed at batch position 7 in 4 of the 20 batches
    summary = replay(records, batch_size=10, env=settings(built_manifest), on_failure=tmp_path / "failed.jsonl",
                     sink=SinkSpec("s3", s3_bucket=bucket, s3_prefix="run1"), invalid_records="dead-letter")
    assert summary.invalid_records == "dead-letter"
    assert summary.invocations == 20 and summary.retries == 0 and summary.outcomes == {"success": 20}
    assert (summary.dead_lettered, summary.written, summary.reported_failed) == (len(bad), 200 - len(bad), 0)
    assert (summary.lost, summary.duplicates, summary.reprocessed) == (0, 0, 0)
    assert (summary.sent_to_on_failure, summary.on_failure_batches) == (0, 0)
    assert (tmp_path / "failed.jsonl").read_text() == ""
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="run1/")["Contents"]]
    assert len([k for k in keys if k.startswith("run1/_invalid/")]) == len(bad)  # one single-record run each


def test_dead_letter_into_dynamodb_counts_status_invalid_apart(built_manifest: Path, aws_env: dict[str, str]):
    import boto3

    table = "mlayer-test-dead-letter"
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(TableName=table, KeySchema=[{"AttributeName": "eventID", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "eventID", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    records, bad = ingest(200, 50)
    summary = replay(records, batch_size=10, env=settings(built_manifest), sink=SinkSpec("dynamodb", dynamodb_table=table),
                     invalid_records="dead-letter")
    assert dynamodb.scan(TableName=table, Select="COUNT")["Count"] == 200
    assert (summary.invocations, summary.dead_lettered, summary.written) == (20, len(bad), 200 - len(bad))
    assert (summary.lost, summary.duplicates, summary.sent_to_on_failure, summary.reported_failed) == (0, 0, 0, 0)


@pytest.mark.parametrize("sink", ["none", "dir"])
def test_dead_letter_needs_a_sink_that_holds_entries(built_manifest: Path, tmp_path: Path, sink: str):
    from mlayer.errors import MlayerError

    spec = SinkSpec(sink, directory=tmp_path / "out")
    with pytest.raises(MlayerError, match="--invalid-records dead-letter needs --sink s3 or dynamodb"):
        replay([b"{}"], batch_size=1, env=settings(built_manifest), sink=spec, invalid_records="dead-letter")


def test_a_sink_that_dies_mid_replay_still_gives_the_accounting(built_manifest: Path, aws_env: dict[str, str], monkeypatch):
    """Issue 10: moto killed mid-run used to end the replay with "cannot read back s3://..." and no
    summary. Now it finishes, counts what it can, and says what it could not verify."""
    import boto3
    from moto.server import ThreadedMotoServer

    from conftest import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    boto3.client("s3").create_bucket(Bucket="mlayer-dying-sink")
    stopped = []

    def kill_after_three_batches(done: int, total: int) -> None:
        if done == 3 and not stopped:
            server.stop()
            stopped.append(done)

    records, _ = ingest(100, 1000)  # all good
    env = EnvironmentSettings(built_manifest, memory_mb=512, cpu_throttle=False,
                              environment={"AWS_ENDPOINT_URL": endpoint, "SINK_MAX_ATTEMPTS": "1", "SINK_CONNECT_TIMEOUT": "0.2"})
    summary = replay(records, batch_size=10, env=env, max_retries=0, sink=SinkSpec("s3", s3_bucket="mlayer-dying-sink"),
                     progress=kill_after_three_batches)

    assert stopped == [3]
    assert summary.sent == 100 and summary.lost == 0
    assert (summary.sent_to_on_failure, summary.reported_failed) == (70, 70)  # every record after the sink died
    assert (summary.written, summary.unknown) == (0, 30)  # written before it died, but nothing can be read back
    assert summary.unverified and "cannot read back s3://mlayer-dying-sink" in summary.unverified


def test_a_deeply_nested_record_costs_its_retries_not_a_bisection(built_manifest: Path, tmp_path: Path):
    """Issue 10: a ~200 KB record of nested brackets crashed the handler (RecursionError), so the
    replay bisected its batch: 11 invocations. Now it is that record's failure: 1 + 2 retries."""
    records, bad = ingest(10, 1000)
    assert bad == {7}  # "this is not json": reported with it
    records[5] = b"[" * 100_000 + b"]" * 100_000
    summary = replay(records, batch_size=10, max_retries=2, env=settings(built_manifest), on_failure=tmp_path / "failed.jsonl")
    assert (summary.invocations, summary.outcomes, summary.bisections) == (3, {"partial": 3}, 0)
    assert (summary.reported_failed, summary.sent_to_on_failure, summary.lost) == (2, 5, 0)
    assert summary.written == 8  # 0-4, and 6, 8, 9, predicted on every attempt
