"""build_model_layer: compatibility, integrity, a real load + samples run in python3.12 with only the
real deps layer, deterministic zips, and the verification cache."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from mlayer.errors import MlayerError
from mlayer.isolated import run_isolated
from mlayer.model.build import build_model_layer
from mlayer.model.compat import check_compatibility
from mlayer.model.registry import add_model
from mlayer.runtimes import get_runtime

NAME, VERSION = "MyModel", "20190104v1"
SEED_FILES = ["PreProc1_MyModel.joblib", "PreProc2_MyModel.joblib", "MyModel.joblib"]


@pytest.fixture
def registry(demo_artifacts: Path, tmp_path: Path) -> Path:
    """A private copy of the demo registry, free to damage."""
    root = tmp_path / "model_artifacts"
    shutil.copytree(demo_artifacts, root)
    return root


def model_dir(root: Path) -> Path:
    return root / NAME / VERSION


def edit_metadata(root: Path, **changes) -> None:
    path = model_dir(root) / "metadata.json"
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if key in ("scikit-learn", "numpy", "python"):
            data["pickled_with"][key] = value
        else:
            data[key] = value
    path.write_text(json.dumps(data, indent=2))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_demo_model_builds_and_its_samples_pass(registry: Path, deps_build, tmp_path: Path, fresh_cache: Path) -> None:
    dist = tmp_path / "dist"
    build = build_model_layer(NAME, VERSION, deps_build, registry, dist, predictor="sklearn")  # the scikit-learn layer's content

    assert build.verification.status == "passed" and build.verification.samples == 20
    assert not build.verification.cache_hit
    assert build.zip_path.parent == dist
    assert build.zip_path.name.startswith(f"model-{NAME}-{VERSION}-") and len(build.zip_path.stem.rsplit("-", 1)[1]) == 12
    with zipfile.ZipFile(build.zip_path) as archive:
        names = archive.namelist()
        assert sorted(names) == sorted(f"model/{f}" for f in [*SEED_FILES, "metadata.json"])
        for name in SEED_FILES + ["metadata.json"]:
            assert archive.read(f"model/{name}") == (model_dir(registry) / name).read_bytes()
    entry = build.manifest_entry(dist)
    assert entry["file"] == build.zip_path.name and entry["sha256"] == sha256(build.zip_path)
    assert (entry["name"], entry["version"]) == (NAME, VERSION)
    assert entry["files"] == {f: sha256(model_dir(registry) / f) for f in SEED_FILES}
    assert entry["unzipped_bytes"] == sum((model_dir(registry) / f).stat().st_size for f in [*SEED_FILES, "metadata.json"])
    assert not entry["requires_s3_upload"]
    assert list(dist.iterdir()) == [build.zip_path]  # nothing else, no temp files


def test_zip_is_deterministic_and_the_rebuild_is_cached(registry: Path, deps_build, tmp_path: Path, fresh_cache: Path) -> None:
    started = time.perf_counter()
    first = build_model_layer(NAME, VERSION, deps_build, registry, tmp_path / "dist1")
    cold = time.perf_counter() - started
    started = time.perf_counter()
    second = build_model_layer(NAME, VERSION, deps_build, registry, tmp_path / "dist2")
    cached = time.perf_counter() - started

    assert first.zip_path.name == second.zip_path.name
    assert sha256(first.zip_path) == sha256(second.zip_path)
    assert not first.verification.cache_hit and second.verification.cache_hit
    assert cached < 1.0, f"cached rebuild took {cached:.2f} s"
    assert cold > cached
    # the same dist dir again: the zip is already there
    third = build_model_layer(NAME, VERSION, deps_build, registry, tmp_path / "dist2")
    assert third.cache_hit and sha256(third.zip_path) == sha256(first.zip_path)
    print(f"build_model_layer cold {cold:.2f} s, cached {cached * 1000:.0f} ms")


def test_tampered_file(registry: Path, deps_build, tmp_path: Path) -> None:
    target = model_dir(registry) / "PreProc2_MyModel.joblib"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(MlayerError, match=r"PreProc2_MyModel\.joblib does not match its sha256 in metadata\.json \(tampered or corrupted") as info:
        build_model_layer(NAME, VERSION, deps_build, registry, tmp_path / "dist")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "dist").exists()


def test_recorded_sklearn_version_mismatch_names_both_sides(registry: Path, deps_build, tmp_path: Path) -> None:
    edit_metadata(registry, **{"scikit-learn": "1.8.0"})
    layer = deps_build.packages["scikit-learn"]
    with pytest.raises(MlayerError) as info:
        build_model_layer(NAME, VERSION, deps_build, registry, tmp_path / "dist")
    message = str(info.value)
    assert f"MyModel/20190104v1 was pickled with scikit-learn 1.8.0 but the python3.12 deps layer has scikit-learn {layer}" in message
    assert "retrain with the layer's versions (`mlayer train-demo` / your pipeline pinned to requirements/python3.12.txt)" in message
    assert message.endswith("or pin the layer to the model's scikit-learn==1.8.0")
    assert not (tmp_path / "dist").exists()


def test_numpy_major_mismatch_and_python_minor_warning(registry: Path, deps_build, tmp_path: Path, capsys, fresh_cache: Path) -> None:
    edit_metadata(registry, numpy="1.26.4")
    with pytest.raises(MlayerError, match=r"pickled with numpy 1\.26\.4 \(major 1\) but the python3\.12 deps layer has numpy 2\.\d+\.\d+ \(major 2\): retrain"):
        build_model_layer(NAME, VERSION, deps_build, registry, tmp_path / "dist")
    edit_metadata(registry, numpy=deps_build.packages["numpy"], python="3.11")
    capsys.readouterr()
    build = build_model_layer(NAME, VERSION, deps_build, registry, tmp_path / "dist")
    assert build.verification.status == "passed"
    assert "mlayer: warning: MyModel/20190104v1 was pickled with Python 3.11 but python3.12 runs Python 3.12" in capsys.readouterr().err


def test_compatibility_against_another_runtime(demo_artifacts: Path, deps_build) -> None:
    metadata = json.loads((model_dir(demo_artifacts) / "metadata.json").read_text())
    warnings = check_compatibility(metadata, deps_build.packages, get_runtime("python3.13"))
    assert warnings == [
        "MyModel/20190104v1 was pickled with Python 3.12 but python3.13 runs Python 3.13: "
        "its samples are checked on Python 3.13 next; retrain on 3.13 to be safe"
    ]
    no_sklearn = {k: v for k, v in deps_build.packages.items() if k != "scikit-learn"}
    with pytest.raises(MlayerError, match=r"the python3\.12 deps layer has no scikit-learn.*add scikit-learn==1\.9\.1 to requirements/python3\.12\.txt"):
        check_compatibility(metadata, no_sklearn, deps_build.runtime)


@pytest.fixture(scope="module")
def foreign_pickles(deps_build, tmp_path_factory) -> Path:
    """A model older scikit-learn wrote, and a preprocessor whose class lives in a module the layer lacks."""
    out = tmp_path_factory.mktemp("foreign")
    helper = out / "src" / "textutils.py"
    helper.parent.mkdir()
    helper.write_text("class Lowercase:\n    def fit(self, X, y=None):\n        return self\n    def transform(self, X):\n        return [x.lower() for x in X]\n")
    code = textwrap.dedent(f"""
        from pathlib import Path
        import joblib, sklearn.base
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.linear_model import LogisticRegression
        import textutils
        OUT = Path({str(out)!r})
        joblib.dump(textutils.Lowercase(), OUT / "PreProc0_Custom.joblib")
        texts = ["refund my invoice", "site is down", "reset password", "love it"] * 3
        labels = ["billing", "outage", "account", "feedback"] * 3
        vectorizer = CountVectorizer().fit(texts)
        sklearn.base.__version__ = "1.8.0"  # as scikit-learn 1.8.0 would record it
        joblib.dump(vectorizer, OUT / "PreProc1_Old.joblib")
        joblib.dump(LogisticRegression().fit(vectorizer.transform(texts), labels), OUT / "Old.joblib")
    """)
    proc = run_isolated(deps_build.interpreter, [deps_build.python_dir, helper.parent], code)
    assert proc.returncode == 0, proc.stderr
    return out


def test_model_pickled_by_another_sklearn(foreign_pickles: Path, deps_build, tmp_path: Path) -> None:
    root = tmp_path / "reg"
    add_model("Old", "v1", [foreign_pickles / "PreProc1_Old.joblib", foreign_pickles / "Old.joblib"], root)
    with pytest.raises(MlayerError, match=r"Old/v1 was pickled with scikit-learn 1\.8\.0 but the python3\.12 deps layer has scikit-learn 1\.9\.1: .*scikit-learn==1\.8\.0"):
        build_model_layer("Old", "v1", deps_build, root, tmp_path / "dist")


def test_metadata_that_lies_about_the_version_is_caught_by_the_load(foreign_pickles: Path, deps_build, tmp_path: Path, fresh_cache: Path) -> None:
    # metadata says 1.9.1 (as a wrong --sklearn-version would on a non-sklearn pickle); the pickle says 1.8.0
    root = tmp_path / "reg"
    dest = add_model("Old", "v1", [foreign_pickles / "PreProc1_Old.joblib", foreign_pickles / "Old.joblib"], root)
    data = json.loads((dest / "metadata.json").read_text())
    data["pickled_with"]["scikit-learn"] = deps_build.packages["scikit-learn"]
    (dest / "metadata.json").write_text(json.dumps(data))
    with pytest.raises(MlayerError, match=r"Old/v1 fails the handler's start-up \(load\) in Python 3\.12 with only the deps layer \(model file \S+/PreProc1_Old\.joblib was pickled with another scikit-learn than this deps layer's \(Trying to unpickle estimator CountVectorizer from version 1\.8\.0 when using version 1\.9\.1"):
        build_model_layer("Old", "v1", deps_build, root, tmp_path / "dist")


def test_file_that_fails_to_unpickle_names_file_and_exception(foreign_pickles: Path, registry: Path, deps_build, tmp_path: Path, fresh_cache: Path) -> None:
    model = model_dir(registry)
    add_model("Custom", "v1", [foreign_pickles / "PreProc0_Custom.joblib", model / "PreProc1_MyModel.joblib", model / "PreProc2_MyModel.joblib", model / "MyModel.joblib"], registry,
              trust=["textutils.Lowercase"])  # fmt: skip
    with pytest.raises(MlayerError) as info:
        build_model_layer("Custom", "v1", deps_build, registry, tmp_path / "dist")
    message = str(info.value)
    assert "Custom/v1 fails the handler's start-up (load) in Python 3.12 with only the deps layer (model file " in message
    assert "Custom/v1/PreProc0_Custom.joblib could not be loaded: ModuleNotFoundError: No module named 'textutils')" in message
    assert "make sure every module the pickle needs is in the deps layer" in message
    assert not (tmp_path / "dist").exists()


def test_garbage_with_a_matching_hash_is_refused_before_loading(registry: Path, deps_build, tmp_path: Path, fresh_cache: Path) -> None:
    # A registry written by hand: the file is junk but metadata.json carries its sha256.
    target = model_dir(registry) / "MyModel.joblib"
    target.write_bytes(b"\x80\x04this is not a pickle at all")
    data = json.loads((model_dir(registry) / "metadata.json").read_text())
    data["files"][2]["sha256"] = sha256(target)
    (model_dir(registry) / "metadata.json").write_text(json.dumps(data))
    with pytest.raises(MlayerError, match=r"MyModel/20190104v1/MyModel\.joblib is not a readable joblib/pickle file \(.+\): save the fitted object with joblib\.dump"):
        build_model_layer(NAME, VERSION, deps_build, registry, tmp_path / "dist")


def test_samples_that_disagree(registry: Path, deps_build, tmp_path: Path, fresh_cache: Path) -> None:
    registered = json.loads((model_dir(registry) / "metadata.json").read_text())["samples"]
    expected = list(registered["expected"])
    swap = {"billing": "outage", "outage": "billing", "account": "feedback", "feedback": "account"}
    for index in (3, 7, 11):
        expected[index] = swap[expected[index]]
    samples = tmp_path / "samples.json"
    samples.write_text(json.dumps({"inputs": registered["inputs"], "expected": expected}))
    model = model_dir(registry)
    add_model(NAME, "20190104v2", [model / f for f in SEED_FILES], registry, samples=samples)
    with pytest.raises(MlayerError) as info:
        build_model_layer(NAME, "20190104v2", deps_build, registry, tmp_path / "dist")
    message = str(info.value)
    assert message.startswith("MyModel/20190104v2 fails the handler's start-up (self-test) in Python 3.12 with only the deps layer (self-test failed on metadata.json samples.inputs[3]")
    assert f"expected label {expected[3]!r}, got {registered['expected'][3]!r}" in message
    assert not (tmp_path / "dist").exists()


def test_model_without_samples_still_loads(registry: Path, deps_build, tmp_path: Path, capsys, fresh_cache: Path) -> None:
    model = model_dir(registry)
    add_model(NAME, "nosamples", [model / f for f in SEED_FILES], registry)
    build = build_model_layer(NAME, "nosamples", deps_build, registry, tmp_path / "dist")
    assert build.verification.status == "passed" and build.verification.samples == 0
    assert "has no samples, so only loading was checked" in capsys.readouterr().err


def test_missing_empty_and_malformed_registrations(registry: Path, deps_build, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    with pytest.raises(MlayerError, match=r"model directory .*MyModel/20190105v1 does not exist: register the model"):
        build_model_layer(NAME, "20190105v1", deps_build, registry, dist)
    (registry / NAME / "20190106v1").mkdir()
    with pytest.raises(MlayerError, match=r"MyModel/20190106v1 has no metadata\.json"):
        build_model_layer(NAME, "20190106v1", deps_build, registry, dist)
    (model_dir(registry) / "metadata.json").write_text("{\"schema_version\": 1, \"name\": ")
    with pytest.raises(MlayerError, match=r"MyModel/20190104v1/metadata\.json: is not valid JSON"):
        build_model_layer(NAME, VERSION, deps_build, registry, dist)
    with pytest.raises(MlayerError, match=r"model version '2019/01/04' must start with a letter or digit and use only"):
        build_model_layer(NAME, "2019/01/04", deps_build, registry, dist)
    assert not dist.exists()


def test_without_a_target_interpreter_the_load_check_is_skipped_loudly(registry: Path, deps_build, tmp_path: Path, capsys, monkeypatch) -> None:
    # A host with no Python 3.12 anywhere: no pyenv versions, nothing on PATH, no override.
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    monkeypatch.delenv("MLAYER_PYTHON_3_12", raising=False)
    deps = dataclasses.replace(deps_build, interpreter=None)
    build = build_model_layer(NAME, VERSION, deps, registry, tmp_path / "dist")
    assert build.verification.status.startswith("skipped: no Python 3.12 interpreter on this host")
    assert "pyenv install 3.12" in capsys.readouterr().err
    assert build.zip_path.is_file()
    # the checks that need no interpreter still run
    edit_metadata(registry, **{"scikit-learn": "1.8.0"})
    with pytest.raises(MlayerError, match="pickled with scikit-learn 1.8.0"):
        build_model_layer(NAME, VERSION, deps, registry, tmp_path / "dist")


def test_a_layer_this_host_cannot_run_is_not_loaded(registry: Path, deps_build, tmp_path: Path, capsys) -> None:
    deps = dataclasses.replace(deps_build, architecture="arm64")
    build = build_model_layer(NAME, VERSION, deps, registry, tmp_path / "dist")
    assert build.verification.status == "skipped: this host cannot run arm64 code, so MyModel/20190104v1 was not loaded against the layer"
    assert "load and samples check skipped" in capsys.readouterr().err


def test_summary_for_the_cli(registry: Path, deps_build, tmp_path: Path) -> None:
    from mlayer.model.summary import summary_dict, summary_text

    build = build_model_layer(NAME, VERSION, deps_build, registry, tmp_path / "dist")
    text = summary_text(build)
    assert text.startswith(f"model MyModel/20190104v1 -> {build.zip_path} (") and "20 samples passed with the deps layer" in text
    assert "served lean (numpy only; bit-identical to scikit-learn on " in text
    data = summary_dict(build)
    assert data["sha256"] == sha256(build.zip_path) and data["verification"]["samples"] == 20 and data["kind"] == "lean"  # auto: proven lean
    json.dumps(data)  # JSON-able as is


@pytest.fixture(scope="module")
def pipelines(deps_build, tmp_path_factory) -> Path:
    """A text Pipeline and a tabular regression Pipeline, each with samples from its own predictions."""
    out = tmp_path_factory.mktemp("pipelines")
    code = textwrap.dedent(f"""
        import json
        from pathlib import Path
        import joblib, numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import Ridge, SGDClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        OUT = Path({str(out)!r})
        texts = ["refund my invoice", "site is down", "reset password", "love it"] * 5
        labels = ["billing", "outage", "account", "feedback"] * 5
        text = make_pipeline(TfidfVectorizer(), SGDClassifier(random_state=0)).fit(texts, labels)
        joblib.dump(text, OUT / "text.joblib", compress=3)
        probe = ["please refund", "down again", "love the app"]
        (OUT / "text.json").write_text(json.dumps({{"inputs": probe, "expected": text.predict(probe).tolist()}}))
        rng = np.random.RandomState(0)
        X = rng.rand(200, 4)
        y = X @ np.array([1.5, -2.0, 0.5, 3.0]) + 0.1
        reg = make_pipeline(StandardScaler(), Ridge(alpha=0.1)).fit(X, y)
        joblib.dump(reg, OUT / "reg.joblib")
        rows = X[:5].tolist()
        (OUT / "reg.jsonl").write_text("".join(json.dumps({{"input": r, "expected": float(p)}}) + "\\n" for r, p in zip(rows, reg.predict(rows))))
    """)
    proc = run_isolated(deps_build.interpreter, [deps_build.python_dir], code)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.parametrize(("file", "samples"), [("text.joblib", "text.json"), ("reg.joblib", "reg.jsonl")])
def test_pipeline_models_build(pipelines: Path, deps_build, tmp_path: Path, file: str, samples: str, fresh_cache: Path) -> None:
    root = tmp_path / "reg"
    add_model("Pipe", "v1", [pipelines / file], root, samples=pipelines / samples)
    build = build_model_layer("Pipe", "v1", deps_build, root, tmp_path / "dist")
    # the text pipeline is proven lean; the tabular one (StandardScaler) is not a lean kind and stays scikit-learn
    assert (build.metadata["kind"], build.predictor) == (("lean", "lean") if file == "text.joblib" else ("pipeline", "sklearn"))
    assert build.verification.status == "passed" and build.verification.samples in (3, 5)


def test_float_outputs_compare_with_tolerance_but_not_loosely(pipelines: Path, deps_build, tmp_path: Path, fresh_cache: Path) -> None:
    lines = [json.loads(line) for line in (pipelines / "reg.jsonl").read_text().splitlines()]
    lines[2]["expected"] += 1e-3  # a real difference, far above float noise
    off = tmp_path / "off.jsonl"
    off.write_text("".join(json.dumps(line) + "\n" for line in lines))
    root = tmp_path / "reg"
    add_model("Pipe", "v2", [pipelines / "reg.joblib"], root, samples=off)
    with pytest.raises(MlayerError, match=r"Pipe/v2 fails the handler's start-up \(self-test\) .*samples\.inputs\[2\]"):
        build_model_layer("Pipe", "v2", deps_build, root, tmp_path / "dist")
