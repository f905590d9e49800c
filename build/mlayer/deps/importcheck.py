"""Import every top-level package of the layer in a clean interpreter of the target version.

The interpreter runs with -I -S and only the layer on sys.path (mlayer.isolated), the way Lambda
sees /opt/python: a package that imports only thanks to something installed on the build host,
or that slimming broke, fails here instead of at the first cold start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import MlayerError
from ..isolated import run_isolated

_NOT_PACKAGES = ("__pycache__", "bin")

_IMPORT_ALL = """
import importlib, json, traceback
failures = {}
for name in json.loads(input()):
    try:
        importlib.import_module(name)
    except BaseException as exc:
        failures[name] = f"{type(exc).__name__}: {exc}".splitlines()[0]
print(json.dumps(failures))
"""


@dataclass(frozen=True)
class ImportCheck:
    modules: tuple[str, ...]
    skipped_reason: str | None = None


def top_level_modules(python_dir: Path) -> list[str]:
    """Importable names directly under python_dir: packages (dirs with __init__.py) and modules."""
    names: set[str] = set()
    for entry in python_dir.iterdir():
        if entry.name.startswith(".") or entry.name in _NOT_PACKAGES:
            continue
        if entry.is_dir():
            if "." not in entry.name and (entry / "__init__.py").exists():
                names.add(entry.name)
        elif entry.suffix == ".py":
            names.add(entry.stem)
        elif entry.suffix == ".so" and "." not in entry.name.split(".")[0]:
            names.add(entry.name.split(".")[0])
    return sorted(names)


def check_imports(python: Path, python_dir: Path, timeout: float = 600) -> ImportCheck:
    """Raise MlayerError naming every top-level module that fails to import."""
    modules = top_level_modules(python_dir)
    proc = run_isolated(python, [python_dir], _IMPORT_ALL, stdin=json.dumps(modules), timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise MlayerError(f"the import check crashed in {python} (exit {proc.returncode}): {tail}: rebuild with --no-slim to see whether slimming caused it")
    failures: dict[str, str] = json.loads(proc.stdout.strip().splitlines()[-1])
    if failures:
        listed = "; ".join(f"{name}: {error}" for name, error in failures.items())
        raise MlayerError(
            f"the layer does not import on its own ({listed}): pin the missing dependency in the requirements file, "
            "or rebuild with --no-slim if slimming removed something the package needs"
        )
    return ImportCheck(modules=tuple(modules))
