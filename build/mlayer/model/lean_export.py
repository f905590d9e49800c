"""Export a registered model to the lean format and prove it exact, or say why not.

Runs _lean_export_script.py in the runtime's Python with ONLY the scikit-learn deps layer (plus
function/, so the proof runs the handler's own lean predictor, and the lean deps layer's packages
after it, so the hashing proof uses the mmh3 that will ship), contained like the handler's
start-up check (runtime.sandbox: no network, read-only host, scratch tmpfs, limits), because it
unpickles the model. The script writes lean.json, the .npy arrays and vocabulary.json into its
scratch dir, compares the lean predictor with scikit-learn, bit for bit, on the verification
corpus (mlayer.model.lean_corpus), and returns the files on stdout. A result (proven or refused)
is cached like the scikit-learn verification, with each file's sha256 checked on reuse.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cache import cache_dir, cache_key
from ..errors import MlayerError
from ..fsutil import write_json_atomic
from ..hashing import sha256_file
from .lean_corpus import MAX_VOCABULARY_TEXTS, verification_texts
from .metadata import METADATA_NAME
from ..runtime.sandbox import containment
from .scriptrun import HERE, run_script
from .verify import VERIFY_LIMITS

CACHE_KIND = "lean-export"
FUNCTION_DIR = HERE.parents[2] / "function"
PREDICTOR_CHOICES = ("auto", "lean", "sklearn")
# The export unpickles the user's model, so it runs contained like the handler's start-up check;
# its arrays come back on stdout (base64), so the scratch tmpfs must hold them once.
EXPORT_LIMITS = dataclasses.replace(VERIFY_LIMITS, scratch_bytes=512 << 20)


@dataclass
class LeanExport:
    """exact: proven bit-identical; files: the exported files (in directory) when exact."""

    exact: bool
    reason: str  # why not lean ("" when exact)
    texts: int = 0
    directory: Path | None = None
    files: list[str] = field(default_factory=list)
    estimator: str = ""
    featurizer: str = ""
    hashers: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """What goes into metadata.json and the manifest."""
        return {
            "exact": self.exact,
            "corpus_texts": self.texts,
            "estimator": self.estimator or None,
            "featurizer": self.featurizer or None,
            "hashers": self.hashers,
            "reason": self.reason or None,
        }


def export_lean(
    model_dir: Path,
    metadata: Mapping[str, Any],
    python: Path,
    deps_python_dir: Path,
    extra_paths: Sequence[Path] = (),
    verify_texts: Sequence[str] | None = None,
    function_dir: Path = FUNCTION_DIR,
) -> LeanExport:
    """Export and prove; the files land in a cache directory keyed by every input."""
    samples = (metadata.get("samples") or {}).get("inputs") or []
    texts = verification_texts(samples, verify_texts)
    key = cache_key(
        CACHE_KIND,
        metadata=sha256_file(Path(model_dir) / METADATA_NAME),
        deps=str(deps_python_dir),
        extra=[str(p) for p in extra_paths],
        python=str(python),
        texts=texts,
        script=sha256_file(HERE / "_lean_export_script.py"),
        predictor=sha256_file(Path(function_dir) / "lean_predictor.py"),
    )
    directory = cache_dir(CACHE_KIND, key)
    record_path = directory / "proof.json"
    try:
        record = json.loads(record_path.read_text())
        if _cached_files_intact(record, directory / "files"):
            return _from_record(record, directory / "files")
    except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError, AttributeError):
        pass
    sandbox = containment()
    if not sandbox.available:  # never unpickle uncontained
        return LeanExport(False, f"this host cannot sandbox the export, which unpickles the model ({sandbox.reason})")
    result = run_script(
        Path(python),
        [Path(deps_python_dir), *extra_paths],
        "_lean_export_script.py",
        {
            "model_dir": str(Path(model_dir).resolve()),
            "kind": metadata["kind"],
            "files": [{"file": e["file"], "role": e["role"]} for e in metadata["files"]],
            "function_dir": str(Path(function_dir).resolve()),
            "texts": texts,
            "max_vocabulary_texts": MAX_VOCABULARY_TEXTS,
        },
        what=f"exporting {metadata['name']}/{metadata['version']} to the lean format",
        fix="build with --predictor sklearn to skip the lean export",
        timeout=EXPORT_LIMITS.cpu_seconds * 2,
        limits=EXPORT_LIMITS,
    )
    record = _record(result)
    if record["exact"]:
        files_dir = directory / "files"
        if files_dir.exists():
            shutil.rmtree(files_dir)
        files_dir.mkdir(parents=True)
        for name in record["files"]:
            data = base64.b64decode(result["blobs"][name])
            (files_dir / name).write_bytes(data)
            record.setdefault("sha256", {})[name] = sha256_file(files_dir / name)
    write_json_atomic(record_path, record)
    return _from_record(record, directory / "files")


def _record(result: Mapping[str, Any]) -> dict[str, Any]:
    if not result["ok"]:
        return {"exact": False, "reason": f"not supported by the lean runtime: {result['refused']}", "texts": 0, "files": []}
    proof = result["proof"]
    reason = "" if proof["exact"] else f"lean differs from scikit-learn on {proof['difference']}"
    return {
        "exact": bool(proof["exact"]),
        "reason": reason,
        "texts": proof["texts"],
        "files": result["files"] if proof["exact"] else [],
        "estimator": result["estimator"],
        "featurizer": result["featurizer"],
        "hashers": proof["hashers"],
    }


def _cached_files_intact(record: Mapping[str, Any], files_dir: Path) -> bool:
    """A cached export is reused only if every file still has the sha256 recorded when it was proven."""
    if not record["exact"]:
        return True
    recorded = record["sha256"]
    return all(sha256_file(files_dir / name) == recorded[name] for name in record["files"])


def _from_record(record: Mapping[str, Any], files_dir: Path) -> LeanExport:
    exact = bool(record["exact"])
    return LeanExport(
        exact=exact,
        reason=record["reason"],
        texts=record["texts"],
        directory=files_dir if exact else None,
        files=list(record["files"]),
        estimator=record.get("estimator", ""),
        featurizer=record.get("featurizer", ""),
        hashers=list(record.get("hashers", [])),
    )


def choose_predictor(choice: str, export: LeanExport | None, name: str) -> str:
    """'lean' or 'sklearn' for --predictor auto|lean|sklearn, given the export's proof."""
    if choice not in PREDICTOR_CHOICES:
        raise MlayerError(f"--predictor {choice!r}: choose one of {', '.join(PREDICTOR_CHOICES)}")
    if choice == "sklearn":
        return "sklearn"
    if export is not None and export.exact:
        return "lean"
    if choice == "lean":
        why = export.reason if export is not None else "the lean export was not run"
        raise MlayerError(f"{name}: --predictor lean, but {why}: build with --predictor auto (falls back to scikit-learn) or sklearn")
    return "sklearn"
