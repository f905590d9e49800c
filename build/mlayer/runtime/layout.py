"""The local stand-in for Lambda's file system: /opt from the layers, the task dir from the function zip.

Lambda extracts each layer into /opt in order (a later layer overwrites an earlier one's file)
and the function zip into /var/task; both are read-only. Here:

- the deps layer then the model layer are unzipped into one directory standing for /opt, the
  function zip into a directory standing for /var/task;
- both are cached under `<cache>/runtime-opt/<key>` and `<cache>/runtime-task/<key>`, keyed on
  the zips' sha256 (checked against the manifest), so a repeated invoke does not unzip the
  190 MB deps layer again. The deps layer itself is unzipped once into `<cache>/runtime-layer/`
  and each /opt is built from hard links to it plus the model's files (a later layer's file
  replaces the link, never the shared file), so every new model version costs its own bytes,
  not another 190 MB. A finished directory appears atomically (rename): a concurrent or
  interrupted extraction never leaves a half-filled one behind;
- both are made read-only (`chmod -R a-w`). We usually run as root, and root ignores permission
  bits, so the worker ALSO runs Python with `-B` and `sys.dont_write_bytecode = True` (no
  __pycache__ written into the layers, as on Lambda where /opt cannot be written), and, where
  the kernel lets us (see `sandbox.py`), re-mounts them read-only in the worker's own mount
  namespace, which stops even root (EROFS).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cache import cache_dir, cache_key
from ..errors import MlayerError
from ..hashing import sha256_file
from ..manifest import deps_entry_for, load_manifest
from ..runtimes import Runtime, get_runtime

OPT_KIND = "runtime-opt"
LAYER_KIND = "runtime-layer"
TASK_KIND = "runtime-task"
DEFAULT_HANDLER = "lambda_function.lambda_handler"
_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


@dataclass(frozen=True)
class LayerZip:
    """One zip that goes into the layout, as the manifest names it."""

    role: str  # "deps", "model NAME/VERSION", "function"
    path: Path
    sha256: str


@dataclass(frozen=True)
class Layout:
    """Where the extracted function lives, and what the manifest says about it."""

    manifest_path: Path
    opt_dir: Path  # stands for /opt
    task_dir: Path  # stands for /var/task
    runtime: Runtime
    architecture: str
    handler: str  # "module.function", Lambda's _HANDLER
    model_key: str | None  # "NAME/VERSION", None when the manifest has no model
    layers: tuple[LayerZip, ...]  # in extraction order (deps, then model)
    function: LayerZip
    cache_hits: tuple[bool, bool]  # (opt, task) were already extracted
    models_available: tuple[str, ...] = ()  # every NAME/VERSION the manifest lists

    @property
    def model_dir(self) -> Path:
        return self.opt_dir / "model"

    @property
    def site_packages(self) -> Path:
        return self.opt_dir / "python" / self.runtime.site_packages_suffix


def choose_model(manifest: dict[str, Any], model_key: str | None, manifest_path: Path) -> str | None:
    """The requested NAME/VERSION, else the only model, else the first in the manifest's order."""
    models = manifest.get("models") or {}
    if model_key is not None:
        if model_key not in models:
            known = ", ".join(sorted(models)) or "none"
            raise MlayerError(
                f"model {model_key} is not in {manifest_path} (built: {known}): "
                "pass --model NAME/VERSION of a built model, or add it and run `mlayer build all`"
            )
        return model_key
    return next(iter(models), None)


def _artifact(manifest: dict[str, Any], entry: dict[str, Any], role: str, manifest_path: Path) -> LayerZip:
    path = (manifest_path.parent / entry["file"]).resolve()
    if not path.is_file():
        raise MlayerError(f"{role} zip {path} named by {manifest_path} is missing: rebuild with `mlayer build all`")
    digest = sha256_file(path)
    if digest != entry.get("sha256"):
        raise MlayerError(
            f"{role} zip {path} does not match the sha256 recorded in {manifest_path}: "
            "it was changed after the build; rebuild with `mlayer build all`"
        )
    return LayerZip(role, path, digest)


def _make_writable(root: Path) -> None:
    """Undo chmod a-w so a non-root user can delete a tree we made read-only."""
    for dirpath, _dirnames, _filenames in os.walk(root):
        os.chmod(dirpath, stat.S_IRWXU | os.stat(dirpath).st_mode)


def remove_tree(root: Path) -> None:
    if root.exists():
        _make_writable(root)
        shutil.rmtree(root, ignore_errors=True)


def make_read_only(root: Path, include_root: bool = True) -> None:
    """chmod -R a-w (symlinks are left alone: their mode is not used)."""
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames + dirnames:
            path = os.path.join(dirpath, name)
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode):
                os.chmod(path, stat.S_IMODE(mode) & ~_WRITE_BITS)
        if dirpath != str(root) or include_root:
            os.chmod(dirpath, stat.S_IMODE(os.stat(dirpath).st_mode) & ~_WRITE_BITS)


