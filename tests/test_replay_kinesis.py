"""The stream side of the replay: shards by MD5, sequence numbers, Lambda's event shape, batching, input files."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from mlayer.errors import MlayerError
from mlayer.replay import InputRecord, kinesis_event, put_records, read_records_jsonl, shard_for
from mlayer.replay.kinesis import HASH_SPACE, PAYLOAD_LIMIT_BYTES, batches
from mlayer.replay.records import normalize
from mlayer.replay.verdict import FunctionError, Invalid, Partial, Success, classify
from mlayer.runtime.report import Invocation, Report

SAMPLE = Path(__file__).parent / "data" / "kinesis-event.json"


def test_shard_is_the_md5_hash_key_range():
    # md5("a") = 0cc175b9..., md5("b") = 92eb5ffe..., md5("0") = cfcd2084..., md5("1") = c4ca4238...
    assert [shard_for(k, 2) for k in ("a", "b", "0", "1")] == [0, 1, 1, 1]
    assert [shard_for(k, 4) for k in ("a", "b", "0", "1")] == [0, 2, 3, 3]
    assert all(shard_for(k, 1) == 0 for k in ("a", "b", "0"))
    # 3 shards: equal ranges of 2^128 // 3 hash keys; md5("a") = 0x0cc1... is in the first
    assert int("0cc175b9c0f1b6a831c399e269772661", 16) < HASH_SPACE // 3


def test_keys_spread_over_shards():
    stream = put_records([InputRecord(b"x") for _ in range(4000)], shards=4, name="s", region="us-east-1")
    sizes = [len(shard) for shard in stream.shards]
    assert sum(sizes) == 4000 and all(800 < size < 1200 for size in sizes)


def test_sequence_numbers_grow_per_shard_and_look_like_kinesis():
    stream = put_records([InputRecord(b"%d" % i) for i in range(300)], shards=3, name="ingest", region="eu-west-1")
    for index, shard in enumerate(stream.shards):
        numbers = [int(r.sequence_number) for r in shard]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
        assert all(len(r.sequence_number) == 56 for r in shard)
        assert [r.sequence_number for r in shard] == sorted(r.sequence_number for r in shard)  # string order too
        assert all(r.event_id == f"shardId-{index:012d}:{r.sequence_number}" for r in shard)
    assert [r.index for r in stream.records] == list(range(300))
    assert stream.arn == "arn:aws:kinesis:eu-west-1:123456789012:stream/ingest"
    later = put_records([InputRecord(b"0")], shards=1, name="ingest", region="eu-west-1", now=4e9)
    assert int(later.shards[0][0].sequence_number) > max(int(r.sequence_number) for r in stream.records)


def _shape(value):
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return type(value).__name__


def test_event_has_lambdas_shape():
    stream = put_records([InputRecord(b'{"textblob": "\\"hi\\""}', "pk-1"), InputRecord(b"\xff\x00")], shards=1, name="mlayer-ingest", region="us-east-1")
    event = kinesis_event(stream.shards[0], stream)
    sample = json.loads(SAMPLE.read_text())
    assert _shape(event["Records"][0]) == _shape(sample["Records"][0])
    first, second = event["Records"]
    assert base64.b64decode(first["kinesis"]["data"]) == b'{"textblob": "\\"hi\\""}'
    assert base64.b64decode(second["kinesis"]["data"]) == b"\xff\x00"
    assert first["kinesis"]["partitionKey"] == "pk-1" and second["kinesis"]["partitionKey"] == "1"
    assert (first["eventSource"], first["eventName"], first["eventVersion"], first["kinesis"]["kinesisSchemaVersion"]) == (
        "aws:kinesis", "aws:kinesis:record", "1.0", "1.0")
    assert first["eventSourceARN"] == "arn:aws:kinesis:us-east-1:123456789012:stream/mlayer-ingest"
    assert first["invokeIdentityArn"].startswith("arn:aws:iam::123456789012:role/")
    assert first["eventID"] == f"shardId-000000000000:{first['kinesis']['sequenceNumber']}"


def test_batches_respect_size_and_the_6mb_payload():
    stream = put_records([InputRecord(b"r%d" % i) for i in range(25)], shards=1, name="s", region="us-east-1")
    assert [len(b) for b in batches(stream.shards[0], stream, 10)] == [10, 10, 5]
    big = put_records([InputRecord(b"x" * 900_000) for _ in range(12)], shards=1, name="s", region="us-east-1")
    cut = batches(big.shards[0], big, 100)
    assert len(cut) > 1 and sum(len(b) for b in cut) == 12
    assert all(len(json.dumps(kinesis_event(b, big))) <= PAYLOAD_LIMIT_BYTES for b in cut)


def test_records_file_formats(tmp_path: Path):
    path = tmp_path / "records.jsonl"
    path.write_text(
        json.dumps({"data_b64": base64.b64encode(b"\xff\xfe").decode()}) + "\n\n"
        + json.dumps({"data": "plain text", "partitionKey": "k1"}) + "\n"
        + json.dumps({"data": {"textblob": "x"}}) + "\n"
    )
    records = read_records_jsonl(path)
    assert records == [InputRecord(b"\xff\xfe"), InputRecord(b"plain text", "k1"), InputRecord(b'{"textblob":"x"}')]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", r"records\.jsonl:1 is not valid JSON"),
        ('{"text": "x"}', r"records\.jsonl:1 has neither or both of data_b64 and data"),
        ('{"data_b64": "%%%"}', r"records\.jsonl:1 has data_b64 that is not valid base64"),
        ('{"data": "x", "partitionKey": 5}', r"records\.jsonl:1 has a partitionKey that is not a string"),
    ],
)
def test_records_file_errors_name_the_line(tmp_path: Path, line: str, message: str):
    path = tmp_path / "records.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(MlayerError, match=message):
        read_records_jsonl(path)


def test_kinesis_limits_are_enforced():
    with pytest.raises(MlayerError, match="record 1 is 1,048,577 bytes, over Kinesis' 1 MiB record limit"):
        normalize([b"ok", b"x" * (1024 * 1024 + 1)])
    with pytest.raises(MlayerError, match="partition key of 257 characters"):
        normalize([("k" * 257, b"x")])
    assert normalize(["text", ("pk", b"b")]) == [InputRecord(b"text"), InputRecord(b"b", "pk")]


def _invocation(response=None, error=None, status="success") -> Invocation:
    report = Report("rid", 1.0, 1, 128, 10, None, status)
    return Invocation("rid", response, error, report)


def test_response_classification_follows_lambda():
    stream = put_records([InputRecord(b"%d" % i) for i in range(4)], shards=1, name="s", region="us-east-1")
    batch = stream.shards[0]
    seqs = [r.sequence_number for r in batch]
    assert isinstance(classify(_invocation({"batchItemFailures": []}), batch), Success)
    assert isinstance(classify(_invocation({"batchItemFailures": None}), batch), Success)
    assert isinstance(classify(_invocation(None), batch), Success)
    assert isinstance(classify(_invocation("done"), batch), Success)
    partial = classify(_invocation({"batchItemFailures": [{"itemIdentifier": seqs[3]}, {"itemIdentifier": seqs[1]}]}), batch)
    assert partial == Partial(1, frozenset({seqs[1], seqs[3]}))  # the LOWEST reported one is the checkpoint
    for bad in ([{"itemIdentifier": ""}], [{"itemIdentifier": None}], [{"itemId": seqs[0]}], [{"itemIdentifier": "123"}], "x"):
        assert isinstance(classify(_invocation({"batchItemFailures": bad}), batch), Invalid), bad
    failed = classify(_invocation(error={"errorType": "Sandbox.Timedout"}, status="timeout"), batch)
    assert failed == FunctionError("timeout", "Sandbox.Timedout")


def test_every_record_is_written_dead_lettered_sent_on_or_lost():
    """lost = sent - |written | dead_lettered | sent to on-failure|, by record; written counts predictions only;
    eventIDs of other streams (another run, another shard count) are ignored."""
    from mlayer.replay.kinesis import LiveStream
    from mlayer.replay.ledger import DEAD_LETTERED, Ledger
    from mlayer.replay.summary import summarize

    stream = LiveStream("s", "us-east-1", 1, now=1.7e9)
    ledger = Ledger(stream)
    put = [stream.put(InputRecord(b"%d" % i)) for i in range(5)]
    for record in put:
        ledger.put(record)
    ledger.discarded([put[2], put[0]])
    assert ledger.found_written(put[0].event_id) and ledger.found_written(put[0].event_id)  # two copies
    assert ledger.flag_event(put[1].event_id, DEAD_LETTERED)
    other = LiveStream("s", "us-east-1", 1, now=1.8e9)
    other.put(InputRecord(b"x"))
    assert not ledger.found_written(other.event_id(0, 1)) and not ledger.flag_event("shardId-000000000000:8", DEAD_LETTERED)
    summary = summarize(ledger, None, shards=1, batch_size=5, max_retries=2, bisect=True, sink="s3",
                        invalid_records="dead-letter", memory_mb=512, architecture="x86_64", cpu_throttled=True,
                        on_failure_path=None, wall_s=0.0)
    assert (summary.written, summary.dead_lettered, summary.sent_to_on_failure) == (1, 1, 2)
    assert (summary.lost, summary.lost_event_ids) == (2, [put[3].event_id, put[4].event_id])
    assert (summary.duplicates, summary.written_and_sent_to_on_failure) == (1, 1)
    unverified = summarize(ledger, "cannot read back", shards=1, batch_size=5, max_retries=2, bisect=True, sink="s3",
                           invalid_records="dead-letter", memory_mb=512, architecture="x86_64", cpu_throttled=True,
                           on_failure_path=None, wall_s=0.0)
    assert (unverified.lost, unverified.unknown, unverified.unverified) == (0, 2, "cannot read back")
