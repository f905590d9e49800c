"""Lambda Python runtimes, the OS (glibc) behind each, and where to find a matching interpreter."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import MlayerError

# Lambda architecture name -> the machine name used in wheel platform tags.
ARCHITECTURES: dict[str, str] = {"x86_64": "x86_64", "arm64": "aarch64"}
DEFAULT_RUNTIME = "python3.12"
DEFAULT_ARCHITECTURE = "x86_64"


@dataclass(frozen=True)
class Runtime:
    name: str
    python_version: str  # "3.12"
    os_name: str  # "Amazon Linux 2023"
    glibc: tuple[int, int]

    def platform_tags(self, architecture: str) -> list[str]:
        """Every manylinux tag this runtime's glibc can load, newest first.

        pip does not expand a manylinux_2_X tag to the older ones when the platform is given
        explicitly, so we list them all (2_17 is manylinux2014).
        """
        machine = machine_for(architecture)
        tags = [f"manylinux_2_{minor}_{machine}" for minor in range(self.glibc[1], 16, -1)]
        return tags + [f"manylinux2014_{machine}"]

    @property
    def build_image(self) -> str:
        return f"public.ecr.aws/sam/build-{self.name}"

    @property
    def site_packages_suffix(self) -> str:
        return f"lib/python{self.python_version}/site-packages"


RUNTIMES: dict[str, Runtime] = {
    "python3.11": Runtime("python3.11", "3.11", "Amazon Linux 2", (2, 26)),
    "python3.12": Runtime("python3.12", "3.12", "Amazon Linux 2023", (2, 34)),
    "python3.13": Runtime("python3.13", "3.13", "Amazon Linux 2023", (2, 34)),
}


def get_runtime(name: str) -> Runtime:
    try:
        return RUNTIMES[name]
    except KeyError:
        raise MlayerError(
            f"unknown runtime {name!r}: use one of {', '.join(RUNTIMES)}"
        ) from None


def machine_for(architecture: str) -> str:
    try:
        return ARCHITECTURES[architecture]
    except KeyError:
        raise MlayerError(
            f"unknown architecture {architecture!r}: use one of {', '.join(ARCHITECTURES)}"
        ) from None


def host_can_run(architecture: str) -> bool:
    return os.uname().machine == machine_for(architecture)


def find_interpreter(python_version: str) -> Path | None:
    """A CPython of exactly this minor version: $MLAYER_PYTHON_3_12, then pyenv, then PATH."""
    override = os.environ.get(f"MLAYER_PYTHON_{python_version.replace('.', '_')}")
    if override:
        return Path(override)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv_root.is_dir():
        candidates = sorted(
            (p for p in pyenv_root.iterdir() if p.name.startswith(python_version + ".")),
            key=lambda p: [int(x) if x.isdigit() else 0 for x in p.name.split(".")],
        )
        for version_dir in reversed(candidates):
            python = version_dir / "bin" / "python3"
            if python.exists():
                return python
    found = shutil.which(f"python{python_version}")
    return Path(found) if found else None


def require_interpreter(python_version: str, why: str) -> Path:
    python = find_interpreter(python_version)
    if python is None:
        raise MlayerError(
            f"no Python {python_version} interpreter found, needed to {why}: "
            f"install it (pyenv install {python_version}) or set MLAYER_PYTHON_{python_version.replace('.', '_')}"
        )
    return python
