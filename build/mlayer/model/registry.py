"""The model registry: model_artifacts/NAME/VERSION/ holding the files and metadata.json.

A registered version is immutable: layers already deployed refer to it by NAME/VERSION. Adding
the same version again is a no-op when the files are byte-identical and an error otherwise.
Registration is atomic and exclusive (fsutil.exclusive_new_dir): a failure leaves no half-written
version behind, and of two concurrent `model add` of one NAME/VERSION exactly one registers; the
other then gets the same answer as a later one would (no-op if identical, error otherwise).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import MlayerError
from ..fsutil import exclusive_new_dir, write_json_atomic
from ..hashing import sha256_file
from .allowlist import check_trusted, validate_trust
from .metadata import FILE_NAME_RE, METADATA_NAME, SCHEMA_VERSION, read_metadata
from .naming import is_valid_name, is_valid_version, validate_name, validate_version, version_sort_key
from .pickle_scan import PickleScan
from .skops_scan import scan_model_file
from .provenance import resolve_pickled_with
from .roles import assign_roles, check_loadable_on_lambda
from .samples import load_samples, validate_samples

MODEL_SUFFIXES = (".joblib", ".pkl", ".pickle", ".skops")


class ModelRef(NamedTuple):
    name: str
    version: str


def _say(message: str) -> None:
    print(f"mlayer: {message}", file=sys.stderr)


def model_dir(artifacts_root: Path, name: str, version: str) -> Path:
    return Path(artifacts_root) / validate_name(name) / validate_version(version)


def load_metadata(model_dir: Path) -> dict[str, Any]:
    """metadata.json of a registered version, validated, with every listed file present and no stray file."""
    model_dir = Path(model_dir)
    data = read_metadata(model_dir)
    if (data["name"], data["version"]) != (model_dir.parent.name, model_dir.name):
        raise MlayerError(
            f"{model_dir / METADATA_NAME} describes {data['name']}/{data['version']} but sits in {model_dir.parent.name}/{model_dir.name}: "
            "register the files under the right name and version with `mlayer model add` instead of copying directories"
        )
    listed = {entry["file"] for entry in data["files"]}
    for entry in data["files"]:
        if not (model_dir / entry["file"]).is_file():
            raise MlayerError(
                f"{model_dir / entry['file']} is listed in {METADATA_NAME} but missing: restore it, or register the model again"
            )
    strays = sorted(p.name for p in model_dir.iterdir() if p.name not in listed | {METADATA_NAME} and not p.name.startswith("."))
    if strays:
        raise MlayerError(
            f"{model_dir / strays[0]} is not listed in {METADATA_NAME}, so it would not ship: "
            "remove it, or register all the files again as a new version"
        )
    return data


def list_models(artifacts_root: Path) -> list[ModelRef]:
    """Every NAME/VERSION directory under artifacts_root (sorted; validity is checked when built)."""
    root = Path(artifacts_root)
    if not root.is_dir():
        return []
    refs = [
        ModelRef(name_dir.name, version_dir.name)
        for name_dir in root.iterdir()
        if name_dir.is_dir() and is_valid_name(name_dir.name)
        for version_dir in name_dir.iterdir()
        if version_dir.is_dir() and is_valid_version(version_dir.name)
    ]
    return sorted(refs, key=lambda ref: (ref.name.lower(), ref.name, version_sort_key(ref.version)))


def _created() -> str:
    """Now in UTC, or $SOURCE_DATE_EPOCH (reproducible builds convention) when set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch and epoch.isdigit() else datetime.now(timezone.utc)
    return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_inputs(files: Sequence[Path]) -> list[Path]:
    if not files:
        raise MlayerError("no model files given: pass the .joblib files, preprocessors first and the estimator last")
    paths = [Path(f) for f in files]
    for path in paths:
        if not path.exists():
            raise MlayerError(f"model file {path} does not exist: check the path")
        if not path.is_file():
            raise MlayerError(f"model file {path} is not a regular file: pass the .joblib files themselves")
        if path.suffix.lower() not in MODEL_SUFFIXES:
            raise MlayerError(f"model file {path} does not end in {', '.join(MODEL_SUFFIXES)}: pass joblib/pickle files saved with joblib.dump")
        if not FILE_NAME_RE.match(path.name) or path.name == METADATA_NAME:
            raise MlayerError(
                f"model file name {path.name!r} must start with a letter or digit and use only letters, digits, '.', '_' and '-' "
                "(it becomes a path in the layer): rename the file"
            )
    names = [p.name for p in paths]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise MlayerError(f"two files are named {dupes[0]}: the layer holds one directory, so rename one of them")
    return paths


