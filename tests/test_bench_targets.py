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
