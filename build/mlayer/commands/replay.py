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

from ..inputs import input_file, int_in, output_dir, output_file, plain_text
from .invoke import add_environment_arguments, parse_env

RECORDS_FIX = 'pass --records FILE.jsonl with one JSON object per line, {"data_b64": ...} or {"data": ...}'


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("replay", help="replay a records file through the function, Kinesis-style", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", required=True, type=input_file("records file", RECORDS_FIX), metavar="FILE.jsonl",
                        help='one record per line: {"data_b64": ...} or {"data": ...}, optional "partitionKey"')
    parser.add_argument("--batch-size", required=True, type=int_in(1, 10_000), metavar="N", help="records per invocation, 1-10000")
    parser.add_argument("--shards", type=int_in(1, 64), default=1, metavar="K", help="shards in the stream (default 1): one warm environment each")
    parser.add_argument("--max-retries", type=int_in(0, 10_000), default=2, metavar="N", help="MaximumRetryAttempts (default 2)")
    parser.add_argument("--bisect", action=argparse.BooleanOptionalAction, default=True, help="BisectBatchOnFunctionError (default on)")
    parser.add_argument("--on-failure", type=output_file("--on-failure"), metavar="FILE.jsonl", help="the on-failure destination: batch metadata per discarded batch")
    parser.add_argument("--sink", choices=("none", "dir", "s3", "dynamodb"), default="none",
                        help="where predictions go and are counted (none: the response; dir: files keyed like the s3 sink)")
    parser.add_argument("--sink-dir", type=output_dir("--sink-dir"), metavar="DIR", help="for --sink dir")
    parser.add_argument("--s3-bucket", type=plain_text("--s3-bucket", "pass a bucket name", 63), metavar="NAME", help="for --sink s3 (AWS_ENDPOINT_URL may point at moto)")
    parser.add_argument("--s3-prefix", type=plain_text("--s3-prefix", "pass a key prefix", 512), default="", metavar="PREFIX", help="for --sink s3")
    parser.add_argument("--dynamodb-table", type=plain_text("--dynamodb-table", "pass a table name", 255), metavar="NAME", help="for --sink dynamodb")
    parser.add_argument("--invalid-records", choices=("report", "dead-letter"), default=None,
                        help="the handler's INVALID_RECORDS: report undecodable records for Lambda to retry, or dead-letter them "
                        "into the sink, counted as dead_lettered (default, as the handler's: dead-letter with --sink s3 or "
                        "dynamodb, report otherwise)")
    parser.add_argument("--stream-name", type=plain_text("--stream-name", "pass a stream name", 128), default="mlayer-replay", help="the stream's name in eventSourceARN")
    parser.add_argument("--logs", action="store_true", help="print the function's log lines and REPORT lines to stderr")
    add_environment_arguments(parser)
    parser.set_defaults(func=run)


def _progress(done: int, sent: int) -> None:
    if done in (1, 10) or done % 100 == 0:
        print(f"mlayer: batch {done:,} replayed ({sent:,} records read)", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from ..replay import EnvironmentSettings, SinkSpec, default_invalid_records, iter_records_jsonl, replay

    from ..manifest import load_manifest

    load_manifest(args.manifest)  # a bad manifest is refused before the replay writes anything
    sink = SinkSpec(args.sink, directory=args.sink_dir, s3_bucket=args.s3_bucket, s3_prefix=args.s3_prefix, dynamodb_table=args.dynamodb_table)
    for _ in iter_records_jsonl(args.records):  # every line checked before anything runs; then streamed again
        pass
    records = iter_records_jsonl(args.records)
    environment = parse_env(args.env)
    settings = EnvironmentSettings(
        manifest_path=args.manifest, model_key=args.model, memory_mb=args.memory, timeout_s=args.timeout,
        environment=environment, cpu_throttle=not args.no_cpu_throttle, function_name=args.function_name,
        log_stream=sys.stderr if args.logs else None,
    )
    summary = replay(
        records, batch_size=args.batch_size, shards=args.shards, env=settings, max_retries=args.max_retries,
        bisect=args.bisect, on_failure=args.on_failure, sink=sink, invalid_records=args.invalid_records or default_invalid_records(sink.kind),
        stream_name=args.stream_name, progress=_progress,
    )
    print(json.dumps(summary.to_dict(), indent=2))
    if summary.sent_to_on_failure and args.on_failure is None:
        print(f"mlayer: warning: {summary.sent_to_on_failure} records exhausted their retries; with no --on-failure "
              "destination Lambda discards them (they are counted, not lost)", file=sys.stderr)
    if summary.unverified:
        print(f"mlayer: error: {summary.unknown} records could not be verified: {summary.unverified}; the summary counts only "
              "what was read back (written), reported and sent to on-failure: check the sink, then replay again", file=sys.stderr)
        return 1
    if summary.lost:
        print(f"mlayer: error: {summary.lost} records were neither written, dead-lettered nor sent to the on-failure destination "
              f"(first: {', '.join(summary.lost_event_ids[:3])})", file=sys.stderr)
        return 1
    return 0