def _same_registration(existing: dict[str, Any], files: list[dict[str, Any]], samples: dict[str, Any] | None) -> str | None:
    """None if `existing` holds exactly these files (and samples); else what differs."""
    old = [(e["file"], e["sha256"]) for e in existing["files"]]
    new = [(e["file"], e["sha256"]) for e in files]
    if old != new:
        old_names, new_names = [n for n, _ in old], [n for n, _ in new]
        if old_names != new_names:
            return f"its files are {old_names}, these are {new_names}"
        changed = [n for (n, a), (_, b) in zip(old, new) if a != b]
        return f"{changed[0]} has different content (sha256 {dict(old)[changed[0]][:12]} registered, {dict(new)[changed[0]][:12]} given)"
    if samples is not None and samples != existing.get("samples"):
        return "its samples differ from the ones given"
    return None


def add_model(
    name: str,
    version: str,
    files: Sequence[Path],
    artifacts_root: Path,
    samples: Path | Mapping[str, Any] | None = None,
    pickled_with_overrides: Mapping[str, str] | None = None,
    *,
    override_source: str = "flag",
    metrics: Mapping[str, Any] | None = None,
    trust: Sequence[str] = (),
) -> Path:
    """Register files (preprocessors in application order, then the estimator; or one Pipeline).

    `trust`: globals beyond the allow-list (allowlist.py) that the user vouches for; recorded in metadata.json.
    """
    validate_name(name)
    validate_version(version)
    trusted = validate_trust(trust)
    paths = _check_inputs(files)
    started = time.perf_counter()
    scans: dict[str, PickleScan] = {}
    for path in paths:
        scan = scan_model_file(path)
        check_loadable_on_lambda(path.name, scan)
        check_trusted(str(path), scan, trusted)
        scans[path.name] = scan
    kind, roles = assign_roles([p.name for p in paths], list(scans.values()))
    if samples is None:
        sample_data = None
    elif isinstance(samples, Mapping):
        sample_data = validate_samples(dict(samples))
    else:
        sample_data = load_samples(Path(samples))
    pickled_with = resolve_pickled_with(scans, pickled_with_overrides, override_source)
    file_entries = [
        {"file": p.name, "role": role, "sha256": sha256_file(p), "class": scans[p.name].top_class}
        for p, role in zip(paths, roles)
    ]

    dest = Path(artifacts_root) / name / version
    if dest.exists():
        return _already_registered(dest, file_entries, sample_data)

    metadata: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "version": version,
        "kind": kind,
        "files": file_entries,
        "pickled_with": pickled_with,
        "created": _created(),
        "samples": sample_data,
    }
    if metrics is not None:
        metadata["metrics"] = dict(metrics)
    if trusted:
        metadata["trusted"] = trusted
    try:
        with exclusive_new_dir(dest) as tmp:
            os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; a registry is shared (and committed)
            for path, entry in zip(paths, file_entries):
                shutil.copyfile(path, tmp / path.name)
                if sha256_file(tmp / path.name) != entry["sha256"]:
                    raise MlayerError(f"{path} changed while it was being registered: wait for whatever writes it to finish, then retry")
            write_json_atomic(tmp / METADATA_NAME, metadata)
            load_metadata_in(tmp, name, version)
    except FileExistsError:  # a concurrent `model add` registered this NAME/VERSION first
        return _already_registered(dest, file_entries, sample_data)
    unknown = [key for key, source in pickled_with["source"].items() if source == "unknown"]
    summary = ", ".join(f"{key} {pickled_with[key]}" for key in ("scikit-learn", "numpy", "scipy", "python") if pickled_with[key])
    _say(
        f"registered {name}/{version} ({kind}: {', '.join(p.name for p in paths)}; pickled with {summary or 'unknown versions'}) "
        f"in {time.perf_counter() - started:.2f} s"
    )
    if unknown:
        flags = " ".join(f"--{'sklearn' if k == 'scikit-learn' else k}-version X" for k in unknown)
        _say(f"note: unknown {', '.join(unknown)} (not recorded in the pickles); pass {flags} to have `mlayer build` check them")
    return dest


def _already_registered(dest: Path, file_entries: list[dict[str, Any]], sample_data: dict[str, Any] | None) -> Path:
    """`dest` exists: fine if it holds exactly these files, else the error that a version never changes."""
    name, version = dest.parent.name, dest.name
    difference = _same_registration(load_metadata(dest), file_entries, sample_data)
    if difference is not None:
        raise MlayerError(
            f"{name}/{version} is already registered and {difference}: a registered version never changes "
            f"(deployed layers refer to it); register these files as a new version, e.g. {_next_version(version)}"
        )
    _say(f"{name}/{version} is already registered with identical files: nothing to do")
    return dest


def load_metadata_in(directory: Path, name: str, version: str) -> dict[str, Any]:
    """Validate metadata.json in a directory not (yet) at NAME/VERSION, e.g. a staging directory."""
    data = read_metadata(directory)
    if (data["name"], data["version"]) != (name, version):
        raise MlayerError(f"{directory / METADATA_NAME} describes {data['name']}/{data['version']}, expected {name}/{version}")
    return data


def _next_version(version: str) -> str:
    head, digits = version.rstrip("0123456789"), version[len(version.rstrip("0123456789")):]
    return f"{head}{int(digits) + 1}" if digits else f"{version}-2"
