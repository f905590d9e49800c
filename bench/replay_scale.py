"""Replay memory against stream length: `mlayer replay` on 50,000 and 1,000,000 records.

The replay process streams its records file and keeps per-shard counters and ~3 bytes per record,
so its peak RSS should be flat while its wall time grows linearly. Each size runs as its own
`python -m mlayer.cli replay` process (its ru_maxrss is the replay's alone: the function's
execution environment is a child, measured apart), at batch 1,000 with SINK=none, CPU not
throttled (the replay's own cost is what is measured here, not the function's).

    python -m bench.replay_scale --manifest dist/manifest.json --out bench/results/replay-scale.json
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mlayer.demo.records import ingest_records

SIZES = (50_000, 1_000_000)
BATCH_SIZE = 1000
CHUNK = 50_000  # records generated per chunk (each chunk its own seed): the writer never holds 1M

_MEASURE = r"""
import json, resource, sys, time
from mlayer.cli import main
started = time.perf_counter()
code = main(sys.argv[1:])
wall = time.perf_counter() - started
print(json.dumps({"exit": code, "wall_s": wall, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), file=sys.stderr)
"""


def write_records(count: int, path: Path) -> Path:
    """`count` seed-like records (none malformed: a pure scaling run) as {"data_b64", "partitionKey"} lines, chunk by chunk."""
    with open(path, "w") as out:
        for chunk, start in enumerate(range(0, count, CHUNK)):
            records, _ = ingest_records(min(CHUNK, count - start), 0.0, seed=20250801 + chunk)
            for i, record in enumerate(records):
                out.write(json.dumps({"data_b64": base64.b64encode(record).decode(), "partitionKey": str(start + i)}) + "\n")
    return path


def measure(manifest: Path, work: Path, count: int, batch_size: int = BATCH_SIZE) -> dict[str, Any]:
    records = write_records(count, work / f"records-{count}.jsonl")
    command = [sys.executable, "-c", _MEASURE, "replay", "--records", str(records), "--batch-size", str(batch_size),
               "--manifest", str(manifest), "--sink", "none", "--no-cpu-throttle"]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    measured = json.loads(proc.stderr.strip().splitlines()[-1])
    summary = json.loads(proc.stdout)
    records.unlink()
    return {
        "records": count,
        "batch_size": batch_size,
        "exit": measured["exit"],
        "replay_peak_rss_mb": round(measured["peak_rss_mb"], 1),
        "wall_s": round(measured["wall_s"], 1),
        "process_wall_s": round(time.perf_counter() - started, 1),
        "records_per_s": round(count / measured["wall_s"]),
        "written": summary["written"],
        "reported_failed": summary["reported_failed"],
        "sent_to_on_failure": summary["sent_to_on_failure"],
        "lost": summary["lost"],
        "invocations": summary["invocations"],
    }


def measure_scale(manifest: Path, work: Path, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    rows = [measure(manifest, work, count) for count in sizes]
    return {"rows": rows, "rss_ratio": round(rows[-1]["replay_peak_rss_mb"] / rows[0]["replay_peak_rss_mb"], 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, default=Path("dist/manifest.json"))
    parser.add_argument("--work", type=Path, default=Path("dist/bench-replay-scale"))
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = measure_scale(args.manifest, args.work, tuple(int(s) for s in args.sizes.split(",")))
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
