"""The /opt + task-dir layout: layer order, read-only, the sha256-keyed cache, bad manifests."""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import pytest

from mlayer.errors import MlayerError
from mlayer.runtime.layout import layer_dir, prepare_layout, remove_tree

from test_runtime_support import build_manifest


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("MLAYER_CACHE_DIR", str(cache))
    yield cache
    remove_tree(cache)  # read-only trees: pytest's own cleanup could not delete them as non-root


def _overlapping_manifest(root: Path) -> Path:
    return build_manifest(
        root,
        deps_files={"python/which_layer.py": 'NAME = "deps"\n', "model/metadata.json": '"from deps"\n', "python/only_in_deps.py": ""},
        model_files={"model/metadata.json": '"from model"\n', "model/MyModel.joblib": "weights"},
    )


def test_a_later_layer_overwrites_an_earlier_one(tmp_path: Path, private_cache: Path):
    layout = prepare_layout(_overlapping_manifest(tmp_path))
    assert (layout.opt_dir / "model" / "metadata.json").read_text() == '"from model"\n'
    assert (layout.opt_dir / "python" / "only_in_deps.py").exists()  # the earlier layer's other files stay
    assert (layout.opt_dir / "model" / "MyModel.joblib").read_text() == "weights"
    assert (layout.task_dir / "lambda_function.py").exists()
    assert not (layout.task_dir / "python").exists() and not (layout.opt_dir / "lambda_function.py").exists()
    assert layout.model_dir == layout.opt_dir / "model"
    assert layout.site_packages == layout.opt_dir / "python/lib/python3.12/site-packages"
    assert (layout.model_key, layout.handler, layout.runtime.name, layout.architecture) == (
        "TestModel/v1", "lambda_function.lambda_handler", "python3.12", "x86_64")


def test_the_cached_deps_layer_is_shared_and_never_changed(tmp_path: Path, private_cache: Path):
    layout = prepare_layout(_overlapping_manifest(tmp_path / "a"))
    deps_dir = layer_dir(layout.layers[0])
    assert (deps_dir / "model" / "metadata.json").read_text() == '"from deps"\n'  # the overwrite replaced a link only
    other = build_manifest(
        tmp_path / "b",
        deps_files={"python/which_layer.py": 'NAME = "deps"\n', "model/metadata.json": '"from deps"\n', "python/only_in_deps.py": ""},
        model_files={"model/metadata.json": '"model v2"\n'},
    )
    second = prepare_layout(other)
    assert second.opt_dir != layout.opt_dir and (second.opt_dir / "model/metadata.json").read_text() == '"model v2"\n'
    # Same deps zip: its files are the same inodes in both /opt dirs (no second copy).
    for rel in ("python/which_layer.py", "python/only_in_deps.py"):
        assert (second.opt_dir / rel).stat().st_ino == (layout.opt_dir / rel).stat().st_ino == (deps_dir / rel).stat().st_ino


def test_layout_is_read_only(tmp_path: Path, private_cache: Path):
    layout = prepare_layout(_overlapping_manifest(tmp_path))
    for root in (layout.opt_dir, layout.task_dir):
        checked = 0
        for dirpath, dirnames, filenames in os.walk(root):
            for path in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
                assert stat.S_IMODE(os.lstat(path).st_mode) & 0o222 == 0, path
                checked += 1
        assert checked >= 2  # the directory itself and at least one file
    if os.geteuid() != 0:
        with pytest.raises(PermissionError):
            (layout.opt_dir / "python" / "new.py").write_text("x")


def test_layout_is_cached_by_the_zips_sha256(tmp_path: Path, private_cache: Path):
    manifest = _overlapping_manifest(tmp_path / "a")
    first = prepare_layout(manifest)
    second = prepare_layout(manifest)
    assert first.cache_hits == (False, False)
    assert second.cache_hits == (True, True)
    assert (second.opt_dir, second.task_dir) == (first.opt_dir, first.task_dir)
    # Same layers, another function: /opt is reused (no 190 MB unzip), the task dir is new.
    other = build_manifest(
        tmp_path / "b",
        deps_files={"python/which_layer.py": 'NAME = "deps"\n', "model/metadata.json": '"from deps"\n', "python/only_in_deps.py": ""},
        model_files={"model/metadata.json": '"from model"\n', "model/MyModel.joblib": "weights"},
        function_files={"lambda_function.py": "def lambda_handler(event, context):\n    return 2\n"},
    )
    third = prepare_layout(other)
    assert third.cache_hits == (True, False)
    assert third.opt_dir == first.opt_dir and third.task_dir != first.task_dir


def test_a_zip_changed_after_the_build_is_refused(tmp_path: Path, private_cache: Path):
    manifest = build_manifest(tmp_path)
    deps_zip = manifest.parent / json.loads(manifest.read_text())["deps"]["file"]
    with zipfile.ZipFile(deps_zip, "a") as archive:
        archive.writestr("python/sneaky.py", "")
    with pytest.raises(MlayerError, match=r"does not match the sha256 .* rebuild with `mlayer build all`"):
        prepare_layout(manifest)


def test_model_selection(tmp_path: Path, private_cache: Path):
    manifest = build_manifest(tmp_path)
    assert prepare_layout(manifest, "TestModel/v1").model_key == "TestModel/v1"
    with pytest.raises(MlayerError, match=r"model Other/v9 is not in .*built: TestModel/v1.*--model NAME/VERSION"):
        prepare_layout(manifest, "Other/v9")


def test_missing_manifest_is_a_one_line_error(tmp_path: Path):
    with pytest.raises(MlayerError, match="no manifest at .*run `mlayer build all` first"):
        prepare_layout(tmp_path / "dist" / "manifest.json")
