"""The .skops format: audited at `model add` without loading, loaded by the handler with an explicit trusted list.

Uses a deps layer of the default pins plus skops (requirements/python3.12.txt does not carry skops:
it would add 7.3 MB unzipped to every layer for an optional format); built for real, cached.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import DEFAULT_REQUIREMENTS, DEMO_MODEL_NAME, DEMO_MODEL_VERSION, REPO
from mlayer.cli import main
from mlayer.deps.layer import build_deps_layer
from mlayer.errors import MlayerError
from mlayer.model.build import build_model_layer

if str(REPO) not in sys.path:  # `pytest` run without `python -m`
    sys.path.insert(0, str(REPO))
from bench.skops_cost import FILES, SKOPS_PINS, to_skops  # noqa: E402



@pytest.fixture(scope="module")
def skops_deps(tmp_path_factory):
    directory = tmp_path_factory.mktemp("skops-deps")
    requirements = directory / "requirements.txt"
    requirements.write_text(DEFAULT_REQUIREMENTS.read_text() + "# the .skops format\n" + SKOPS_PINS)
    return build_deps_layer(requirements, directory / "dist")


@pytest.fixture(scope="module")
def skops_files(skops_deps, demo_artifacts: Path, tmp_path_factory) -> Path:
    """The demo model's three files converted to .skops by the layer's own skops."""
    out = tmp_path_factory.mktemp("skops-files")
    source = demo_artifacts / DEMO_MODEL_NAME / DEMO_MODEL_VERSION
    to_skops(skops_deps, source, out)
    samples = json.loads((source / "metadata.json").read_text())["samples"]
    (out / "samples.json").write_text(json.dumps(samples))
    return out


def test_skops_model_registers_and_the_handler_loads_it_at_build(skops_files: Path, skops_deps, tmp_path: Path, fresh_cache: Path) -> None:
    root = tmp_path / "registry"
    files = [str(skops_files / f"{name}.skops") for name in FILES]
    assert main(["model", "add", "--name", "Sk", "--version", "v1", "--artifacts-root", str(root),
                 "--samples", str(skops_files / "samples.json"), *files]) == 0  # fmt: skip
    metadata = json.loads((root / "Sk" / "v1" / "metadata.json").read_text())
    assert [e["class"] for e in metadata["files"]][-1] == "sklearn.linear_model._logistic.LogisticRegression"
    assert metadata["pickled_with"]["scikit-learn"] == skops_deps.packages["scikit-learn"]
    build = build_model_layer("Sk", "v1", skops_deps, root, tmp_path / "dist")
    assert build.verification.status == "passed" and build.verification.samples == 20

    with pytest.raises(MlayerError, match=r"Sk/v1/PreProc1_MyModel\.skops is a \.skops file but the deps layer has no skops"):
        build_model_layer("Sk", "v1", _without_skops(skops_deps), root, tmp_path / "dist2")


def _without_skops(deps):
    import dataclasses

    return dataclasses.replace(deps, packages={k: v for k, v in deps.packages.items() if k != "skops"})


def test_a_skops_file_naming_os_system_is_refused_at_add(skops_files: Path, tmp_path: Path, capsys) -> None:
    """The schema of a real .skops file with one node changed to name posix.system (skops' own audit flags it too)."""
    hostile = tmp_path / "Evil.skops"
    with zipfile.ZipFile(skops_files / "MyModel.skops") as source, zipfile.ZipFile(hostile, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "schema.json":
                schema = json.loads(data)
                schema["content"]["content"]["verbose"] = {"__class__": "system", "__module__": "posix", "__loader__": "FunctionNode", "__id__": 1}
                data = json.dumps(schema).encode()
            out.writestr(info.filename, data)
    code = main(["model", "add", "--name", "Evil", "--version", "v1", "--artifacts-root", str(tmp_path / "reg"), str(hostile)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Evil.skops refused by mlayer model add: it imports posix.system" in err, err
    assert not (tmp_path / "reg" / "Evil").exists()


def test_not_a_skops_file(tmp_path: Path, capsys) -> None:
    bogus = tmp_path / "Model.skops"
    bogus.write_bytes(b"PK\x03\x04 not really a zip")
    assert main(["model", "add", "--name", "M", "--version", "v1", "--artifacts-root", str(tmp_path / "reg"), str(bogus)]) == 2
    assert "is not a readable .skops file (BadZipFile): save the fitted object with skops.io.dump" in capsys.readouterr().err
