"""`mlayer replay`: replay a records file through the function as Lambda's Kinesis poller would.

Records are put on a local stream (shard by MD5 of the partition key, per-shard sequence
numbers), read in batches, and every failure is handled as an event source mapping with
ReportBatchItemFailures, MaximumRetryAttempts, BisectBatchOnFunctionError and an on-failure
destination would. stdout: the summary JSON (every record accounted for, durations, billed
ms, cost). Exit status 1 if any record was lost.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .invoke import add_environment_arguments, parse_env


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("replay", help="replay a records file through the function, Kinesis-style", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", required=True, type=Path, metavar="FILE.jsonl",
                        help='one record per line: {"data_b64": ...} or {"data": ...}, optional "partitionKey"')
    parser.add_argument("--batch-size", required=True, type=int, metavar="N", help="records per invocation, 1-10000")
    parser.add_argument("--shards", type=int, default=1, metavar="K", help="shards in the stream (default 1): one warm environment each")
    parser.add_argument("--max-retries", type=int, default=2, metavar="N", help="MaximumRetryAttempts (default 2)")
    parser.add_argument("--bisect", action=argparse.BooleanOptionalAction, default=True, help="BisectBatchOnFunctionError (default on)")
    parser.add_argument("--on-failure", type=Path, metavar="FILE.jsonl", help="the on-failure destination: batch metadata per discarded batch")
    parser.add_argument("--sink", choices=("none", "dir", "s3", "dynamodb"), default="none",
                        help="where predictions go and are counted (none: the response; dir: files keyed like the s3 sink)")
    parser.add_argument("--sink-dir", type=Path, metavar="DIR", help="for --sink dir")
    parser.add_argument("--s3-bucket", metavar="NAME", help="for --sink s3 (AWS_ENDPOINT_URL may point at moto)")
    parser.add_argument("--s3-prefix", default="", metavar="PREFIX", help="for --sink s3")
    parser.add_argument("--dynamodb-table", metavar="NAME", help="for --sink dynamodb")
    parser.add_argument("--invalid-records", choices=("report", "dead-letter"), default="report",
                        help="the handler's INVALID_RECORDS: report undecodable records for Lambda to retry (default), or "
                        "dead-letter them into the sink (--sink s3 or dynamodb), counted as dead_lettered")
    parser.add_argument("--stream-name", default="mlayer-replay", help="the stream's name in eventSourceARN")
    parser.add_argument("--logs", action="store_true", help="print the function's log lines and REPORT lines to stderr")
    add_environment_arguments(parser)
    parser.set_defaults(func=run)


def _progress(done: int, total: int) -> None:
    step = max(1, total // 10)
    if done == total or done % step == 0:
        print(f"mlayer: replayed {done:,}/{total:,} batches", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from ..replay import EnvironmentSettings, SinkSpec, read_records_jsonl, replay

    sink = SinkSpec(args.sink, directory=args.sink_dir, s3_bucket=args.s3_bucket, s3_prefix=args.s3_prefix, dynamodb_table=args.dynamodb_table)
    records = read_records_jsonl(args.records)
    settings = EnvironmentSettings(
        manifest_path=args.manifest, model_key=args.model, memory_mb=args.memory, timeout_s=args.timeout,
        environment=parse_env(args.env), cpu_throttle=not args.no_cpu_throttle, function_name=args.function_name,
        log_stream=sys.stderr if args.logs else None,
    )
    summary = replay(
        records, batch_size=args.batch_size, shards=args.shards, env=settings, max_retries=args.max_retries,
        bisect=args.bisect, on_failure=args.on_failure, sink=sink, invalid_records=args.invalid_records,
        stream_name=args.stream_name, progress=_progress,
    )
    print(json.dumps(summary.to_dict(), indent=2))
    if summary.sent_to_on_failure and args.on_failure is None:
        print(f"mlayer: warning: {summary.sent_to_on_failure} records exhausted their retries; with no --on-failure "
              "destination Lambda discards them (they are counted, not lost)", file=sys.stderr)
    if summary.lost:
        print(f"mlayer: error: {summary.lost} records were neither written, dead-lettered nor sent to the on-failure destination "
              f"(first: {', '.join(summary.lost_event_ids[:3])})", file=sys.stderr)
        return 1
    return 0
