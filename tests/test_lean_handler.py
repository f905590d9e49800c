"""The demo model built lean and served by the real handler with ONLY the lean deps layer (numpy + mmh3):
same prediction documents as the scikit-learn build of the same model, integrity check first,
samples self-test at INIT, and no scikit-learn, scipy or pickle anywhere near it."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DEMO_MODEL_NAME, DEMO_MODEL_VERSION
from handler_harness import FUNCTION_DIR, HandlerInitError, HandlerProcess, handler_for, kinesis_event, seed_payload, target_python


def _unzip(zip_path: Path, into: Path) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(into)
    return into / "model"


@pytest.fixture(scope="module")
def demo_layers(deps_build, lean_deps, demo_artifacts, tmp_path_factory):
    """The demo model built twice: lean (auto picks it once proven) and scikit-learn (opted out)."""
    from mlayer.model.build import build_model_layer

    dist = tmp_path_factory.mktemp("lean-dist")
    lean = build_model_layer(DEMO_MODEL_NAME, DEMO_MODEL_VERSION, deps_build, demo_artifacts, dist, lean_paths=[Path(lean_deps.python_dir)])
    sklearn = build_model_layer(DEMO_MODEL_NAME, DEMO_MODEL_VERSION, deps_build, demo_artifacts, dist, predictor="sklearn")
    root = tmp_path_factory.mktemp("lean-unzipped")
    return lean, sklearn, _unzip(lean.zip_path, root / "lean"), _unzip(sklearn.zip_path, root / "sklearn")


def lean_handler(lean_deps, model_dir: Path) -> HandlerProcess:
    return HandlerProcess(target_python(lean_deps), FUNCTION_DIR, [lean_deps.python_dir], model_dir)


@pytest.fixture(scope="module")
def both_handlers(deps_build, lean_deps, demo_layers) -> Iterator[tuple[HandlerProcess, HandlerProcess]]:
    with lean_handler(lean_deps, demo_layers[2]) as lean, handler_for(deps_build, demo_layers[3]) as sklearn:
        yield lean, sklearn


def test_auto_builds_the_demo_model_lean_with_no_pickle_and_the_proof_recorded(demo_layers):
    lean, sklearn, lean_dir, _ = demo_layers
    assert (lean.predictor, sklearn.predictor) == ("lean", "sklearn")
    names = zipfile.ZipFile(lean.zip_path).namelist()
    assert not [n for n in names if n.endswith((".joblib", ".pkl", ".pickle"))], names
    metadata = json.loads((lean_dir / "metadata.json").read_text())
    assert metadata["kind"] == "lean" and metadata["lean_proof"]["exact"] is True
    assert metadata["lean_proof"]["corpus_texts"] > 1000  # stress set + samples + the model's vocabulary
    entry = lean.manifest_entry(lean.zip_path.parent)
    assert (entry["predictor"], entry["deps_layer"], entry["lean_proof"]["exact"]) == ("lean", "lean", True)


def test_lean_handler_serves_the_same_documents_as_sklearn(both_handlers, demo_layers):
    lean, sklearn = both_handlers
    init = json.loads(lean.init_logs[0])
    assert (init["modelKind"], init["selfTestSamples"]) == ("lean", 20)
    samples = json.loads((demo_layers[2] / "metadata.json").read_text())["samples"]["inputs"]
    texts = samples + ["", "İstanbul straße ﬁnance", "refund " * 2000, "\x00"]
    event = kinesis_event([seed_payload(t) for t in texts])
    got, want = lean.invoke(event), sklearn.invoke(event)
    assert got.response["predictions"] == want.response["predictions"]  # labels and probabilities, exactly
    assert got.response["batchItemFailures"] == want.response["batchItemFailures"]  # the empty text, in both
    assert all(isinstance(p["probabilities"], dict) for p in got.response["predictions"])


def test_lean_handler_imports_neither_sklearn_nor_scipy_nor_joblib(both_handlers):
    lean, sklearn = both_handlers
    assert lean.loaded_modules(["sklearn", "scipy", "joblib", "numpy"]) == ["numpy"]
    assert "sklearn" in sklearn.loaded_modules(["sklearn"])


def test_lean_handler_defines_no_dataclass_at_init(both_handlers):
    # Each @dataclass execs generated code: the handler's 13 cost ~10 ms of CPU, ~70 ms of INIT at 256 MB.
    lean, _ = both_handlers
    assert lean.loaded_modules(["dataclasses"]) == []


def test_a_tampered_lean_array_fails_init_before_loading(lean_deps, demo_layers, tmp_path):
    import shutil

    model_dir = tmp_path / "model"
    shutil.copytree(demo_layers[2], model_dir)
    coef = model_dir / "coef.npy"
    data = bytearray(coef.read_bytes())
    data[-1] ^= 1  # one bit of one weight
    coef.write_bytes(bytes(data))
    with pytest.raises(HandlerInitError) as raised:
        lean_handler(lean_deps, model_dir).start()
    assert "coef.npy failed its integrity check" in str(raised.value)


def rehash(model_dir: Path) -> None:
    """Make metadata.json's sha256s match the (tampered) files, as an attacker who can write the layer would."""
    import hashlib

    metadata = json.loads((model_dir / "metadata.json").read_text())
    for entry in metadata["files"]:
        entry["sha256"] = hashlib.sha256((model_dir / entry["file"]).read_bytes()).hexdigest()
    (model_dir / "metadata.json").write_text(json.dumps(metadata))


