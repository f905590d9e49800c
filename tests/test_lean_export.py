"""The lean exporter and its build-time proof, over every model kind it claims, trained for real.

Each supported kind must be proven bit-identical (labels, decision values, probabilities, compared
as float64 bits) to scikit-learn on the verification corpus; each unsupported kind must be refused
naming why; and the proof must catch a port that is only *nearly* right.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from lean_kinds import REFUSED, SUPPORTED, kind_of, train_kinds

from mlayer.errors import MlayerError
from mlayer.model.build import build_model_layer
from mlayer.model.lean_corpus import read_verify_texts, stress_texts
from mlayer.model.lean_export import FUNCTION_DIR, export_lean
from mlayer.model.registry import add_model

REFUSAL_REASONS = {
    "refuse_char_analyzer": "CountVectorizer analyzer='char': only the word analyzer is supported",
    "refuse_custom_preprocessor": "CountVectorizer has a custom preprocessor: its code cannot be exported",
    "refuse_multinomial_nb": "MultinomialNB is not a supported estimator",
    "refuse_modified_huber": "SGDClassifier(loss='modified_huber') has a predict_proba the lean runtime does not copy",
}


@pytest.fixture(scope="module")
def trained(deps_build, tmp_path_factory) -> tuple[Path, dict[str, list[dict[str, str]]]]:
    out = tmp_path_factory.mktemp("lean-kinds")
    return out, train_kinds(deps_build, out, SUPPORTED + REFUSED)


def metadata_for(name: str, files: list[dict[str, str]]) -> dict:
    return {"name": name, "version": "v1", "kind": kind_of(files), "files": files}


def export(trained, name: str, deps_build, lean_deps, **options):
    out, files = trained
    model_dir = out / name
    metadata = metadata_for(name, files[name])
    (model_dir / "metadata.json").write_text(json.dumps(metadata))
    return export_lean(model_dir, metadata, Path(deps_build.interpreter), Path(deps_build.python_dir), extra_paths=[Path(lean_deps.python_dir)], **options)


@pytest.mark.parametrize("name", SUPPORTED)
def test_every_supported_kind_is_proven_bit_identical(trained, name, deps_build, lean_deps):
    result = export(trained, name, deps_build, lean_deps)
    assert result.exact, result.reason
    assert result.texts >= len(stress_texts())
    assert "lean.json" in result.files and not [f for f in result.files if not f.endswith((".json", ".npy"))]
    if "hashing" in name:  # the shipped C hash and the pure-Python fallback are both proven
        assert result.hashers == ["mmh3", "pure-python"]


@pytest.mark.parametrize("name", REFUSED)
def test_unsupported_kinds_are_refused_naming_why(trained, name, deps_build, lean_deps):
    result = export(trained, name, deps_build, lean_deps)
    assert not result.exact and result.files == [] and result.directory is None
    assert REFUSAL_REASONS[name] in result.reason


def _naive_copy(tmp_path: Path) -> Path:
    """function/ with the lean predictor's row sums done by numpy's own reduction (pairwise summation)."""
    copy = tmp_path / "function"
    shutil.copytree(FUNCTION_DIR, copy)
    source = (copy / "lean_predictor.py").read_text()
    exact = "    lengths = np.diff(indptr)\n"
    assert exact in source
    naive = exact + "    return np.stack([values[a:b].sum(axis=0) for a, b in zip(indptr[:-1], indptr[1:])]) if len(lengths) else np.zeros((0,) + values.shape[1:])\n"
    (copy / "lean_predictor.py").write_text(source.replace(exact, naive, 1))
    return copy


def test_the_proof_refuses_a_port_that_is_only_nearly_right(trained, deps_build, lean_deps, tmp_path):
    result = export(trained, "count12_tfidf_logreg_multinomial", deps_build, lean_deps, function_dir=_naive_copy(tmp_path))
    assert not result.exact
    assert result.reason.startswith("lean differs from scikit-learn on text #")
    assert "differs by up to" in result.reason and "cells)" in result.reason  # which text, by how much


def test_verify_texts_join_the_corpus(trained, deps_build, lean_deps, tmp_path):
    plain = export(trained, "count_tfidf_logreg_binary", deps_build, lean_deps)
    texts = tmp_path / "mine.txt"
    texts.write_text("my own ticket\nanother one, with ünïcödé\n", encoding="utf-8")
    mine = export(trained, "count_tfidf_logreg_binary", deps_build, lean_deps, verify_texts=read_verify_texts(texts))
    assert mine.exact and mine.texts == plain.texts + 2


def test_verify_texts_that_are_not_utf8_are_refused_in_one_line(tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(MlayerError, match=r"^--verify-texts .*latin1\.txt: byte 3 is not UTF-8: save the file as UTF-8, one text per line$"):
        read_verify_texts(bad)


@pytest.fixture
def registered(trained, tmp_path) -> Path:
    """A refused kind and a supported one, registered as a user would."""
    out, files = trained
    root = tmp_path / "artifacts"
    for name in ("refuse_char_analyzer", "count_tfidf_logreg_binary"):
        add_model(name.replace("_", "-"), "v1", [out / name / f["file"] for f in files[name]], root)
    return root


def test_auto_falls_back_to_sklearn_saying_why_and_lean_insists(registered, deps_build, lean_deps, tmp_path, capsys):
    name = "refuse-char-analyzer"
    build = build_model_layer(name, "v1", deps_build, registered, tmp_path / "dist", lean_paths=[Path(lean_deps.python_dir)])
    assert build.predictor == "sklearn" and build.metadata["kind"] == "steps"
    warning = [line for line in capsys.readouterr().err.splitlines() if "not lean" in line]
    assert warning == [f"mlayer: warning: {name}/v1: serving with scikit-learn, not lean: not supported by the lean runtime: "
                       "CountVectorizer analyzer='char': only the word analyzer is supported (char n-grams and callables are not)"]
    entry = build.manifest_entry(tmp_path / "dist")
    assert (entry["predictor"], entry["lean_proof"]["exact"]) == ("sklearn", False)
    with pytest.raises(MlayerError, match=rf"^{name}/v1: --predictor lean, but not supported by the lean runtime: CountVectorizer analyzer='char'.*: build with --predictor auto"):
        build_model_layer(name, "v1", deps_build, registered, tmp_path / "dist2", predictor="lean")
    assert not (tmp_path / "dist2").exists()


def test_sklearn_opts_out_and_lean_builds_a_supported_kind(registered, deps_build, lean_deps, tmp_path):
    name = "count-tfidf-logreg-binary"
    opted_out = build_model_layer(name, "v1", deps_build, registered, tmp_path / "dist", predictor="sklearn")
    assert opted_out.predictor == "sklearn" and opted_out.lean is None
    lean = build_model_layer(name, "v1", deps_build, registered, tmp_path / "dist", predictor="lean", lean_paths=[Path(lean_deps.python_dir)])
    assert lean.predictor == "lean" and lean.zip_path != opted_out.zip_path
    again = build_model_layer(name, "v1", deps_build, registered, tmp_path / "dist3", predictor="lean", lean_paths=[Path(lean_deps.python_dir)])
    assert again.zip_path.read_bytes() == lean.zip_path.read_bytes()  # deterministic


def test_lean_stays_off_on_arm64(registered, deps_build, tmp_path):
    deps = dataclasses.replace(deps_build, architecture="arm64")
    build = build_model_layer("count-tfidf-logreg-binary", "v1", deps, registered, tmp_path / "dist")
    assert build.predictor == "sklearn"
    assert build.lean is not None and build.lean.reason.startswith("lean is x86_64 only")


def test_murmurhash_pure_python_equals_mmh3_and_sklearn(deps_build, lean_deps):
    from mlayer.isolated import run_isolated_json

    code = r"""
