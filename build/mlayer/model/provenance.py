"""Which Python / scikit-learn / numpy / scipy a model was pickled with, and how we know.

Each field of metadata.json's `pickled_with` comes from the first source that knows it, and
`pickled_with.source` says which:

* "flag":        given explicitly (`--sklearn-version`, ...; train-demo passes what the training
                 interpreter reported, as "environment"). A flag that contradicts the pickle is an error.
* "pickle":      scikit-learn's own `_sklearn_version` in the estimators' state; for numpy only the
                 MAJOR version, from the module paths (`numpy._core` = 2+, `numpy.core` = 1.x),
                 recorded as e.g. "2".
* "environment": the interpreter running mlayer, but ONLY when it has scikit-learn installed at
                 exactly the version the pickle records, i.e. when it plausibly is the environment
                 that trained the model. mlayer's own tooling venv (no scikit-learn) never counts:
                 its numpy would be a guess, and a wrong guess is worse than "unknown".
* "unknown":     null. The build then warns and relies on loading the files and running the samples.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from importlib import metadata as importlib_metadata
from typing import Any

from ..errors import MlayerError
from .metadata import VERSION_KEYS
from .pickle_scan import PickleScan

FLAGS = {"python": "--python-version", "scikit-learn": "--sklearn-version", "numpy": "--numpy-version", "scipy": "--scipy-version"}
_VERSION_RE = re.compile(r"^[0-9]+(\.[0-9]+)*([.+-]?[A-Za-z0-9.+-]*)?$")


def major(version: str | None) -> int | None:
    match = re.match(r"^(\d+)", version or "")
    return int(match.group(1)) if match else None


def python_minor(version: str) -> str:
    parts = version.split(".")
    return ".".join(parts[:2])


def _installed(distribution: str) -> str | None:
    try:
        return importlib_metadata.version(distribution)
    except importlib_metadata.PackageNotFoundError:
        return None


def host_environment() -> dict[str, str | None]:
    """The versions in the interpreter running mlayer."""
    return {
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "scikit-learn": _installed("scikit-learn"),
        "numpy": _installed("numpy"),
        "scipy": _installed("scipy"),
    }


def _check_override(key: str, value: str) -> str:
    if not isinstance(value, str) or not _VERSION_RE.match(value):
        raise MlayerError(f"{FLAGS[key]} {value!r} is not a version: give it like {'3.12' if key == 'python' else '1.9.1'}")
    if key == "python":
        if not re.match(r"^3\.\d+", value):
            raise MlayerError(f"--python-version {value!r} is not a Python 3 version: give it like 3.12")
        return python_minor(value)
    return value


def sklearn_from_scans(scans: Mapping[str, PickleScan]) -> str | None:
    """The one scikit-learn version the files were pickled with; MlayerError if they disagree."""
    by_version: dict[str, list[str]] = {}
    for file, scan in scans.items():
        for version in scan.sklearn_versions:
            by_version.setdefault(version, []).append(file)
    if len(by_version) > 1:
        detail = "; ".join(f"{', '.join(files)}: scikit-learn {version}" for version, files in sorted(by_version.items()))
        raise MlayerError(
            f"the files were pickled with different scikit-learn versions ({detail}): "
            "retrain and dump every step in one environment so a single deps layer can load them all"
        )
    return next(iter(by_version), None)


def numpy_major_from_scans(scans: Mapping[str, PickleScan]) -> int | None:
    majors = {scan.numpy_major for scan in scans.values()} - {None}
    return majors.pop() if len(majors) == 1 else None


def resolve_pickled_with(
    scans: Mapping[str, PickleScan],
    overrides: Mapping[str, str] | None = None,
    override_source: str = "flag",
    environment: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """metadata.json's `pickled_with` for these files."""
    overrides = {key: _check_override(key, value) for key, value in (overrides or {}).items() if value is not None}
    unknown_keys = sorted(set(overrides) - set(VERSION_KEYS))
    if unknown_keys:
        raise MlayerError(f"unknown version field(s) {unknown_keys}: use {', '.join(VERSION_KEYS)}")
    environment = host_environment() if environment is None else environment

    pickle_sklearn = sklearn_from_scans(scans)
    pickle_numpy_major = numpy_major_from_scans(scans)
    flagged_sklearn = overrides.get("scikit-learn")
    if pickle_sklearn and flagged_sklearn and flagged_sklearn != pickle_sklearn:
        raise MlayerError(
            f"--sklearn-version {flagged_sklearn} contradicts the pickles, which record scikit-learn {pickle_sklearn}: "
            "drop the flag (the pickle is authoritative)"
        )
    flagged_numpy = overrides.get("numpy")
    if pickle_numpy_major is not None and flagged_numpy and major(flagged_numpy) != pickle_numpy_major:
        raise MlayerError(
            f"--numpy-version {flagged_numpy} contradicts the pickles, which reference numpy {pickle_numpy_major}.x's modules: "
            "pass the numpy version the model was trained with"
        )
    # The host environment is evidence only if it holds the very scikit-learn the pickles name.
    env_trusted = pickle_sklearn is not None and environment.get("scikit-learn") == pickle_sklearn
    if env_trusted and pickle_numpy_major is not None and major(environment.get("numpy")) != pickle_numpy_major:
        env_trusted = False

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key in VERSION_KEYS:
        if key == "scikit-learn" and pickle_sklearn:
            values[key], sources[key] = pickle_sklearn, "pickle"
        elif key in overrides:
            values[key], sources[key] = overrides[key], override_source
        elif env_trusted and environment.get(key):
            values[key], sources[key] = environment[key], "environment"
        elif key == "numpy" and pickle_numpy_major is not None:
            values[key], sources[key] = str(pickle_numpy_major), "pickle"
        else:
            values[key], sources[key] = None, "unknown"
    return {**values, "source": sources}
