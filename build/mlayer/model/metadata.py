"""metadata.json: the schema of a registered model version, and its validation.

Schema (version 1, docs/ARCHITECTURE.md):
    {
      "schema_version": 1, "name": "MyModel", "version": "20190104v1",
      "kind": "steps" | "pipeline",
      "files": [{"file": "PreProc1_MyModel.joblib", "role": "preprocessor", "sha256": "<hex>",
                 "class": "sklearn.feature_extraction.text.CountVectorizer"}, ...],
      "pickled_with": {"python": "3.12", "scikit-learn": "1.9.1", "numpy": "2.5.5", "scipy": "1.18.1",
                       "source": {"python": "flag|environment|unknown", "scikit-learn": "pickle|flag|environment|unknown", ...}},
      "created": "2026-11-25T12:00:00Z",
      "samples": null | {"inputs": [...], "expected": [...]},
      "metrics": {"accuracy": 0.93, ...}            (optional)
      "trusted": ["mypkg.tokenize", ...]           (optional: globals beyond the allow-list, from --trust)
    }
`kind` "steps": every file but the last is a preprocessor (applied in file order with transform()),
the last is the estimator (predict()). "pipeline": one file, role "pipeline" (predict()).
`files[].class` (the pickle's top-level class) and `metrics` are additions to the original
contract; readers must ignore keys they do not know. A `pickled_with` value may be null (unknown);
"numpy": "2" (major only) means it was inferred from the pickle's numpy._core module paths.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import MlayerError
from .allowlist import TRUST_RE
from .naming import validate_name, validate_version
from .samples import validate_samples

SCHEMA_VERSION = 1
METADATA_NAME = "metadata.json"
KINDS = ("steps", "pipeline")
ROLES = ("preprocessor", "estimator", "pipeline")
VERSION_KEYS = ("python", "scikit-learn", "numpy", "scipy")
SOURCES = ("pickle", "flag", "environment", "unknown")
FILE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def _fail(path: Path, problem: str) -> MlayerError:
    return MlayerError(
        f"{path}: {problem}: restore it from version control, or register the files again with "
        "`mlayer model add --name NAME --version VERSION FILE...` (never edit metadata.json by hand)"
    )


def validate_metadata(data: Any, path: Path) -> dict[str, Any]:
    """Check `data` against the schema; MlayerError naming `path` and the first problem."""
    if not isinstance(data, dict):
        raise _fail(path, "is not a JSON object")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise _fail(path, f"schema_version is {data.get('schema_version')!r}, expected {SCHEMA_VERSION}")
    for key in ("name", "version", "kind", "files", "pickled_with", "created"):
        if key not in data:
            raise _fail(path, f"missing field {key!r}")
    try:
        validate_name(data["name"])
        validate_version(data["version"])
    except MlayerError as exc:
        raise _fail(path, str(exc).split(":")[0]) from None
    if data["kind"] not in KINDS:
        raise _fail(path, f"kind is {data['kind']!r}, expected one of {', '.join(KINDS)}")
    files = data["files"]
    if not isinstance(files, list) or not files:
        raise _fail(path, "'files' must be a non-empty list")
    seen: set[str] = set()
    for index, entry in enumerate(files):
        if not isinstance(entry, dict):
            raise _fail(path, f"files[{index}] is not an object")
        name = entry.get("file")
        if not isinstance(name, str) or not FILE_NAME_RE.match(name) or name == METADATA_NAME:
            raise _fail(path, f"files[{index}].file {name!r} is not a plain file name")
        if name in seen:
            raise _fail(path, f"{name} is listed twice")
        seen.add(name)
        if entry.get("role") not in ROLES:
            raise _fail(path, f"{name} has role {entry.get('role')!r}, expected one of {', '.join(ROLES)}")
        if not isinstance(entry.get("sha256"), str) or not _SHA256_RE.match(entry["sha256"]):
            raise _fail(path, f"{name} has no valid sha256")
    roles = [entry["role"] for entry in files]
    expected = ["pipeline"] if data["kind"] == "pipeline" else ["preprocessor"] * (len(files) - 1) + ["estimator"]
    if roles != expected:
        raise _fail(path, f"kind {data['kind']!r} needs roles {expected}, found {roles}")
    _validate_pickled_with(data["pickled_with"], path)
    if not isinstance(data["created"], str):
        raise _fail(path, "'created' must be an ISO-8601 string")
    try:
        validate_samples(data.get("samples"))
    except MlayerError as exc:
        raise _fail(path, f"samples: {exc}") from None
    if data.get("metrics") is not None and not isinstance(data["metrics"], dict):
        raise _fail(path, "'metrics' must be an object or null")
    trusted = data.get("trusted", [])
    if not isinstance(trusted, list) or not all(isinstance(t, str) and TRUST_RE.match(t) for t in trusted):
        raise _fail(path, "'trusted' must be a list of MODULE.NAME strings")
    return data


def _validate_pickled_with(pickled_with: Any, path: Path) -> None:
    if not isinstance(pickled_with, dict):
        raise _fail(path, "'pickled_with' must be an object")
    sources = pickled_with.get("source")
    if not isinstance(sources, dict):
        raise _fail(path, "'pickled_with.source' must be an object")
    for key in VERSION_KEYS:
        if key not in pickled_with:
            raise _fail(path, f"'pickled_with' has no {key!r} (use null when unknown)")
        value = pickled_with[key]
        if value is not None and (not isinstance(value, str) or not value):
            raise _fail(path, f"pickled_with[{key!r}] must be a version string or null")
        if sources.get(key) not in SOURCES:
            raise _fail(path, f"pickled_with.source[{key!r}] must be one of {', '.join(SOURCES)}")


def read_metadata(model_dir: Path) -> dict[str, Any]:
    """Parse and validate model_dir/metadata.json (the files themselves are not checked)."""
    model_dir = Path(model_dir)
    path = model_dir / METADATA_NAME
    if not model_dir.is_dir():
        raise MlayerError(
            f"model directory {model_dir} does not exist: register the model with "
            "`mlayer model add --name NAME --version VERSION FILE...` (see `mlayer model list`)"
        )
    if not path.is_file():
        raise MlayerError(
            f"{model_dir} has no {METADATA_NAME}: register the files with `mlayer model add --name NAME --version VERSION FILE...` "
            "instead of copying them in by hand"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise _fail(path, f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except UnicodeDecodeError:
        raise _fail(path, "is not UTF-8 text") from None
    return validate_metadata(data, path)
