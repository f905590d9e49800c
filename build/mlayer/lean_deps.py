"""The lean deps layer (numpy + mmh3) that lean models are served with, built beside the scikit-learn one.

requirements/lean-<runtime>.txt sits next to the scikit-learn requirements file. The lean build
proves a model against the scikit-learn layer's numpy, so both files must pin the same numpy;
a lean layer with another numpy is refused before anything is built. x86_64 only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .deps.requirements import parse_requirements
from .errors import MlayerError


def lean_requirements(requirements: Path, runtime: str) -> Path:
    return Path(requirements).parent / f"lean-{runtime}.txt"


def check_same_numpy(lean: Path, requirements: Path, runtime: Any, architecture: str) -> None:
    ours = parse_requirements(lean).pinned_versions(runtime, architecture).get("numpy")
    theirs = parse_requirements(requirements).pinned_versions(runtime, architecture).get("numpy")
    if ours != theirs:
        raise MlayerError(
            f"{lean} pins numpy {ours} but {requirements} pins numpy {theirs}: lean models are proven with the "
            f"scikit-learn layer's numpy, so pin numpy=={theirs} in {lean}"
        )


def build_lean_deps(requirements: Path, dist_dir: Path, deps: Any, **layer_options: Any) -> Any | None:
    """The lean deps layer for deps' runtime, or None where lean is off (arm64, no lean requirements file)."""
    from .deps.layer import build_deps_layer

    path = lean_requirements(requirements, deps.runtime.name)
    if deps.architecture != "x86_64" or not path.is_file():
        return None
    check_same_numpy(path, Path(requirements), deps.runtime, deps.architecture)
    return build_deps_layer(path, Path(dist_dir), **layer_options)
