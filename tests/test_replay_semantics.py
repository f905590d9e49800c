"""Lambda's Kinesis retry rules, replayed through a real test handler in the real worker.

The handler's records say how to fail (see KINESIS_HANDLER) and it logs every delivery to a
file, so what Lambda would have re-sent is observed from the function's side, not the poller's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlayer.replay import EnvironmentSettings, SinkSpec, replay
from mlayer.replay.kinesis import put_records
from mlayer.replay.records import normalize

from test_runtime_support import NO_PYTHON, PYTHON, kinesis_manifest, read_deliveries

pytestmark = pytest.mark.skipif(PYTHON is None, reason=NO_PYTHON)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kinesis_manifest(tmp_path_factory.mktemp("kinesis"))


@pytest.fixture
def deliveries(tmp_path: Path) -> Path:
    return tmp_path / "deliveries.log"


def settings(manifest: Path, deliveries: Path, **overrides) -> EnvironmentSettings:
    return EnvironmentSettings(manifest, memory_mb=overrides.pop("memory_mb", 256), environment={"DELIVERY_LOG": str(deliveries)}, **overrides)


def records(*specs: dict) -> list[bytes]:
    return [json.dumps(spec).encode() for spec in specs]


def on_failure_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_partial_failure_checkpoints_at_the_lowest_reported_record(manifest: Path, deliveries: Path, tmp_path: Path):
    data = records(*[{"n": i} for i in range(4)], {"report_once": True}, *[{"n": i} for i in range(5, 10)])
    summary = replay(data, batch_size=10, env=settings(manifest, deliveries), on_failure=tmp_path / "failed.jsonl")
    sent = deliveries.read_text()
    first, second = read_deliveries(deliveries)
    assert len(first) == 10
    assert second == first[4:]  # records 0-3 were done at the checkpoint and are not re-sent
    assert sent.count(first[0]) == 1 and sent.count(first[4]) == 2
    assert (summary.sent, summary.written, summary.lost, summary.sent_to_on_failure) == (10, 10, 0, 0)
    assert (summary.invocations, summary.retries, summary.reprocessed) == (2, 1, 6)
    assert summary.outcomes == {"partial": 1, "success": 1}
    assert (tmp_path / "failed.jsonl").read_text() == ""


def test_a_batch_where_every_record_fails(manifest: Path, deliveries: Path, tmp_path: Path):
    data = records(*[{"report": True, "n": i} for i in range(5)], {"n": 5}, {"n": 6})
    summary = replay(data, batch_size=5, max_retries=2, env=settings(manifest, deliveries), on_failure=tmp_path / "failed.jsonl")
    sent = read_deliveries(deliveries)
    assert [len(d) for d in sent] == [5, 5, 5, 2]  # 1 try + 2 retries of the whole batch, then the next batch
    assert (summary.written, summary.reported_failed, summary.sent_to_on_failure, summary.lost) == (2, 5, 5, 0)
    assert summary.written + summary.reported_failed == summary.sent
    (message,) = on_failure_lines(tmp_path / "failed.jsonl")
    info = message["KinesisBatchInfo"]
    assert info["batchSize"] == 5 and info["shardId"] == "shardId-000000000000"
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (sent[0][0].split(":")[1], sent[0][-1].split(":")[1])
    assert info["streamArn"] == "arn:aws:kinesis:us-east-1:123456789012:stream/mlayer-replay"
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 3
    assert "functionError" not in message["responseContext"]  # the function answered; it reported failures
    assert message["mlayer"]["eventIDs"] == sent[0] and message["mlayer"]["reportedFailed"] == sorted(sent[0])


def test_bisect_isolates_a_poison_record(manifest: Path, deliveries: Path, tmp_path: Path):
    data = records(*[{"n": i} for i in range(5)], {"poison": True}, {"n": 6}, {"n": 7})
    summary = replay(data, batch_size=8, max_retries=1, bisect=True, env=settings(manifest, deliveries), on_failure=tmp_path / "failed.jsonl")
    ids = read_deliveries(deliveries)[0]
    assert [len(d) for d in read_deliveries(deliveries)] == [8, 4, 4, 2, 1, 1, 1, 2]  # halves, in order; the poison retried once
    (message,) = on_failure_lines(tmp_path / "failed.jsonl")
    assert message["mlayer"]["eventIDs"] == [ids[5]]
    assert message["responseContext"]["functionError"] == "Unhandled"
    assert message["mlayer"]["lastError"]["errorType"] == "RuntimeError"
    assert (summary.written, summary.sent_to_on_failure, summary.lost, summary.reported_failed) == (7, 1, 0, 0)
    assert summary.bisections == 3 and summary.retries == 1 and summary.outcomes == {"error": 5, "success": 3}


def test_without_bisect_the_whole_batch_goes_to_on_failure(manifest: Path, deliveries: Path, tmp_path: Path):
    data = records(*[{"n": i} for i in range(5)], {"poison": True}, {"n": 6}, {"n": 7})
    summary = replay(data, batch_size=8, max_retries=1, bisect=False, env=settings(manifest, deliveries), on_failure=tmp_path / "failed.jsonl")
    assert [len(d) for d in read_deliveries(deliveries)] == [8, 8]
    (message,) = on_failure_lines(tmp_path / "failed.jsonl")
    assert message["KinesisBatchInfo"]["batchSize"] == 8
    assert (summary.written, summary.sent_to_on_failure, summary.lost, summary.bisections) == (0, 8, 0, 0)


@pytest.mark.parametrize("spec", [{"unknown_id": True}, {"empty_id": True}])
def test_an_unknown_or_empty_item_identifier_fails_the_whole_batch(manifest: Path, deliveries: Path, tmp_path: Path, spec: dict):
    data = records({"n": 0}, {"n": 1}, spec, {"n": 3}, {"n": 4}, {"n": 5})
    summary = replay(data, batch_size=4, max_retries=1, env=settings(manifest, deliveries), on_failure=tmp_path / "failed.jsonl")
    assert [len(d) for d in read_deliveries(deliveries)] == [4, 4, 2]  # whole batch retried (no bisect: not a function error)
    (message,) = on_failure_lines(tmp_path / "failed.jsonl")
    assert message["KinesisBatchInfo"]["batchSize"] == 4 and message["mlayer"]["reason"].startswith("invalid response")
    assert summary.outcomes == {"invalid_response": 2, "success": 1}
    # records 0, 1 and 3 were predicted (the response carried them) but the batch still counts as failed
    assert (summary.sent_to_on_failure, summary.written, summary.written_and_sent_to_on_failure, summary.lost) == (4, 2, 0, 0)


def test_out_of_memory_is_retried_and_bisected(manifest: Path, deliveries: Path, tmp_path: Path):
    data = records({"n": 0}, {"n": 1}, {"alloc_mb": 300}, {"n": 3})
    summary = replay(data, batch_size=4, max_retries=1, env=settings(manifest, deliveries, memory_mb=128), on_failure=tmp_path / "failed.jsonl")
    ids = read_deliveries(deliveries)[0]
    (message,) = on_failure_lines(tmp_path / "failed.jsonl")
    assert message["mlayer"]["eventIDs"] == [ids[2]]
    assert message["mlayer"]["lastError"]["errorType"] == "Runtime.OutOfMemory"
    assert summary.outcomes["oom"] == 4  # [0..3], [2,3], [2], [2] again
    assert summary.max_memory_mb == 128
    assert summary.cold_starts == 1 + summary.outcomes["oom"]  # every OOM costs a fresh environment
    assert (summary.written, summary.sent_to_on_failure, summary.lost) == (3, 1, 0)


def test_dir_sink_overwrites_on_checkpoint_retries_and_counts_transient_duplicates(manifest: Path, deliveries: Path, tmp_path: Path):
    # Files are keyed like the handler's s3 sink: one per run of consecutive predicted records.
    # batch 1: record 1 always fails -> runs [0] and [2,3]; the retry [1,2,3] rewrites [2,3] under
    #          the same key: overwritten, no duplicate.
    # batch 2: record 5 fails ONCE -> runs [4] and [6,7]; the retry [5,6,7] now predicts all three:
    #          one run [5,6,7] under a new key, so records 6 and 7 are stored twice.
    data = records({"n": 0}, {"report": True}, {"n": 2}, {"n": 3}, {"n": 4}, {"report_once": True}, {"n": 6}, {"n": 7})
    sink = SinkSpec("dir", directory=tmp_path / "sink")
    summary = replay(data, batch_size=4, max_retries=2, env=settings(manifest, deliveries), sink=sink)
    ids = [eid for delivery in read_deliveries(deliveries)[:1] for eid in delivery] + read_deliveries(deliveries)[3]
    files = sorted(p.name for p in (tmp_path / "sink" / "shardId-000000000000").glob("*.jsonl"))
    seq = [eid.split(":")[1] for eid in ids]
    assert files == sorted([f"{seq[0]}-{seq[0]}.jsonl", f"{seq[2]}-{seq[3]}.jsonl", f"{seq[4]}-{seq[4]}.jsonl",
                            f"{seq[6]}-{seq[7]}.jsonl", f"{seq[5]}-{seq[7]}.jsonl"])
    assert (summary.written, summary.reported_failed, summary.lost) == (7, 1, 0)
    assert (summary.duplicates, summary.duplicate_copies) == (2, 2)


def test_each_shard_gets_its_own_warm_environment(manifest: Path, deliveries: Path):
    data = [(f"key-{i}", json.dumps({"n": i}).encode()) for i in range(40)]
    summary = replay(data, batch_size=5, shards=2, env=settings(manifest, deliveries))
    stream = put_records(normalize(data), 2, "x", "us-east-1")
    expected_invocations = sum(-(-len(shard) // 5) for shard in stream.shards)
    assert all(len(shard) > 0 for shard in stream.shards)
    assert (summary.written, summary.lost, summary.cold_starts, summary.invocations) == (40, 0, 2, expected_invocations)
    shards_per_delivery = [{event_id.split(":")[0] for event_id in d} for d in read_deliveries(deliveries)]
    assert all(len(s) == 1 for s in shards_per_delivery)  # a batch never mixes shards
    assert {next(iter(s)) for s in shards_per_delivery} == {"shardId-000000000000", "shardId-000000000001"}


def test_summary_accounts_for_cost_and_durations(manifest: Path, deliveries: Path):
    summary = replay(records(*[{"n": i} for i in range(6)]), batch_size=3, env=settings(manifest, deliveries, memory_mb=1024))
    result = summary.to_dict()
    assert result["invocations"] == 2 and result["cold_starts"] == 1 and result["init_ms"] > 0
    assert result["billed_ms"] >= result["init_ms"]
    expected_cost = result["billed_ms"] / 1000 * 1.0 * 0.0000166667 + 2 * 0.2e-6
    assert result["cost_usd"] == pytest.approx(expected_cost)
    assert result["p50_ms"] <= result["p99_ms"] and result["memory_mb"] == 1024 and result["architecture"] == "x86_64"
