"""bench.targets: the head-to-head build target reads the same run's medians, and says n/a when not run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `pytest` run without `python -m`
    sys.path.insert(0, str(REPO))

from bench import head_to_head, targets  # noqa: E402


def verdict(results: dict) -> tuple[str, float | None]:
    row = next(t for t in targets.evaluate(results) if t.key == "deps_cold_build_vs_package_py")
    return row.verdict, row.measured


@pytest.mark.parametrize(("ours", "theirs", "expected"), [(14.7, 19.2, "PASS"), (16.4, 16.4, "PASS"), (17.3, 16.4, "MISS")])
def test_the_cold_build_target_compares_mlayer_with_package_py(ours, theirs, expected):
    builders = {head_to_head.MLAYER: {"cold_s": ours}, head_to_head.PACKAGE_PY: {"cold_s": theirs}}
    results = {"builds": {"head_to_head": {"builders": builders}}}  # where bench.suite puts it
    assert verdict(results) == (expected, pytest.approx(ours / theirs))


def test_a_skipped_head_to_head_is_not_a_pass():
    assert verdict({"builds": {"head_to_head": {"skipped": head_to_head.NOT_RUN}}}) == ("n/a", None)


def lean_section(init_256: float, numpy_256: float, lean_ratio: float, floor_ms: float, around_ms: float) -> dict:
    """The fields bench.lean.targets reads, as bench.lean.measure writes them."""
    parts = {"around_handler": around_ms, "decode": 1.0, "predict": floor_ms, "duration": floor_ms + around_ms + 1.0}
    return {
        "memories_mb": [1769, 256],
        "init_lean_over_sklearn": {"1769": 0.12},
        "cold": {"lean": {"256": {"init_ms": {"p50": init_256}}}},
        "init_floor": {"256": {"numpy": {"p50": numpy_256}, "interpreter": {"p50": 50.0}}},
        "sizes": {"lean": {"unzipped_bytes": 46_900_000}},
        "cost_at_cheapest_memory": {"lean": {"batches": {"1000": {"usd": 0.0001}}}},
        "warm": {
            "lean_over_sklearn": {"100": 0.8},
            "lean_over_floor_paired_p50": {"100": lean_ratio, "1000": lean_ratio},
            "sklearn_over_floor_p50": {"100": 1.7, "1000": 2.1},
            "floor_p50_ms": {"100": floor_ms, "1000": floor_ms},
            "sklearn_floor_p50_ms": {"100": floor_ms, "1000": floor_ms},
            "breakdown_ms_p50": {"lean": {"100": parts, "1000": parts}, "sklearn": {"100": parts, "1000": parts}},
        },
    }


def test_lean_targets_say_what_is_least_reachable_beside_each_verdict():
    from bench import lean

    rows = {t["key"]: t for t in lean.targets(lean_section(init_256=1500.0, numpy_256=1046.0, lean_ratio=2.2, floor_ms=10.0, around_ms=8.0), None)}
    assert rows["lean_init_256mb_ms"]["verdict"] == "MISS" and rows["lean_init_256mb_ms"]["least"] == 1046.0
    assert rows["lean_b1000_vs_floor"]["verdict"] == "MISS" and rows["lean_b1000_vs_floor"]["least"] == pytest.approx(1.8)
    assert rows["sklearn_b100_vs_floor"]["least"] == pytest.approx(1.8)
    assert rows["lean_deps_unzipped_mb"]["verdict"] == "PASS" and rows["lean_deps_unzipped_mb"]["least"] is None