def _extract(zip_path: Path, dest: Path) -> None:
    """Unzip over whatever is in dest (a later layer wins), keeping recorded permissions.

    An existing file is unlinked before it is written: it may be a hard link into the cached
    first layer (see `_link_tree`), which must never change.
    """
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile:
        raise MlayerError(f"{zip_path} is not a valid zip: rebuild it with `mlayer build all`") from None
    with archive:
        for info in archive.infolist():
            parts = Path(info.filename).parts
            if info.filename.startswith("/") or ".." in parts:
                raise MlayerError(f"{zip_path} has an entry outside its root ({info.filename}): rebuild it with `mlayer build all`")
            target = dest.joinpath(*parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists() or target.is_symlink():
                target.unlink()
            with archive.open(info) as source, open(target, "xb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            os.chmod(target, ((info.external_attr >> 16) & 0o777) or 0o644)


def _link_tree(source: Path, dest: Path) -> None:
    """Recreate source's directories in dest, with its files as hard links (copies across devices)."""
    for dirpath, _dirnames, filenames in os.walk(source):
        relative = os.path.relpath(dirpath, source)
        target_dir = dest if relative == "." else dest / relative
        target_dir.mkdir(exist_ok=True)
        for name in filenames:
            src = os.path.join(dirpath, name)
            if os.path.islink(src):
                os.symlink(os.readlink(src), target_dir / name)
                continue
            try:
                os.link(src, target_dir / name)
            except OSError:
                shutil.copy2(src, target_dir / name)


def _cached_dir(kind: str, key: str, fill: Callable[[Path], None]) -> tuple[Path, bool]:
    """cache_dir(kind, key), filled by fill(tmp) and renamed into place atomically; (path, was_cached)."""
    dest = cache_dir(kind, key)
    if dest.is_dir():
        return dest, True
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        fill(tmp)
        make_read_only(tmp, include_root=False)  # renaming a directory needs write access to it
        try:
            os.rename(tmp, dest)
        except OSError:
            if not dest.is_dir():
                raise
            return dest, True  # another process finished the same extraction first: use theirs
        os.chmod(dest, stat.S_IMODE(os.stat(dest).st_mode) & ~_WRITE_BITS)
        return dest, False
    finally:
        if tmp.exists():
            remove_tree(tmp)


def layer_dir(layer: LayerZip) -> Path:
    """One zip extracted on its own (the 190 MB deps layer is unzipped once per sha256)."""
    return _cached_dir(LAYER_KIND, cache_key(LAYER_KIND, zip=layer.sha256), lambda tmp: _extract(layer.path, tmp))[0]


def extracted_dir(kind: str, zips: tuple[LayerZip, ...]) -> tuple[Path, bool]:
    """These zips extracted in order into one cached directory; (path, was_cached).

    The first zip comes from its own cache as hard links, so a new model over the same deps
    costs the model's bytes, not another copy of the deps layer.
    """

    def fill(tmp: Path) -> None:
        _link_tree(layer_dir(zips[0]), tmp)
        for zip_ in zips[1:]:
            _extract(zip_.path, tmp)

    return _cached_dir(kind, cache_key(kind, zips=[z.sha256 for z in zips]), fill)


def prepare_layout(manifest_path: Path, model_key: str | None = None) -> Layout:
    """Extract (or reuse) /opt = deps + model layers and /var/task = function zip for this manifest."""
    manifest_path = Path(manifest_path).resolve()
    manifest = load_manifest(manifest_path)
    if not manifest.get("function"):
        raise MlayerError(f"{manifest_path} has no function zip: run `mlayer build all`")
    if not manifest.get("deps"):
        raise MlayerError(f"{manifest_path} has no deps layer: run `mlayer build all`")
    chosen = choose_model(manifest, model_key, manifest_path)
    deps_role, deps = deps_entry_for(manifest, chosen)  # a lean model gets the lean (numpy + mmh3) layer
    assert deps is not None
    layers = [_artifact(manifest, deps, deps_role, manifest_path)]
    if chosen is not None:
        layers.append(_artifact(manifest, manifest["models"][chosen], f"model {chosen}", manifest_path))
    function = _artifact(manifest, manifest["function"], "function", manifest_path)
    opt_dir, opt_hit = extracted_dir(OPT_KIND, tuple(layers))
    task_dir, task_hit = extracted_dir(TASK_KIND, (function,))
    return Layout(
        manifest_path=manifest_path,
        opt_dir=opt_dir,
        task_dir=task_dir,
        runtime=get_runtime(deps.get("runtime", "python3.12")),
        architecture=deps.get("architecture", "x86_64"),
        handler=manifest["function"].get("handler") or DEFAULT_HANDLER,
        model_key=chosen,
        layers=tuple(layers),
        function=function,
        cache_hits=(opt_hit, task_hit),
        models_available=tuple(manifest.get("models") or {}),
    )
