"""The three things compared, each a real manifest the local runtime can run.

- ours:       the project's build (`build_all`): slimmed deps layer with .pyc, model layer, function/
- ours_nopyc: the same, but the deps layer built with `build_deps_layer(..., bytecode=False)`
- seed:       the no-.pyc deps layer, the same model layer, and bench/seed_handler as the function

The variants' manifests are written by mlayer's own manifest module into their own directories
(paths in a manifest are relative to it), with hard links (or copies) of the shared zips.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlayer.deps.layer import DepsBuild, build_deps_layer
from mlayer.function_zip import build_function_zip
from mlayer.manifest import MANIFEST_NAME, artifact_entry, check_size, empty_manifest, load_manifest, write_manifest

OURS, NOPYC, SEED = "ours", "ours_nopyc", "seed"
LABELS = {
    OURS: "ours (.pyc)",
    NOPYC: "ours without .pyc",
    SEED: "seed-style (no .pyc, loads per call)",
}


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    manifest: Path


def _link_or_copy(src: Path, dest_dir: Path) -> Path:
    dest = dest_dir / src.name
    if dest.exists():
        dest.unlink()
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)
    return dest


def _relocate(entry: dict[str, Any], src_base: Path, dest_dir: Path) -> dict[str, Any]:
    """The same artifact, linked into dest_dir, its entry re-based there (sizes and hashes unchanged)."""
    moved = _link_or_copy(src_base / entry["file"], dest_dir)
    return {**entry, **artifact_entry(moved, dest_dir)}


def _write_variant(dest_dir: Path, deps_entry: dict[str, Any], function_entry: dict[str, Any], models: dict[str, Any]) -> Path:
    manifest = empty_manifest()
    manifest["deps"] = deps_entry
    manifest["function"] = function_entry
    manifest["models"] = models
    check_size(manifest)
    path = dest_dir / MANIFEST_NAME
    write_manifest(path, manifest)
    return path


def build_variants(ours_manifest: Path, requirements: Path, runtime: str, seed_function_dir: Path, work_dir: Path) -> tuple[dict[str, Variant], DepsBuild]:
    """The three variants, and the no-.pyc DepsBuild (for its sizes)."""
    ours_manifest = Path(ours_manifest)
    base = ours_manifest.parent
    ours = load_manifest(ours_manifest)
    lean = sorted(key for key, entry in ours["models"].items() if entry.get("predictor", "sklearn") != "sklearn")
    if lean:
        raise ValueError(f"{ours_manifest}: models {', '.join(lean)} are lean (no .joblib for the seed-style handler): build them with predictor='sklearn'")
    variants = {OURS: Variant(OURS, LABELS[OURS], ours_manifest)}

    nopyc_dir = work_dir / NOPYC
    seed_dir = work_dir / SEED
    for directory in (nopyc_dir, seed_dir):
        directory.mkdir(parents=True, exist_ok=True)
    architecture = ours["deps"].get("architecture", "x86_64")
    nopyc_deps = build_deps_layer(Path(requirements), nopyc_dir, runtime=runtime, architecture=architecture, bytecode=False)

    for key, directory in ((NOPYC, nopyc_dir), (SEED, seed_dir)):
        deps_zip = nopyc_deps.zip_path if directory == nopyc_dir else _link_or_copy(nopyc_deps.zip_path, directory)
        deps_entry = {**nopyc_deps.manifest_entry(nopyc_dir), **artifact_entry(deps_zip, directory)}
        models = {name: _relocate(entry, base, directory) for name, entry in ours["models"].items()}
        if key == NOPYC:
            function_entry = _relocate(ours["function"], base, directory)
        else:
            function_entry = build_function_zip(Path(seed_function_dir), directory).manifest_entry(directory)
        variants[key] = Variant(key, LABELS[key], _write_variant(directory, deps_entry, function_entry, models))
    return variants, nopyc_deps
