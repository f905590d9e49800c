"""`build_model_layer`: a registered model version -> a checked, deterministic model layer zip.

Steps: read and validate metadata.json -> check its library versions against the deps layer's
(compat) -> verify every file's sha256 -> scan every pickle against the allow-list (allowlist) ->
run the handler's own load_model + self_test in the runtime's Python with only the deps layer,
contained (verify; cached) -> reuse the zip in dist_dir only if its bytes are the ones recorded -> zip the files and metadata.json under model/ (so Lambda
sees /opt/model/) with zipper.write_zip, named model-<name>-<version>-<sha12>.zip where sha12
addresses the zip's content (every entry's name and sha256).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import zipper
from ..cache import cache_dir, cache_key
from ..errors import MlayerError
from ..fsutil import write_json_atomic
from ..hashing import sha256_file, sha256_json
from ..manifest import artifact_entry
from ..runtimes import find_interpreter, host_can_run
from ..zipper import write_zip
from .allowlist import check_trusted
from .compat import check_compatibility
from .lean_export import FUNCTION_DIR, PREDICTOR_CHOICES, LeanExport, choose_predictor, export_lean
from .metadata import METADATA_NAME
from .skops_scan import scan_model_file
from .registry import load_metadata, model_dir as registered_dir
from .verify import Verification, verify_model

LAYER_PREFIX = "model"  # /opt/model on Lambda
ZIP_CACHE_KIND = "model-zip"  # content digest -> the sha256 of the zip written for it


@dataclass
class ModelBuild:
    name: str
    version: str
    zip_path: Path
    metadata: dict[str, Any]
    model_dir: Path
    verification: Verification
    cache_hit: bool  # verification came from the cache and the zip was already in dist_dir
    zip_sha256: str
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    predictor: str = "sklearn"  # "lean" when the layer holds the proven lean export
    lean: LeanExport | None = None

    @property
    def files(self) -> dict[str, str]:
        return {entry["file"]: entry["sha256"] for entry in self.metadata["files"]}

    def manifest_entry(self, base_dir: Path) -> dict[str, Any]:
        extra: dict[str, Any] = {"predictor": self.predictor, "deps_layer": self.predictor}
        if self.lean is not None:
            extra["lean_proof"] = self.lean.summary()
        return artifact_entry(self.zip_path, base_dir, expected_sha256=self.zip_sha256, name=self.name, version=self.version, files=self.files, **extra)


def _warn(message: str) -> None:
    print(f"mlayer: warning: {message}", file=sys.stderr)


def verify_hashes(model_dir: Path, metadata: dict[str, Any]) -> None:
    for entry in metadata["files"]:
        path = model_dir / entry["file"]
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            raise MlayerError(
                f"{path} does not match its sha256 in {METADATA_NAME} (tampered or corrupted: "
                f"{actual[:12]} on disk, {entry['sha256'][:12]} registered): restore the file from version control, "
                "or register the new file as a new version with `mlayer model add`"
            )


def check_pickles(model_dir: Path, metadata: dict[str, Any]) -> None:
    """Scan every file again against the allow-list plus what metadata.json says was trusted, before anything unpickles it."""
    for entry in metadata["files"]:
        path = model_dir / entry["file"]
        check_trusted(str(path), scan_model_file(path), metadata.get("trusted", []), stage="mlayer build model")


def layer_entries(model_dir: Path, metadata: dict[str, Any]) -> list[tuple[str, Path]]:
    names = [entry["file"] for entry in metadata["files"]] + [METADATA_NAME]
    return [(f"{LAYER_PREFIX}/{name}", model_dir / name) for name in names]


def content_digest(model_dir: Path, metadata: dict[str, Any]) -> str:
    """sha256 over the zip's entries (name -> sha256): same content, same zip name."""
    digests = {entry["file"]: entry["sha256"] for entry in metadata["files"]}
    digests[METADATA_NAME] = sha256_file(model_dir / METADATA_NAME)
    return sha256_json({f"{LAYER_PREFIX}/{name}": digest for name, digest in digests.items()})


def publish_zip(zip_path: Path, entries: list[tuple[str, Path]], digest: str) -> tuple[bool, str]:
    """(reused, sha256): an existing zip is reused only if its bytes are those the cache recorded for this content."""
    record_path = cache_dir(ZIP_CACHE_KIND, cache_key(ZIP_CACHE_KIND, content=digest, zipper=sha256_file(Path(zipper.__file__)))) / "zip.json"
    try:
        recorded = json.loads(record_path.read_text())["sha256"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError):
        recorded = None
    if recorded and zip_path.is_file() and sha256_file(zip_path) == recorded:
        return True, recorded
    write_zip(entries, zip_path)  # deterministic and atomic: replaces a corrupt or swapped file
    written = sha256_file(zip_path)
    write_json_atomic(record_path, {"sha256": written})
    return False, written


