"""`python -m bench [--quick] [--out DIR] [--records N] [--repeats N]` (what `make bench` runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import BenchConfig
from .output import write_results
from .report import render


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the suite runs (the smoke test), measures nothing")
    parser.add_argument("--out", type=Path, default=None, help="results directory (default bench/results)")
    parser.add_argument("--records", type=int, default=None, help="records in the ingest replay (default 50,000)")
    parser.add_argument("--repeats", type=int, default=None, help="warm rounds per batch size, each invoking ours, seed-style and the floor (default 200)")
    parser.add_argument("--memory", type=int, default=None, help="configured memory in MB (default: the Terraform memory_size default)")
    parser.add_argument("--keep-work-dir", action="store_true", help="keep the temporary build/dist directory")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> BenchConfig:
    overrides: dict[str, object] = {}
    if args.out is not None:
        overrides["out_dir"] = args.out
    if args.records is not None:
        overrides["records"] = args.records
    if args.repeats is not None:
        overrides["repeats"] = args.repeats
    if args.memory is not None:
        overrides["configured_memory_mb"] = args.memory
    overrides["keep_work_dir"] = args.keep_work_dir
    return BenchConfig.quick_preset(**overrides) if args.quick else BenchConfig(**overrides)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    from .suite import run_suite

    config = config_from(parse_args(argv))
    results = run_suite(config)
    paths = write_results(results, config.out_dir)
    print(render(results))
    print(f"bench: wrote {', '.join(str(p) for p in paths.values())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
