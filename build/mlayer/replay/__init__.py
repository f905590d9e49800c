"""Lambda's Kinesis poller, locally: shards, sequence numbers, batches, partial failures, retries.

    from mlayer.replay import replay, EnvironmentSettings
    summary = replay(records, batch_size=100, env=EnvironmentSettings(Path("dist/manifest.json")))
"""

from .kinesis import Stream, StreamRecord, kinesis_event, put_records, shard_for
from .poller import RetryPolicy
from .records import InputRecord, iter_records_jsonl, read_records_jsonl
from .run import replay
from .settings import EnvironmentSettings
from .sinks import SINK_KINDS, SinkSpec, default_invalid_records
from .summary import ReplaySummary

__all__ = [
    "EnvironmentSettings", "InputRecord", "ReplaySummary", "RetryPolicy", "SINK_KINDS", "SinkSpec", "Stream",
    "StreamRecord", "default_invalid_records", "iter_records_jsonl", "kinesis_event", "put_records", "read_records_jsonl", "replay", "shard_for",
]  # fmt: skip
