"""Install pinned wheels for a Lambda runtime with the host's pip (no container needed).

pip is told the target's Python version, implementation and every manylinux tag the runtime's
glibc can load, and may only use wheels (`--only-binary=:all:`): nothing is compiled on the host,
so nothing can link against the host's newer libraries. The user's pip configuration (index,
certificates, cache) is honoured on purpose: mirrors and proxies keep working.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .. import processes
from ..errors import MlayerError
from ..runtimes import Runtime

WHEELS_ONLY = "--only-binary :all:"
_NO_MATCH = re.compile(r"No matching distribution found for ([^\s;]+)")
_NO_VERSION = re.compile(r"Could not find a version that satisfies the requirement ([^\s;]+)")
_NETWORK = ("NewConnectionError", "ConnectTimeout", "ReadTimeout", "Temporary failure in name resolution",
            "Network is unreachable", "ProxyError", "SSLError")


def pip_version() -> str:
    import pip

    return pip.__version__


def pip_install_command(requirements: Path, target_dir: Path, runtime: Runtime, architecture: str) -> list[str]:
    platforms = [arg for tag in runtime.platform_tags(architecture) for arg in ("--platform", tag)]
    return [
        sys.executable, "-m", "pip", "install",
        "--disable-pip-version-check", "--no-input", "--progress-bar", "off", "--no-warn-script-location",
        "--only-binary=:all:", "--implementation", "cp", "--python-version", runtime.python_version,
        *platforms,
        "--no-compile",  # .pyc are compiled later by the target interpreter, not the host's
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


def install_with_pip(requirements: Path, target_dir: Path, runtime: Runtime, architecture: str) -> None:
    """Install the requirements' wheels into target_dir (the layer's python/ directory)."""
    command = pip_install_command(requirements, target_dir, runtime, architecture)
    proc = processes.run(command)  # its own process group: an interrupt stops pip and its children
    if proc.returncode != 0:
        raise MlayerError(explain_pip_failure(proc.stdout + "\n" + proc.stderr, runtime, architecture))
