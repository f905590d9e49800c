"""dist/manifest.json: what was built, its hashes and sizes; the contract with Terraform and the local runtime.

Schema (version 1):
    {
      "schema_version": 1, "mlayer_version": "...",
      "deps":     {<artifact>, "runtime", "architecture", "packages": {name: version}, "bytecode": bool, "sizes": {...}},
      "function": {<artifact>, "handler"},
      "deps_lean": {<artifact>, ...as deps} -- numpy + mmh3, for lean models (absent on arm64),
      "models":   {"NAME/VERSION": {<artifact>, "name", "version", "files": {filename: sha256},
                   "predictor": "lean" | "sklearn", "deps_layer": "lean" | "sklearn" (which deps entry it needs),
                   "lean_proof": {"exact", "corpus_texts", "reason", ...} (absent with --predictor sklearn)}},
      "limits":   {"unzipped_bytes": 262144000, "direct_upload_zipped_bytes": 52428800}
    }
<artifact> is {"file" (relative to the manifest's directory), "sha256" (hex), "sha256_base64",
"zipped_bytes", "unzipped_bytes", "requires_s3_upload"}. Every model built for this deps layer stays
listed, so Terraform can switch `model_version` back (a rollback) without a rebuild.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import __version__
from .errors import MlayerError
from .fsutil import write_json_atomic
from .hashing import hex_to_base64, sha256_file
from .inputs import load_input_json
from .zipper import unzipped_size

SCHEMA_VERSION = 1
LAMBDA_UNZIPPED_LIMIT = 262_144_000  # function + all layers, unzipped
DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024  # zipped, for a direct (non-S3) upload
MANIFEST_NAME = "manifest.json"


def artifact_entry(zip_path: Path, base_dir: Path, *, expected_sha256: str | None = None, **extra: Any) -> dict[str, Any]:
    """The manifest's record of one zip, refusing one whose bytes are not what its build produced."""
    digest = sha256_file(zip_path)
    if expected_sha256 is not None and digest != expected_sha256:
        raise MlayerError(
            f"{zip_path} changed after it was built (sha256 {digest[:12]}, built as {expected_sha256[:12]}): "
            "something else writes into this dist directory; stop it and run `mlayer build all` again"
        )
    zipped = zip_path.stat().st_size
    return {
        "file": zip_path.resolve().relative_to(base_dir.resolve()).as_posix(),
        "sha256": digest,
        "sha256_base64": hex_to_base64(digest),
        "zipped_bytes": zipped,
        "unzipped_bytes": unzipped_size(zip_path),
        "requires_s3_upload": zipped > DIRECT_UPLOAD_LIMIT,
        **extra,
    }


def empty_manifest() -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "mlayer_version": __version__,
        "deps": None,
        "function": None,
        "models": {},
        "limits": {"unzipped_bytes": LAMBDA_UNZIPPED_LIMIT, "direct_upload_zipped_bytes": DIRECT_UPLOAD_LIMIT},
    }


def load_manifest(path: Path) -> dict[str, Any]:
    if not Path(path).exists():
        raise MlayerError(f"no manifest at {path}: run `mlayer build all` first")
    data = load_input_json(Path(path), "manifest", "rebuild it with `mlayer build all`", dict)
    if data.get("schema_version") != SCHEMA_VERSION:
        raise MlayerError(f"manifest {path} has schema {data.get('schema_version')!r}, expected {SCHEMA_VERSION}: rebuild it with `mlayer build all`")
    return data


def deps_entry_for(manifest: dict[str, Any], model_key: str | None) -> tuple[str, dict[str, Any] | None]:
    """("deps" or "deps_lean", its entry): the deps layer the model's entry says it needs."""
    model = (manifest.get("models") or {}).get(model_key or "") or {}
    if model.get("deps_layer") == "lean" and manifest.get("deps_lean"):
        return "deps_lean", manifest["deps_lean"]
    return "deps", manifest.get("deps")


def largest_version(manifest: dict[str, Any]) -> tuple[str | None, int]:
    """(NAME/VERSION, bytes) of the largest function version: function + model + the deps layer that
    model is served with (the lean one for a lean model, as the local runtime and the Terraform module
    attach); (None, deps + function) without models."""
    function = (manifest.get("function") or {}).get("unzipped_bytes", 0)
    sizes = {key: (deps_entry_for(manifest, key)[1] or {}).get("unzipped_bytes", 0) + model["unzipped_bytes"] for key, model in manifest.get("models", {}).items()}
    if not sizes:
        return None, function + (manifest.get("deps") or {}).get("unzipped_bytes", 0)
    key = max(sorted(sizes), key=sizes.__getitem__)
    return key, function + sizes[key]


def total_unzipped(manifest: dict[str, Any]) -> int:
    """The most one function version holds (see largest_version)."""
    return largest_version(manifest)[1]


def check_size(manifest: dict[str, Any]) -> None:
    key, total = largest_version(manifest)
    if total > LAMBDA_UNZIPPED_LIMIT:
        deps = "lean" if key and deps_entry_for(manifest, key)[0] == "deps_lean" else "scikit-learn"
        what = f"model {key} with the {deps} deps layer and the function" if key else "the deps layer and the function"
        raise MlayerError(
            f"{what} unzip to {total:,} bytes, over Lambda's {LAMBDA_UNZIPPED_LIMIT:,}: "
            "keep slimming on (no --no-slim), drop unneeded requirements, or ship a container image instead"
        )


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    manifest["total_unzipped_bytes"] = total_unzipped(manifest)
    write_json_atomic(Path(path), manifest)


def summary_lines(manifest: dict[str, Any], path: Path) -> list[str]:
    """A human summary: each artifact's size against the limits, and the S3 note where needed."""
    artifacts = [("deps", manifest["deps"]), ("function", manifest["function"])]
    if manifest.get("deps_lean"):
        artifacts.insert(1, ("deps (lean: numpy + mmh3)", manifest["deps_lean"]))
    artifacts += [(f"model {key} [{entry.get('predictor', 'sklearn')}]", entry) for key, entry in sorted(manifest["models"].items())]
    lines = [f"manifest: {path}"]
    for label, entry in artifacts:
        note = "  (over 50 MB zipped: published through S3, which the Terraform module does)" if entry["requires_s3_upload"] else ""
        lines.append(f"  {label:<28} {entry['file']:<52} {entry['zipped_bytes']:>12,} zipped {entry['unzipped_bytes']:>12,} unzipped{note}")
    total = manifest.get("total_unzipped_bytes", total_unzipped(manifest))
    lines.append(f"  total unzipped (function + largest model with its deps layer): {total:,} of Lambda's {LAMBDA_UNZIPPED_LIMIT:,} bytes ({total / LAMBDA_UNZIPPED_LIMIT:.0%})")
    return lines