def test_a_lean_array_holding_a_pickle_is_refused(lean_deps, demo_layers, tmp_path):
    """Hostile layer: coef.npy replaced by an object array (a pickle) with a matching sha256 in metadata."""
    import shutil
    import subprocess

    model_dir = tmp_path / "model"
    shutil.copytree(demo_layers[2], model_dir)
    code = "import numpy as np, sys; np.save(sys.argv[1], np.array([object()], dtype=object), allow_pickle=True)"
    subprocess.run([str(target_python(lean_deps)), "-I", "-S", "-c", f"import sys; sys.path[:0]=[{str(lean_deps.python_dir)!r}]\n" + code, str(model_dir / "coef.npy")], check=True)
    rehash(model_dir)
    with pytest.raises(HandlerInitError) as raised:
        lean_handler(lean_deps, model_dir).start()
    assert "allow_pickle=False" in str(raised.value)


def test_build_all_lists_the_lean_layer_and_the_local_lambda_attaches_it(built_manifest):
    from mlayer.runtime.layout import prepare_layout

    manifest = json.loads(built_manifest.read_text())
    model = manifest["models"][f"{DEMO_MODEL_NAME}/{DEMO_MODEL_VERSION}"]
    assert (model["predictor"], model["deps_layer"]) == ("lean", "lean")
    lean_layer, sklearn_layer = manifest["deps_lean"], manifest["deps"]
    assert set(lean_layer["packages"]) == {"numpy", "mmh3"}
    assert lean_layer["unzipped_bytes"] <= 50 * 1024 * 1024 < sklearn_layer["unzipped_bytes"]  # the target
    layout = prepare_layout(built_manifest)
    assert [layer.role for layer in layout.layers] == ["deps_lean", f"model {DEMO_MODEL_NAME}/{DEMO_MODEL_VERSION}"]
    assert not (layout.opt_dir / "python" / "sklearn").exists() and (layout.opt_dir / "python" / "numpy").is_dir()


def test_a_lean_model_on_the_sklearn_deps_layer_serves_the_same_documents(deps_build, demo_layers, both_handlers):
    """What a deploy that attaches only the scikit-learn deps layer does: numpy is there, mmh3 is not (pure-Python hash)."""
    _, sklearn = both_handlers
    samples = json.loads((demo_layers[2] / "metadata.json").read_text())["samples"]["inputs"]
    event = kinesis_event([seed_payload(t) for t in samples])
    with handler_for(deps_build, demo_layers[2]) as lean_on_sklearn_layer:
        assert json.loads(lean_on_sklearn_layer.init_logs[0])["modelKind"] == "lean"
        assert lean_on_sklearn_layer.invoke(event).response["predictions"] == sklearn.invoke(event).response["predictions"]
        assert lean_on_sklearn_layer.loaded_modules(["sklearn", "scipy"]) == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda spec: spec.update(format="mlayer-lean/99"), "format 'mlayer-lean/99' is not 'mlayer-lean/1'"),
        (lambda spec: spec["featurizer"].update(type="char"), "featurizer type 'char' is not 'count' or 'hashing'"),
        (lambda spec: spec["estimator"].update(coef="../../etc/passwd"), "coef must name one of the model's files, got '../../etc/passwd'"),
        (lambda spec: spec["estimator"].update(proba="calibrated"), "proba 'calibrated' is not null, 'ovr' or 'softmax'"),
    ],
)
def test_a_hostile_lean_spec_with_a_matching_sha256_fails_init_naming_it(lean_deps, demo_layers, tmp_path, edit, message):
    import shutil

    model_dir = tmp_path / "model"
    shutil.copytree(demo_layers[2], model_dir)
    spec = json.loads((model_dir / "lean.json").read_text())
    edit(spec)
    (model_dir / "lean.json").write_text(json.dumps(spec))
    rehash(model_dir)
    with pytest.raises(HandlerInitError) as raised:
        lean_handler(lean_deps, model_dir).start()
    assert "lean model in" in str(raised.value) and message in str(raised.value)
