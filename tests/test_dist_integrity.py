"""`mlayer build all` never records a zip it has not verified: corrupt or swapped files in dist/ are rebuilt."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from conftest import DEFAULT_REQUIREMENTS, DEFAULT_RUNTIME, REPO
from mlayer.build_all import build_all


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(dist: Path, artifacts: Path, predictor: str = "auto") -> dict:
    path = build_all(DEFAULT_REQUIREMENTS, artifacts, REPO / "function", dist, runtime=DEFAULT_RUNTIME, predictor=predictor)
    return json.loads(path.read_text())


def entries(manifest: dict) -> dict[str, dict]:
    return {"deps": manifest["deps"], "function": manifest["function"], **{f"model {k}": v for k, v in manifest["models"].items()}}


@pytest.fixture(scope="module")
def clean_build(demo_artifacts: Path, deps_build, tmp_path_factory) -> tuple[Path, dict, dict[str, str]]:
    dist = tmp_path_factory.mktemp("dist-integrity")
    manifest = build(dist, demo_artifacts)
    return dist, manifest, {label: sha256(dist / entry["file"]) for label, entry in entries(manifest).items()}


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("kind", ["deps", "function", "model"])
def test_a_flipped_byte_in_any_zip_is_rebuilt_not_recorded(kind: str, clean_build, demo_artifacts: Path) -> None:
    dist, manifest, good = clean_build
    label = next(label for label in good if label.startswith(kind))
    target = dist / entries(manifest)[label]["file"]
    flip_byte(target)
    assert sha256(target) != good[label]

    rebuilt = entries(build(dist, demo_artifacts))
    assert rebuilt[label]["file"] == entries(manifest)[label]["file"]
    assert sha256(target) == good[label] == rebuilt[label]["sha256"]
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None


@pytest.mark.parametrize("predictor", ["sklearn", "lean"])
def test_a_model_zip_with_swapped_file_and_metadata_is_rebuilt(predictor: str, demo_artifacts: Path, deps_build, tmp_path: Path) -> None:
    """A valid zip in which one model file and its sha256 in the inner metadata.json were replaced together."""
    dist = tmp_path / "dist"
    manifest = build(dist, demo_artifacts, predictor)
    label, entry = next((label, entry) for label, entry in entries(manifest).items() if label.startswith("model"))
    assert entry["predictor"] == predictor
    target = dist / entry["file"]
    good = sha256(target)
    with zipfile.ZipFile(target) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    metadata = json.loads(contents["model/metadata.json"])
    victim = metadata["files"][-1]  # the estimator (scikit-learn) or a lean array
    swapped = b"\x80\x04N."  # any other bytes (a pickle of None)
    contents[f"model/{victim['file']}"] = swapped
    victim["sha256"] = hashlib.sha256(swapped).hexdigest()
    contents["model/metadata.json"] = json.dumps(metadata).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)

    rebuilt = entries(build(dist, demo_artifacts, predictor))
    assert sha256(target) == good == rebuilt[label]["sha256"]
    with zipfile.ZipFile(target) as archive:
        inner = json.loads(archive.read("model/metadata.json"))
    registered = json.loads((demo_artifacts / "MyModel" / "20190104v1" / "metadata.json").read_text())
    if predictor == "lean":  # the lean layer lists its arrays, and the registered files it was exported from
        assert [(f["file"], f["sha256"]) for f in inner["source_files"]] == [(f["file"], f["sha256"]) for f in registered["files"]]
        assert victim["file"] in {f["file"] for f in inner["files"]} and inner["lean_proof"]["exact"] is True
    else:
        assert inner == registered