import json, random, lean_predictor, mmh3
from sklearn.utils import murmurhash3_32
rng = random.Random(5)
words = ["", "a", "ab", "abc", "abcd", "İ", "ß", "東京", "👍🏽"] + ["".join(chr(rng.randrange(1, 0x30000)) for _ in range(rng.randrange(0, 12))) for _ in range(20000)]
data = [w.encode("utf-8", "surrogatepass") for w in words]
py = [lean_predictor.murmurhash3_32(d) for d in data]
c = [mmh3.hash(d, 0, True) for d in data]
sk = [int(murmurhash3_32(d, seed=0, positive=False)) for d in data]
print(json.dumps({"n": len(data), "py_vs_mmh3": sum(a != b for a, b in zip(py, c)), "py_vs_sklearn": sum(a != b for a, b in zip(py, sk))}))
"""
    paths = [Path(deps_build.python_dir), Path(lean_deps.python_dir), FUNCTION_DIR]
    result = run_isolated_json(Path(deps_build.interpreter), paths, code, what="hash comparison")
    assert result == {"n": 20009, "py_vs_mmh3": 0, "py_vs_sklearn": 0}


def test_the_stress_corpus_is_fixed_and_covers_the_hard_cases():
    texts = stress_texts()
    assert texts == stress_texts()  # the same corpus on every build (no unicodedata dependence)
    assert "" in texts and "\x00" in texts and any(len(t) >= 100_000 for t in texts)
    assert any("\ud800" in t for t in texts)  # scikit-learn's hashing raises on it: so must lean
    assert any("İ" in t for t in texts) and any("ﬁ" in t for t in texts) and any("\u0301" in t for t in texts)


def test_the_export_unpickles_contained(trained, deps_build, lean_deps, tmp_path):
    """export_lean unpickles the model: a payload that got past the allow-list (say, --trust posix.system) writes nothing on the host."""
    import os
    import pickle

    marker = tmp_path / "MARKER"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    model_dir = tmp_path / "hostile"
    model_dir.mkdir()
    (model_dir / "MyModel.joblib").write_bytes(pickle.dumps(Payload(), protocol=4))
    metadata = {"name": "hostile", "version": "v1", "kind": "single", "files": [{"file": "MyModel.joblib", "role": "estimator"}]}
    (model_dir / "metadata.json").write_text(json.dumps(metadata))
    result = export_lean(model_dir, metadata, Path(deps_build.interpreter), Path(deps_build.python_dir), extra_paths=[Path(lean_deps.python_dir)])
    assert not result.exact and result.reason.startswith("not supported by the lean runtime"), result.reason  # os.system's 0 is no model
    assert not marker.exists(), "the payload ran on the host: the lean export is not contained"


def test_a_tampered_cached_export_is_exported_again(trained, deps_build, lean_deps, fresh_cache):
    first = export(trained, "count_tfidf_logreg_binary", deps_build, lean_deps)
    assert first.exact and first.directory is not None
    proven = {name: (first.directory / name).read_bytes() for name in first.files}
    victim = first.directory / next(name for name in first.files if name.endswith(".npy"))
    victim.write_bytes(victim.read_bytes()[:-8] + b"\0" * 8)  # same size, other coefficients
    again = export(trained, "count_tfidf_logreg_binary", deps_build, lean_deps)
    assert again.exact and {name: (again.directory / name).read_bytes() for name in again.files} == proven


@pytest.mark.parametrize("target", ["model", "all"])
def test_lean_on_arm64_is_refused_before_anything_is_built(target, tmp_path, capsys):
    from mlayer.cli import main

    registry = tmp_path / "artifacts"
    registry.mkdir()
    model = ["--name", "MyModel", "--version", "v1"] if target == "model" else []
    code = main(["build", target, *model, "--artifacts-root", str(registry), "--dist", str(tmp_path / "dist"),
                 "--predictor", "lean", "--architecture", "arm64"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--predictor lean with --architecture arm64" in err[0], err
    assert not (tmp_path / "dist").exists()
