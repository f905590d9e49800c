"""Install pinned wheels for a Lambda runtime with the host's pip (no container needed).

pip is told the target's Python version, implementation and every manylinux tag the runtime's
glibc can load, and may only use wheels (`--only-binary=:all:`): nothing is compiled on the host,
so nothing can link against the host's newer libraries. The user's pip configuration (index,
certificates, cache) is honoured on purpose: mirrors and proxies keep working.

pip installs one package after another on one core. Because the file pins the whole closure,
the pins can be split into a group per core (heaviest wheels spread first) and installed by
parallel `pip install --no-deps` runs into separate directories, then merged. The merged tree
must be exactly what one pip run gives: if any group fails, the groups overlap on a file with
different bytes, or any installed distribution's requirement is unmet as pip would evaluate it
(a pin missing from the file, a version conflict), it is thrown away and one ordinary pip run
installs the file, so its resolver and errors decide, as they always did. Hash-checking mode
covers every group when any pin has a hash. The zip is the same whatever the number of cores.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .. import processes
from ..errors import MlayerError
from ..runtimes import Runtime
from .installed import unmet_dependencies
from .requirements import Pin, Requirements

WHEELS_ONLY = "--only-binary :all:"
PIP_JOBS_ENV = "MLAYER_PIP_JOBS"  # parallel pip runs (default: one per core, at most MAX_PIP_JOBS); 1 = a single run
MAX_PIP_JOBS = 4
# Approximate wheel sizes (MB) of packages heavy enough to matter, used only to balance the groups
# (plus a per-package cost, about what pip spends finding one small wheel): a wrong or missing
# entry costs seconds, never changes what is installed.
_WHEEL_MB = {"scipy": 36, "numpy": 16, "scikit-learn": 13, "pandas": 12, "pyarrow": 40, "torch": 800,
             "onnxruntime": 16, "xgboost": 200, "lightgbm": 4, "statsmodels": 10, "polars": 35}  # fmt: skip
_PER_PACKAGE_MB = 3
_NO_MATCH = re.compile(r"No matching distribution found for ([^\s;]+)")
_NO_VERSION = re.compile(r"Could not find a version that satisfies the requirement ([^\s;]+)")
_NETWORK = ("NewConnectionError", "ConnectTimeout", "ReadTimeout", "Temporary failure in name resolution",
            "Network is unreachable", "ProxyError", "SSLError")


def _weight(pin: Pin) -> int:
    return _WHEEL_MB.get(pin.name, 0) + _PER_PACKAGE_MB


def pip_version() -> str:
    import pip

    return pip.__version__


def pip_install_command(requirements: Path, target_dir: Path, runtime: Runtime, architecture: str, *, no_deps: bool = False) -> list[str]:
    platforms = [arg for tag in runtime.platform_tags(architecture) for arg in ("--platform", tag)]
    return [
        sys.executable, "-P", "-m", "pip", "install",  # -P: a module in the current directory (enum.py...) cannot shadow pip's
        "--disable-pip-version-check", "--no-input", "--progress-bar", "off", "--no-warn-script-location",
        "--only-binary=:all:", "--implementation", "cp", "--python-version", runtime.python_version,
        *platforms,
        "--no-compile",  # .pyc are compiled later by the target interpreter, not the host's
        *(["--no-deps"] if no_deps else []),
        "--target", str(target_dir),
        "-r", str(requirements),
    ]  # fmt: skip


def explain_pip_failure(output: str, runtime: Runtime, architecture: str) -> str:
    """One line naming the culprit and the fix, from pip's output."""
    match = _NO_MATCH.search(output) or _NO_VERSION.search(output)
    unreachable = any(marker in output for marker in _NETWORK)
    if match and unreachable:
        return (
            f"pip found no {match.group(1)} because it could not reach a package index (connection failed): "
            "check the network and your pip configuration (index-url, proxy, cert), then rebuild"
        )
    if match:
        package = match.group(1)
        return (
            f"no wheel of {package} for {runtime.name} on {architecture} "
            f"(Python {runtime.python_version}, glibc {runtime.glibc[0]}.{runtime.glibc[1]}, tags "
            f"{runtime.platform_tags(architecture)[-1]}..{runtime.platform_tags(architecture)[0]}): "
            f"pin a release that ships such a wheel, or build from source with --backend docker"
        )
    if unreachable:
        return "pip could not reach the package index: check the network or your pip configuration (index-url, proxy, cert)"
    lines = [line.strip() for line in output.splitlines() if line.strip().startswith("ERROR:")]
    detail = lines[0] if lines else (output.strip().splitlines() or ["(no output)"])[-1]
    return f"pip install failed: {detail}"


