"""`mlayer demo`: what `make demo` runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..inputs import int_in, int_list_in, output_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="train the demo model, build everything, replay a seed-like 50,000-record ingest, report against the seed",
        description="Train the demo model if absent, build all artifacts (cached), replay 50,000 seed-like records (1%% malformed) "
        "at batch sizes 1, 10 and 100 through the local Lambda runtime into an S3 sink on a local moto server, "
        "and write dist/report/demo.md and demo.png.",
    )
    parser.add_argument("--records", type=int_in(1, 10_000_000), default=50_000, help="records in the ingest (default 50,000)")
    parser.add_argument("--batch-sizes", type=int_list_in(1, 10_000), default=(1, 10, 100), help="comma-separated, each 1-10000 (default 1,10,100)")
    parser.add_argument("--memory", type=int_in(128, 10240), default=1024, help="function memory in MB, 128-10240 (default 1024, the module's default)")
    parser.add_argument("--full", action="store_true", help="replay every record at batch 1 too (slow: one invocation per record)")
    parser.add_argument("--sink", choices=("s3", "dir"), default="s3", help="s3 on a local moto server (default) or files under dist/demo")
    parser.add_argument("--invalid-records", choices=("report", "dead-letter"), default=None,
                        help="replay with only this INVALID_RECORDS (writes dist/report/demo-MODE.md); by default both, "
                        "dead-letter (the handler's default with a sink) and report, side by side in dist/report/demo.md")
    parser.add_argument("--dist", type=output_dir("--dist"), default=Path("dist"))
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..demo.run import DemoSettings, run_demo

    run_demo(DemoSettings(
        dist=args.dist, records=args.records, batch_sizes=args.batch_sizes, memory_mb=args.memory,
        batch1_sample=None if args.full else 5_000, sink=args.sink, invalid_records=args.invalid_records,
    ))
    return 0
