"""What the Lambda Python runtime provides besides the standard library: boto3.

boto3 is not in the deps layer (Lambda's runtime ships it, and the handler imports it only
when a sink needs it). The local runtime and the tests put this directory on sys.path AFTER
the layers, as Lambda does. Pinned to the tooling's boto3 (requirements-dev.txt) so a run is
reproducible; AWS updates the runtime's copy on its own schedule.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..cache import cache_dir, cache_key
from ..errors import MlayerError
from ..fsutil import atomic_dir
from ..runtimes import Runtime, find_interpreter

BOTO3_VERSION = "1.44.5"  # keep equal to requirements-dev.txt (tests check it)
# boto3's own dependencies, pinned too so the directory is the same on every machine.
PINS = (
    f"boto3=={BOTO3_VERSION}",
    "botocore==1.44.8",
    "s3transfer==0.19.3",
    "jmespath==1.1.0",
    "python-dateutil==2.9.0.post0",
    "six==1.17.0",
    "urllib3==2.8.0",
)
_COMPLETE = ".complete"


def runtime_provided_dir(runtime: Runtime) -> Path:
    """A cached directory holding boto3 (and botocore, s3transfer, ...) installed for the runtime's Python."""
    key = cache_key("runtime-provided", runtime=runtime.name, python=runtime.python_version, pins=list(PINS))
    dest = cache_dir("runtime-provided", key)
    if (dest / _COMPLETE).exists():
        return dest
    with atomic_dir(dest) as tmp:
        command = [
            sys.executable, "-m", "pip", "install",
            "--disable-pip-version-check", "--no-input", "--progress-bar", "off", "--no-warn-script-location",
            "--only-binary=:all:", "--implementation", "cp", "--python-version", runtime.python_version,
            "--no-compile", "--target", str(tmp), *PINS,
        ]  # fmt: skip
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("ERROR:")]
            detail = lines[0] if lines else (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise MlayerError(f"installing the runtime-provided boto3=={BOTO3_VERSION} for {runtime.name} failed: {detail}")
        python = find_interpreter(runtime.python_version)
        if python is not None:
            # Lambda's own boto3 is precompiled; without .pyc every cold import would pay ~0.5 s.
            subprocess.run(
                [str(python), "-m", "compileall", "-q", "-j", "0", "-s", str(tmp), "-p", str(dest), str(tmp)],
                capture_output=True,
                check=False,
            )
        (tmp / _COMPLETE).write_text("\n".join(PINS) + "\n")
    return dest
