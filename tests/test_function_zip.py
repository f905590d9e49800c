"""The function zip's .pyc: one per module, for the runtime's Python, deterministic, and what the handler's import loads."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from mlayer.errors import MlayerError
from mlayer.function_zip import LAMBDA_TASK_DIR, build_function_zip
from mlayer.isolated import isolated_command
from mlayer.zipper import extract_zip

from test_deps_bytecode import read_pyc, target_python

REPO = Path(__file__).resolve().parent.parent
FUNCTION_DIR = REPO / "function"


def test_every_module_ships_its_pyc_for_the_target_with_task_dir_paths(tmp_path: Path) -> None:
    python = target_python()
    built = build_function_zip(FUNCTION_DIR, tmp_path, python)
    names = set(zipfile.ZipFile(built.zip_path).namelist())
    sources = sorted(p.name for p in FUNCTION_DIR.glob("*.py"))
    assert {f"__pycache__/{Path(s).stem}.cpython-312.pyc" for s in sources} | set(sources) == names == set(built.files)
    extract_zip(built.zip_path, tmp_path / "task")
    header = read_pyc(python, tmp_path / "task" / "__pycache__" / "lambda_function.cpython-312.pyc")
    assert header["magic_ok"]
    assert header["flags"] == 0b01  # unchecked-hash: the zip resets mtimes
    assert header["filename"] == f"{LAMBDA_TASK_DIR}/lambda_function.py"


def test_two_builds_from_different_places_are_byte_identical(tmp_path: Path) -> None:
    python = target_python()
    digests = []
    for where in ("a", "deeper/b"):
        copy = tmp_path / where / "function"
        copy.mkdir(parents=True)
        for source in FUNCTION_DIR.glob("*.py"):
            (copy / source.name).write_bytes(source.read_bytes())
        digests.append(build_function_zip(copy, tmp_path / where, python).sha256)
    assert digests[0] == digests[1]


def test_without_an_interpreter_only_sources_ship(tmp_path: Path) -> None:
    built = build_function_zip(FUNCTION_DIR, tmp_path)
    assert built.files and all(name.endswith(".py") for name in built.files)


def test_a_handler_that_does_not_compile_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    python = target_python()
    source = tmp_path / "function"
    source.mkdir()
    (source / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return {}\n")
    (source / "broken.py").write_text("print 'hello'\n")
    dist = tmp_path / "dist"
    dist.mkdir()
    with pytest.raises(MlayerError, match=r"compiling the handler with .* failed: .*broken\.py"):
        build_function_zip(source, dist, python)
    assert list(dist.iterdir()) == []


def test_the_handlers_import_loads_the_pyc_instead_of_compiling(tmp_path: Path) -> None:
    """`python -v` names where each code object came from: every handler module from its .pyc,
    in a read-only copy with fresh mtimes (as /var/task is on Lambda)."""
    python = target_python()
    built = build_function_zip(FUNCTION_DIR, tmp_path, python)
    task = tmp_path / "task"
    extract_zip(built.zip_path, task)
    subprocess.run(["chmod", "-R", "a-w", str(task)], check=True)
    try:
        command = isolated_command(python, [task], "import kinesis_records, predictor, sinks, telemetry, dead_letters, handler_config")
        command.insert(1, "-v")
        proc = subprocess.run(command, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(task)], check=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = [line for line in proc.stderr.splitlines() if line.startswith("# code object from") and str(task) in line]
    assert len(loaded) == 7  # the six named and model_store, which predictor imports
    assert all(line.rstrip("'").endswith(".pyc") for line in loaded), loaded
