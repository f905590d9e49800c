"""`replay()`: put records on a local Kinesis stream and drive the function as Lambda's poller would.

Shards: one execution environment per shard, as Lambda runs one concurrent invocation per shard
with ParallelizationFactor 1; each is created on the shard's first batch (its own cold start)
and kept warm. A shard's batch is processed as soon as it is full, in this one process, so
timings are not disturbed by shards competing for this machine's 2 cores; Lambda would run them
at the same time, which changes wall time but not durations, billing or outcomes.

Memory: the records are streamed (an iterable, e.g. a file read line by line); the replay keeps
per-shard counters, the batches being built and ~3 bytes per record in the ledger, so its peak
memory stays flat while the wall time grows linearly with the records (see `make bench`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from ..errors import MlayerError
from ..runtime.lambda_env import default_region
from .destination import OnFailureDestination
from .kinesis import LiveStream, ShardBatcher, StreamRecord
from .ledger import Ledger
from .poller import RetryPolicy, ShardPoller
from .records import InputRecord, iter_normalized
from .settings import EnvironmentFactory, EnvironmentSettings, as_factory
from .sinks import SinkReader, SinkSpec, check_invalid_records, default_invalid_records
from .summary import ReplaySummary, summarize

MAX_BATCH_SIZE = 10_000  # Kinesis event source mapping
MAX_SHARDS = 64  # a local replay, not a load test
MAX_RETRIES = 10_000


def _check(batch_size: int, shards: int, max_retries: int) -> None:
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise MlayerError(f"batch size {batch_size} is outside Kinesis' 1 to {MAX_BATCH_SIZE:,}: pass --batch-size in that range")
    if not 1 <= shards <= MAX_SHARDS:
        raise MlayerError(f"{shards} shards: pass --shards from 1 to {MAX_SHARDS}")
    if not 0 <= max_retries <= MAX_RETRIES:
        raise MlayerError(
            f"max retries {max_retries}: pass 0 to {MAX_RETRIES:,} (Lambda's -1 retries until records expire, which a replay cannot model)"
        )


def replay(
    records: Iterable[bytes | str | tuple[str, bytes] | InputRecord],
    *,
    batch_size: int,
    shards: int = 1,
    env: EnvironmentSettings | EnvironmentFactory,
    max_retries: int = 2,
    bisect: bool = True,
    on_failure: Path | None = None,
    sink: SinkSpec | str = "none",
    invalid_records: str | None = None,
    stream_name: str = "mlayer-replay",
    region: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReplaySummary:
    """Replay records through the function; every record ends up written, dead-lettered, sent on, or counted lost.

    invalid_records sets the handler's INVALID_RECORDS (report, or dead-letter with an s3 or
    dynamodb sink; None: the handler's default, dead-letter where the sink can hold entries); like the sink's settings it reaches the handler only through EnvironmentSettings.
    """
    _check(batch_size, shards, max_retries)
    spec = sink if isinstance(sink, SinkSpec) else SinkSpec(sink)
    invalid_records = invalid_records or default_invalid_records(spec.kind)
    check_invalid_records(invalid_records, spec.kind)
    stream = LiveStream(stream_name, region or default_region(os.environ), shards)
    factory = as_factory(env, {**spec.handler_env(), "INVALID_RECORDS": invalid_records})
    ledger = Ledger(stream)
    reader = SinkReader(spec, ledger)
    destination = OnFailureDestination(on_failure)
    pollers = [ShardPoller(stream, factory, RetryPolicy(max_retries, bisect), ledger, reader, destination) for _ in range(shards)]
    batchers = [ShardBatcher(stream, batch_size) for _ in range(shards)]
    started = time.monotonic()
    done = 0

    def process(shard: int, batch: list[StreamRecord] | None) -> None:
        nonlocal done
        if batch is not None:
            pollers[shard].process(batch)
            done += 1
            if progress is not None:
                progress(done, stream.sent)

    try:
        # One record at a time: it is put on its shard, and a shard whose batch is full is
        # processed at once, so only the batches being built are ever held.
        for record in iter_normalized(records):
            put = stream.put(record)
            ledger.put(put)
            process(put.shard_index, batchers[put.shard_index].add(put))
        if not stream.sent:
            raise MlayerError("no records to replay: pass at least one record")
        for shard, batcher in enumerate(batchers):
            process(shard, batcher.flush())
        first_env = next((p.env for p in pollers if p.env is not None), None)
    finally:
        for poller in pollers:
            poller.close()
        destination.close()
    assert first_env is not None
    return summarize(
        ledger,
        reader.read(),
        shards=shards,
        batch_size=batch_size,
        max_retries=max_retries,
        bisect=bisect,
        sink=spec.kind,
        invalid_records=invalid_records,
        memory_mb=first_env.memory_mb,
        architecture=first_env.architecture,
        cpu_throttled=first_env.cpu_throttled,
        on_failure_path=str(on_failure) if on_failure is not None else None,
        wall_s=time.monotonic() - started,
    )
