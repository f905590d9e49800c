"""`mlayer build all`: the deps layer, every registered model, the function zip, then dist/manifest.json.

The manifest is written last and atomically, so a failure at any step leaves the previous
manifest (and everything it points at) as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .errors import MlayerError
from .function_zip import build_function_zip
from .lean_deps import build_lean_deps
from .manifest import MANIFEST_NAME, check_size, empty_manifest, write_manifest
from .runtimes import DEFAULT_ARCHITECTURE, DEFAULT_RUNTIME


def select_models(registered: Sequence[tuple[str, str]], wanted: Sequence[str] | None) -> list[tuple[str, str]]:
    """All registered NAME/VERSION pairs, or just the wanted ones (each must be registered)."""
    if not wanted:
        return list(registered)
    known = {f"{name}/{version}": (name, version) for name, version in registered}
    missing = [key for key in wanted if key not in known]
    if missing:
        raise MlayerError(
            f"model {missing[0]} is not registered: add it with `mlayer model add --name NAME --version VERSION FILE...` "
            f"(registered: {', '.join(sorted(known)) or 'none'})"
        )
    return [known[key] for key in wanted]


def build_all(
    requirements: Path,
    artifacts_root: Path,
    function_dir: Path,
    dist_dir: Path,
    runtime: str = DEFAULT_RUNTIME,
    architecture: str = DEFAULT_ARCHITECTURE,
    backend: str = "pip",
    image: str | None = None,
    slim: bool = True,
    bytecode: bool = True,
    models: Sequence[str] | None = None,
    predictor: str = "auto",
    verify_texts: Sequence[str] | None = None,
) -> Path:
    """Build everything and return the manifest's path."""
    from .deps.layer import build_deps_layer
    from .model.build import build_model_layer
    from .model.registry import list_models

    dist_dir = Path(dist_dir)
    registered = list_models(Path(artifacts_root))
    chosen = select_models(registered, models)
    if not chosen:
        raise MlayerError(
            f"no models registered under {artifacts_root}: run `mlayer train-demo` or `mlayer model add --name NAME --version VERSION FILE...`"
        )
    deps = build_deps_layer(
        Path(requirements), dist_dir, runtime=runtime, architecture=architecture,
        backend=backend, image=image, slim=slim, bytecode=bytecode,
    )
    lean = None if predictor == "sklearn" else build_lean_deps(
        Path(requirements), dist_dir, deps, runtime=runtime, architecture=architecture, backend=backend, image=image, slim=slim, bytecode=bytecode
    )
    lean_paths = [Path(lean.python_dir)] if lean is not None else []
    model_builds = [
        build_model_layer(
            name, version, deps, Path(artifacts_root), dist_dir,
            predictor=predictor, verify_texts=verify_texts, lean_paths=lean_paths, function_dir=Path(function_dir),
        )
        for name, version in chosen
    ]
    function = build_function_zip(Path(function_dir), dist_dir, deps.interpreter)  # .pyc for the runtime's Python

    manifest = empty_manifest()
    manifest["deps"] = deps.manifest_entry(dist_dir)
    manifest["function"] = function.manifest_entry(dist_dir)
    manifest["models"] = {f"{b.name}/{b.version}": b.manifest_entry(dist_dir) for b in model_builds}
    if lean is not None:
        manifest["deps_lean"] = lean.manifest_entry(dist_dir)
    else:  # lean models still run on the scikit-learn layer (it has numpy), with pure-Python hashing
        for entry in manifest["models"].values():
            entry["deps_layer"] = "sklearn"
    check_size(manifest)
    path = dist_dir / MANIFEST_NAME
    write_manifest(path, manifest)
    return path
