"""`python -m bench.lean_run`: only the lean-vs-scikit-learn section of `make bench` (bench.lean), for a quick look.

    python -m bench.lean_run [--repeats 50] [--cold-repeats 3] [--out bench/results]

Writes <out>/<date>-lean.json and prints the section's tables, both kinds' handler / floor ratios
included (scikit-learn's from its own floor probe, timed in the same rounds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
from pathlib import Path

from . import lean
from .config import BenchConfig
from .records import ingest as make_records
from .workspace import prepare


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lean_run", description=__doc__)
    parser.add_argument("--repeats", type=int, default=50, help="warm rounds per batch size (default 50)")
    parser.add_argument("--cold-repeats", type=int, default=3, help="fresh environments per kind and memory (default 3)")
    parser.add_argument("--out", type=Path, default=BenchConfig().out_dir)
    args = parser.parse_args(argv)
    config = BenchConfig(repeats=args.repeats, cold_repeats=args.cold_repeats)
    with tempfile.TemporaryDirectory(prefix="mlayer-bench-lean-") as work:
        space = prepare(config, Path(work))
        records = make_records(2_000)
        results = {"lean": lean.measure(config, space, Path(work) / "lean", records, config.full_vcpu_memory_mb)}
    results["lean_targets"] = lean.targets(results["lean"], None)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{dt.date.today().isoformat()}-lean.json"
    path.write_text(json.dumps(results, indent=2, allow_nan=False) + "\n")
    print("\n".join(lean.section(results)))
    print(f"bench: wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
