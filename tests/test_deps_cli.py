"""`mlayer build deps` through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlayer.cli import main

SMALL = "joblib==1.6.0\nthreadpoolctl==3.8.0\ncloudpickle==3.1.3\n"


def test_build_deps_json_then_cached_text(fresh_cache, tmp_path, capsys):
    requirements = tmp_path / "req.txt"
    requirements.write_text(SMALL)
    dist = tmp_path / "dist"
    assert main(["build", "deps", "--requirements", str(requirements), "--dist", str(dist), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert Path(result["zip"]).parent == dist and Path(result["zip"]).is_file()
    assert result["packages"] == {"cloudpickle": "3.1.3", "joblib": "1.6.0", "threadpoolctl": "3.8.0"}
    assert result["cache_hit"] is False and result["pip_ran"] is True and result["bytecode"] is True
    assert result["requires_s3_upload"] is False

    assert main(["build", "deps", "--requirements", str(requirements), "--dist", str(dist)]) == 0
    text = capsys.readouterr().out
    assert result["sha256"] in text
    assert "cache     hit: no pip work" in text
    assert "budget" in text and "through S3" not in text


def test_no_slim_no_bytecode_flags(fresh_cache, tmp_path, capsys):
    requirements = tmp_path / "req.txt"
    requirements.write_text(SMALL)
    argv = ["build", "deps", "--requirements", str(requirements), "--dist", str(tmp_path / "dist"), "--json"]
    assert main(argv + ["--no-slim", "--no-bytecode"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["slim"] is False and result["bytecode"] is False and result["sizes"]["pyc_bytes"] == 0


def test_errors_are_one_line_with_exit_2(fresh_cache, tmp_path):
    requirements = tmp_path / "req.txt"
    requirements.write_text("joblib>=1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "mlayer.cli", "build", "deps", "--requirements", str(requirements), "--dist", str(tmp_path / "dist")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"mlayer: error: {requirements}:1: joblib is not pinned (>=1): pin it exactly")
    assert not (tmp_path / "dist").exists()


def test_default_requirements_follow_the_runtime(fresh_cache, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["build", "deps", "--runtime", "python3.13"]) == 2
    assert "requirements file requirements/python3.13.txt does not exist" in capsys.readouterr().err
