"""bench.head_to_head: says why when package.py is not given; runs both builders when it is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import head_to_head

TINY_PINS = "six==1.17.0\n"


def test_without_package_py_the_table_says_how_to_run_it(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(head_to_head.PACKAGE_PY_ENV, raising=False)
    result = head_to_head.compare(tmp_path / "requirements.txt", "python3.12", tmp_path)
    assert result == {"skipped": "not run: set MLAYER_BENCH_PACKAGE_PY"}
    assert "not run: set MLAYER_BENCH_PACKAGE_PY" in "\n".join(head_to_head.table(result))
    assert list(tmp_path.iterdir()) == []  # nothing built


@pytest.mark.skipif(not os.environ.get(head_to_head.PACKAGE_PY_ENV), reason="package.py is third-party and not in this repo: set MLAYER_BENCH_PACKAGE_PY to a copy")
def test_both_builders_run_on_the_same_tiny_pins(tmp_path: Path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(TINY_PINS)
    result = head_to_head.compare(requirements, "python3.12", tmp_path / "work", cold_builds=2, rebuilds=1, import_repeats=1)
    assert result["modules"] == ["six"]
    for name, builder in result["builders"].items():
        assert builder["reproducible"] is True, name
        assert builder["unzipped_mib"] > 0
    assert all(steps.get("install") for steps in result["builders"]["mlayer"]["cold_steps_s"])  # cold means a real build
    assert "| mlayer |" in "\n".join(head_to_head.table(result))
