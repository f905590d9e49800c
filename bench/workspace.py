"""What the suite runs on: a deps layer, a registered demo model and `build_all`'s manifest.

Either handed in (the smoke test passes its session fixtures) or built here into the bench's
work directory with mlayer's own builders (the mlayer cache makes a repeat run cheap).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlayer.build_all import build_all
from mlayer.deps.layer import DepsBuild, build_deps_layer
from mlayer.manifest import load_manifest

from .config import REPO, BenchConfig

DEMO_NAME = "MyModel"
DEMO_VERSION = "20190104v1"
SECOND_VERSION = "20190105v1"
DEFAULT_CONFIGURED_MEMORY_MB = 1024


@dataclass
class Workspace:
    work_dir: Path
    deps: DepsBuild
    artifacts_root: Path
    manifest: Path

    @property
    def model_entry(self) -> dict[str, Any]:
        models = load_manifest(self.manifest)["models"]
        return models.get(f"{DEMO_NAME}/{DEMO_VERSION}") or next(iter(models.values()))

    @property
    def model_zip(self) -> Path:
        return self.manifest.parent / self.model_entry["file"]

    @property
    def interpreter(self) -> Path:
        if self.deps.interpreter is None:
            raise RuntimeError(f"no Python {self.deps.runtime.python_version} interpreter: the bench needs the target runtime's Python")
        return Path(self.deps.interpreter)


def prepare(config: BenchConfig, work_dir: Path, deps: DepsBuild | None = None, artifacts_root: Path | None = None, manifest: Path | None = None) -> Workspace:
    """Build (or reuse) the deps layer, the demo model and the manifest."""
    from mlayer.model.train_demo import train_demo

    dist = work_dir / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    deps = deps or build_deps_layer(config.requirements, dist, runtime=config.runtime)
    if artifacts_root is None:
        artifacts_root = work_dir / "model_artifacts"
        if not (artifacts_root / DEMO_NAME / DEMO_VERSION).exists():
            train_demo(deps, artifacts_root, name=DEMO_NAME, version=DEMO_VERSION)
    if manifest is None:
        # "ours" is the scikit-learn build (the seed-style variant and the floor load its pickles);
        # bench.lean builds the lean one beside it
        manifest = build_all(config.requirements, artifacts_root, config.function_dir, dist, runtime=config.runtime, predictor="sklearn")
    return Workspace(work_dir, deps, Path(artifacts_root), Path(manifest))


def copy_artifacts(artifacts_root: Path, dest: Path) -> Path:
    """A private copy of the registry (the model-only rebuild registers a version into it)."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(artifacts_root, dest)
    return dest


def register_second_version(artifacts_root: Path, name: str = DEMO_NAME, from_version: str = DEMO_VERSION, version: str = SECOND_VERSION) -> str:
    """Register the demo model's files again as a new version (a model-only change); return NAME/VERSION."""
    from mlayer.model.registry import add_model, load_metadata

    source = Path(artifacts_root) / name / from_version
    metadata = load_metadata(source)
    pickled = {k: v for k, v in (metadata.get("pickled_with") or {}).items() if isinstance(v, str)}
    add_model(
        name,
        version,
        [source / entry["file"] for entry in metadata["files"]],
        Path(artifacts_root),
        samples=metadata.get("samples"),
        pickled_with_overrides=pickled,
        override_source="environment",
    )
    return f"{name}/{version}"


def terraform_memory_default(variables_tf: Path = REPO / "variables.tf") -> int:
    """The root module's memory_size default: the memory a deployed function runs at."""
    try:
        text = variables_tf.read_text()
    except OSError:
        return DEFAULT_CONFIGURED_MEMORY_MB
    match = re.search(r'variable\s+"memory_size"\s*\{.*?default\s*=\s*(\d+)', text, re.S)
    return int(match.group(1)) if match else DEFAULT_CONFIGURED_MEMORY_MB
