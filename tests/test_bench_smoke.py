"""The benchmark suite runs end to end on tiny sizes and writes well-formed results.

Nothing here checks a timing: this only keeps `make bench` from rotting (the real numbers come
from `make bench` on a quiet machine). Uses the session's real layers, model and manifest.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `pytest` run without `python -m`
    sys.path.insert(0, str(REPO))

from bench.__main__ import config_from, parse_args  # noqa: E402
from bench.config import BenchConfig  # noqa: E402
from bench.output import write_results  # noqa: E402
from bench.suite import run_suite  # noqa: E402

SECTIONS = ("machine", "config", "variants", "cold", "warm", "floor", "ratios", "ingest", "sizes", "cost", "memory", "builds", "targets")
TARGET_KEYS = {
    "warm_b100_vs_floor", "warm_b100_ms", "cold_init_ms", "cold_init_vs_nopyc", "seed_speedup_b100", "seed_scale_speedup_b100", "replay_wall_s",
    "deps_unzipped_mb", "total_unzipped_mb", "cached_rebuild_s", "model_only_rebuild", "deps_cold_build_vs_package_py", "cost_b100_usd",
}  # fmt: skip


def test_cli_maps_flags_to_a_config(tmp_path: Path) -> None:
    quick = config_from(parse_args(["--quick", "--out", str(tmp_path), "--records", "300", "--repeats", "4"]))
    assert quick.quick and quick.out_dir == tmp_path and quick.records == 300 and quick.repeats == 4
    full = config_from(parse_args([]))
    assert not full.quick and full.records == 50_000 and full.batch_sizes == (1, 10, 100, 1000)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_quick_bench_writes_json_markdown_and_png(tmp_path: Path, deps_build, demo_artifacts: Path) -> None:
    config = BenchConfig.quick_preset(out_dir=tmp_path / "results")
    # no manifest handed in: the session's is lean, the bench builds its scikit-learn "ours" (and the lean one) itself
    results = run_suite(config, deps=deps_build, artifacts_root=demo_artifacts, work_dir=tmp_path / "work")
    paths = write_results(results, config.out_dir)

    data = json.loads(paths["json"].read_text())  # written with allow_nan=False: strict JSON
    assert data["quick"] is True
    for section in SECTIONS:
        assert section in data, section
    assert set(data["variants"]) == {"ours", "ours_nopyc", "seed"}
    for key in data["variants"]:
        assert data["cold"]["full_vcpu"][key]["init_ms"]["p50"] > 0
    for size in ("1", "10", "100", "1000"):
        batch = data["warm"]["full_vcpu"]["ours"]["batches"][size]
        assert batch["duration_ms"]["n"] == config.repeats
        assert batch["duration_ms"]["p50"] > 0 and batch["duration_ms"]["p99"] >= batch["duration_ms"]["p50"]
        assert data["floor"]["batches"][size]["p50"] > 0
    assert data["ingest"]["summary"]["written"] == config.records and data["ingest"]["summary"]["lost"] == 0
    assert set(data["cost"]["batches"]) == {"1", "10", "100"}
    assert all(row["ours_usd"] > 0 for row in data["cost"]["batches"].values())
    assert data["memory"]["smallest_mb"] is not None
    assert data["builds"]["model_only"]["only_model_rebuilt"] is True
    assert "head_to_head" in data["builds"]  # where targets.evaluate (and tests/test_bench_targets.py) read it
    assert {t["key"] for t in data["targets"]} == TARGET_KEYS
    assert all(t["verdict"] in ("PASS", "MISS", "n/a") for t in data["targets"])

    markdown = paths["md"].read_text()
    assert markdown.startswith("# mlayer benchmark")
    for t in data["targets"]:
        assert t["what"] in markdown
    for heading in ("## Targets", "## 1. Cold start", "## 2. Warm", "## 3. Ingest", "## 4. Artifact sizes", "## 5. Build", "## 6. Cost", "## 7. Memory"):
        assert heading in markdown
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lean = data["lean"]
    assert lean["proof"]["exact"] is True
    assert all(lean["cold"][kind]["1769"]["init_ms"]["p50"] > 0 for kind in ("lean", "sklearn"))
    assert set(lean["warm"]["p50_ms"]["lean"]) == {"1", "100", "1000"} and lean["sizes"]["lean"]["unzipped_bytes"] > 0
    assert lean["cost_at_cheapest_memory"]["lean"]["batches"]["1000"]["usd"] > 0
    assert {t["key"] for t in data["lean_targets"]} >= {"lean_init_vs_sklearn", "lean_deps_unzipped_mb", "lean_cost_b1000_usd", "lean_init_256mb_ms"}
    least = {t["key"]: t["least"] for t in data["lean_targets"]}
    assert least["lean_b1000_vs_floor"] > 1 and least["sklearn_b1000_vs_floor"] > 1  # the runtime's JSON is never free
    assert least["lean_b1000_vs_floor"] < next(t["measured"] for t in data["lean_targets"] if t["key"] == "lean_b1000_vs_floor")
    floor = lean["init_floor"]["1769"]  # the INIT floor really imports numpy: it takes longer than the bare interpreter
    assert floor["numpy"]["p50"] > floor["interpreter"]["p50"] > 0 and floor["numpy"]["n"] == floor["interpreter"]["n"] > 0
    assert "floor: interpreter + import numpy" in markdown and "| least reachable here |" in markdown
    assert "## Lean runtime (numpy only) vs scikit-learn" in markdown