def pip_jobs() -> int:
    """How many pip runs install at once: $MLAYER_PIP_JOBS, or one per usable core (at most MAX_PIP_JOBS)."""
    value = os.environ.get(PIP_JOBS_ENV)
    if value is None:
        return max(1, min(len(os.sched_getaffinity(0)), MAX_PIP_JOBS))
    if not re.fullmatch(r"[0-9]+", value) or int(value) < 1:
        raise MlayerError(f"{PIP_JOBS_ENV}={value!r} is not a positive whole number: set it to e.g. 1 (one pip run) or 2, or unset it")
    return int(value)


def pin_groups(pins: tuple[Pin, ...], jobs: int) -> list[tuple[Pin, ...]]:
    """Split the pins into at most `jobs` groups of similar wheel weight (heaviest first, each to the lightest group).

    Pins of one name (several lines with markers) stay together: pip must see them side by side, as in one run.
    """
    by_name: dict[str, list[Pin]] = {}
    for pin in pins:
        by_name.setdefault(pin.name, []).append(pin)
    groups: list[list[Pin]] = [[] for _ in range(max(1, min(jobs, len(by_name))))]
    weights = [0] * len(groups)
    for same_name in sorted(by_name.values(), key=lambda group: (-_weight(group[0]), group[0].name)):
        lightest = weights.index(min(weights))
        groups[lightest].extend(same_name)
        weights[lightest] += _weight(same_name[0])
    return [tuple(group) for group in groups]


def _raise_on_failure(proc: subprocess.CompletedProcess[str], runtime: Runtime, architecture: str) -> None:
    if proc.returncode != 0:
        raise MlayerError(explain_pip_failure(proc.stdout + "\n" + proc.stderr, runtime, architecture))


def _merge_into(source: Path, dest: Path) -> bool:
    """Move source's tree into dest; False if a file exists in both with different bytes (nothing is overwritten)."""
    for entry in sorted(source.iterdir()):
        target = dest / entry.name
        if not target.exists() and not target.is_symlink():
            entry.rename(target)
        elif entry.is_dir() and not entry.is_symlink() and target.is_dir() and not target.is_symlink():
            if not _merge_into(entry, target):
                return False
        elif not (entry.is_file() and target.is_file() and entry.read_bytes() == target.read_bytes()):
            return False
    return True


def _install_in_groups(requirements: Requirements, groups: list[tuple[Pin, ...]], work: Path, target_dir: Path,
                       runtime: Runtime, architecture: str) -> bool:  # fmt: skip
    """Parallel `--no-deps` runs, merged into target_dir; False (target_dir left empty) if one pip run must decide."""
    hash_mode = any(pin.hashes for pin in requirements.pins)  # one hashed pin puts the whole file in hash mode
    commands = []
    for i, group in enumerate(groups):
        group_file = work / f"requirements-{i}.txt"
        group_file.write_text("\n".join([*requirements.pip_lines(group), WHEELS_ONLY]) + "\n")
        command = pip_install_command(group_file, work / f"pip-{i}", runtime, architecture, no_deps=True)
        commands.append(command + (["--require-hashes"] if hash_mode else []))
    try:
        if any(proc.returncode != 0 for proc in processes.run_all(commands)):
            return False  # one ordinary run names the culprit, as it always did (not whichever group failed)
        merged = all(_merge_into(work / f"pip-{i}", target_dir) for i in range(len(groups)))
        if merged and not unmet_dependencies(target_dir, requirements):
            return True
        shutil.rmtree(target_dir)
        target_dir.mkdir()
        return False
    finally:
        for i in range(len(groups)):
            shutil.rmtree(work / f"pip-{i}", ignore_errors=True)
            (work / f"requirements-{i}.txt").unlink(missing_ok=True)


def install_with_pip(requirements: Requirements, requirements_file: Path, target_dir: Path, runtime: Runtime, architecture: str) -> None:
    """Install the requirements' wheels into target_dir (the layer's python/ directory), in parallel where that gives the same tree."""
    groups = pin_groups(requirements.pins, pip_jobs())
    if len(groups) > 1 and _install_in_groups(requirements, groups, requirements_file.parent, target_dir, runtime, architecture):
        return
    proc = processes.run(pip_install_command(requirements_file, target_dir, runtime, architecture))  # its own process group
    _raise_on_failure(proc, runtime, architecture)