def _try_lean(
    name: str, model_dir: Path, metadata: dict[str, Any], deps: Any, predictor: str, verify_texts: Sequence[str] | None, lean_paths: Sequence[Path], function_dir: Path
) -> LeanExport | None:
    """The lean export and its proof, or None when it cannot be attempted here (said why, once)."""
    if predictor == "sklearn":
        return None
    if any(entry["file"].lower().endswith(".skops") for entry in metadata["files"]):
        return LeanExport(False, "the lean exporter reads .joblib files only, not .skops")
    if deps.architecture != "x86_64":
        return LeanExport(False, f"lean is x86_64 only: bit-exactness is not proven on {deps.architecture} (fused multiply-add)")
    python = getattr(deps, "interpreter", None) or find_interpreter(deps.runtime.python_version)
    if python is None or not host_can_run(deps.architecture):
        return LeanExport(False, f"no Python {deps.runtime.python_version} interpreter to prove the lean export with")
    return export_lean(model_dir, metadata, Path(python), Path(deps.python_dir), extra_paths=lean_paths, verify_texts=verify_texts, function_dir=function_dir)


def lean_metadata(metadata: dict[str, Any], export: LeanExport) -> dict[str, Any]:
    """metadata.json of a lean layer: the lean files (no pickle) with their sha256, and the proof."""
    assert export.directory is not None
    files = [{"file": f, "role": "lean", "sha256": sha256_file(export.directory / f)} for f in export.files]
    source = [{"file": e["file"], "role": e["role"], "sha256": e["sha256"]} for e in metadata["files"]]
    return {**metadata, "kind": "lean", "predictor": "lean", "files": files, "source_files": source, "lean_proof": export.summary()}


def build_model_layer(
    name: str,
    version: str,
    deps: Any,
    artifacts_root: Path,
    dist_dir: Path,
    predictor: str = "auto",
    verify_texts: Sequence[str] | None = None,
    lean_paths: Sequence[Path] = (),
    function_dir: Path = FUNCTION_DIR,
) -> ModelBuild:
    """Check NAME/VERSION against the deps layer and write its model layer zip into dist_dir.

    predictor: auto (lean when proven bit-identical, else scikit-learn), lean (fail unless proven),
    sklearn. lean_paths: the lean deps layer's python/ dirs, so the proof uses the mmh3 that ships;
    function_dir: the handler code that will serve it (its lean_predictor.py is what is proven)."""
    if predictor not in PREDICTOR_CHOICES:
        raise MlayerError(f"--predictor {predictor!r}: choose one of {', '.join(PREDICTOR_CHOICES)}")
    started = time.perf_counter()
    model_dir = registered_dir(Path(artifacts_root), name, version)
    metadata = load_metadata(model_dir)
    warnings = check_compatibility(metadata, deps.packages, deps.runtime)
    for warning in warnings:
        _warn(warning)
    verify_hashes(model_dir, metadata)
    check_pickles(model_dir, metadata)
    skops_files = [e["file"] for e in metadata["files"] if e["file"].lower().endswith(".skops")]
    if skops_files and "skops" not in deps.packages:
        raise MlayerError(
            f"{model_dir / skops_files[0]} is a .skops file but the deps layer has no skops, which the handler loads it with: "
            "add skops==0.16.0 and its dependencies (prettytable==3.18.0, wcwidth==0.9.4, packaging==26.4) to the requirements file"
        )
    checked = time.perf_counter()

    verification = verify_model(model_dir, metadata, deps, Path(function_dir))
    if verification.status != "passed":
        warnings.append(f"{name}/{version}: load and samples check {verification.status}")
        _warn(warnings[-1])
    elif not verification.samples:
        _warn(f"{name}/{version} has no samples, so only loading was checked: register it with --samples to check its predictions")
    if not verification.cache_hit:
        for warning in verification.warnings:
            _warn(warning)
    lean = _try_lean(name, model_dir, metadata, deps, predictor, verify_texts, lean_paths, Path(function_dir))
    chosen = choose_predictor(predictor, lean, f"{name}/{version}")
    if chosen == "sklearn" and lean is not None:
        _warn(f"{name}/{version}: serving with scikit-learn, not lean: {lean.reason}")
    verified = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="mlayer-model-") as staging:
        layer_dir, layer_metadata = model_dir, metadata
        if chosen == "lean":
            assert lean is not None and lean.directory is not None
            layer_dir, layer_metadata = Path(staging), lean_metadata(metadata, lean)
            for file in lean.files:
                (layer_dir / file).write_bytes((lean.directory / file).read_bytes())
            (layer_dir / METADATA_NAME).write_text(json.dumps(layer_metadata, indent=2, sort_keys=True) + "\n")
        digest = content_digest(layer_dir, layer_metadata)
        zip_path = Path(dist_dir) / f"model-{name}-{version}-{digest[:12]}.zip"
        zip_existed, zip_sha256 = publish_zip(zip_path, layer_entries(layer_dir, layer_metadata), digest)
    done = time.perf_counter()
    return ModelBuild(
        name=name,
        version=version,
        zip_path=zip_path,
        metadata=layer_metadata,
        model_dir=model_dir,
        verification=verification,
        cache_hit=verification.cache_hit and zip_existed,
        zip_sha256=zip_sha256,
        warnings=warnings + verification.warnings,
        timings={
            "check_seconds": round(checked - started, 3),
            "verify_seconds": round(verified - checked, 3),
            "zip_seconds": round(done - verified, 3),
            "total_seconds": round(done - started, 3),
        },
        predictor=chosen,
        lean=lean,
    )
