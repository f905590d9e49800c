"""`mlayer redrive`: put dead-lettered records (the handler's INVALID_RECORDS=dead-letter entries)
back into a Kinesis stream after a fix. stdout: a JSON summary; stderr: one line.
Uses boto3's usual configuration (AWS_ENDPOINT_URL may point at moto)."""

from __future__ import annotations

import argparse
import sys

from ..inputs import input_dir, int_in, plain_text


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("redrive", help="send dead-lettered records back into a Kinesis stream", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stream", required=True, type=plain_text("--stream", "pass a Kinesis stream name", 128), metavar="NAME",
                        help="the stream to put the records into (usually the function's input stream)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--s3-bucket", type=plain_text("--s3-bucket", "pass a bucket name", 63), metavar="NAME",
                        help="the s3 sink's bucket: entries under PREFIX/_invalid/")
    source.add_argument("--dynamodb-table", type=plain_text("--dynamodb-table", "pass a table name", 255), metavar="NAME",
                        help="the dynamodb sink's table: items with status = invalid")
    source.add_argument("--from-dir", type=input_dir("--from-dir", "pass a directory holding the _invalid/*.jsonl files"), metavar="DIR",
                        help="*.jsonl dead-letter files on disk (e.g. a downloaded _invalid/ folder)")
    parser.add_argument("--s3-prefix", default="", type=plain_text("--s3-prefix", "pass the sink's key prefix", 512), metavar="PREFIX",
                        help="the s3 sink's prefix (its SINK_S3_PREFIX)")
    parser.add_argument("--limit", type=int_in(1, 100_000_000), metavar="N", help="re-drive at most N entries")
    parser.add_argument("--dry-run", action="store_true", help="count what would be re-driven, send nothing")
    parser.add_argument("--delete", action="store_true",
                        help="remove the entries once everything they hold is in the stream (s3 objects, dynamodb items)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import redrive as lib

    if args.s3_bucket:
        entries, delete = lib.s3_entries(args.s3_bucket, args.s3_prefix), lib.delete_s3(args.s3_bucket)
    elif args.dynamodb_table:
        entries, delete = lib.dynamodb_entries(args.dynamodb_table), lib.delete_dynamodb(args.dynamodb_table)
    else:
        entries, delete = lib.dir_entries(args.from_dir), None
    summary = lib.redrive(entries, args.stream, limit=args.limit, dry_run=args.dry_run, delete=delete if args.delete else None)
    print(lib.as_json(summary))
    print(lib.summary_line(summary, args.stream, args.dry_run), file=sys.stderr)
    return 1 if summary.failed else 0
