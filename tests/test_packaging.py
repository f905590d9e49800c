"""`pip install .` gives a working `mlayer`: runtime dependencies declared, version from one place, real files only."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from conftest import REPO
from mlayer import __version__


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(3)
    return pins


def test_pyproject_pins_agree_with_requirements_dev() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = _pins(project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra])
    dev = _pins((REPO / "requirements-dev.txt").read_text().splitlines())
    assert {"packaging", "pyelftools", "rich"} <= declared.keys()  # imported when the CLI loads
    assert {name: version for name, version in declared.items() if dev.get(name) != version} == {}
    assert "version" in project["dynamic"] and "version" not in project


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the sources: setuptools writes build/lib into the tree it builds, which here is our build/."""
    out = tmp_path_factory.mktemp("wheel")
    source = out / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "build" / "mlayer", source / "build" / "mlayer", ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
                          capture_output=True, text=True, cwd=out)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return next(out.glob("mlayer-*.whl"))


def test_wheel_holds_the_package_and_only_real_files(wheel: Path) -> None:
    assert wheel.name.startswith(f"mlayer-{__version__}-")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "mlayer/model/_verify_script.py" in names and "mlayer/runtime/bootstrap.py" in names
    assert not [n for n in names if n.startswith("mlayer/data/") or "__pycache__" in n or n.startswith("tests/")]


def test_pip_install_gives_a_working_cli_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    mlayer = str(venv / "bin" / "mlayer")
    for args in (["--help"], ["build", "deps", "--help"], ["model", "add", "--help"], ["deploy", "--help"]):
        proc = subprocess.run([mlayer, *args], capture_output=True, text=True, cwd=tmp_path)
        assert proc.returncode == 0, (args, proc.stderr)
    version = subprocess.run([mlayer, "--version"], capture_output=True, text=True, cwd=tmp_path)
    assert version.stdout.strip() == f"mlayer {__version__}"
    (tmp_path / "empty-registry").mkdir()
    listing = subprocess.run([mlayer, "model", "list", "--artifacts-root", str(tmp_path / "empty-registry")], capture_output=True, text=True, cwd=tmp_path)
    assert listing.returncode == 0 and "no models registered" in listing.stdout
    # the installed package, not this checkout, answered
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import mlayer; print(mlayer.__file__)"], capture_output=True, text=True, cwd=tmp_path)
    assert where.stdout.strip().startswith(str(venv))
