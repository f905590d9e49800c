"""train_demo: real training in python3.12 with only the real deps layer, deterministic files, meaningful accuracy."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from pathlib import Path

import pytest

from mlayer.cli import main
from mlayer.errors import MlayerError
from mlayer.model.corpus import CLASSES, make_corpus, split
from mlayer.model.registry import load_metadata
from mlayer.model.train_demo import train_demo

REPO = Path(__file__).resolve().parent.parent
SEED_FILES = ["PreProc1_MyModel.joblib", "PreProc2_MyModel.joblib", "MyModel.joblib"]


def hashes(model_dir: Path) -> dict[str, str]:
    return {f: hashlib.sha256((model_dir / f).read_bytes()).hexdigest() for f in SEED_FILES}


def test_corpus_is_seeded_balanced_and_noisy() -> None:
    corpus = make_corpus()
    assert corpus == make_corpus()  # same seed, same corpus
    assert corpus != make_corpus(seed=1)
    counts = Counter(t.label for t in corpus)
    assert set(counts) == set(CLASSES) and all(250 <= n <= 350 for n in counts.values())
    assert len({t.text for t in corpus}) > 800  # varied, not a handful of templates
    train, test = split(corpus)
    assert (len(train), len(test)) == (900, 300)


def test_demo_model_is_seed_shaped_and_registered(demo_artifacts: Path, deps_build) -> None:
    model_dir = demo_artifacts / "MyModel" / "20190104v1"
    metadata = load_metadata(model_dir)
    assert [(f["file"], f["role"], f["class"]) for f in metadata["files"]] == [
        ("PreProc1_MyModel.joblib", "preprocessor", "sklearn.feature_extraction.text.CountVectorizer"),
        ("PreProc2_MyModel.joblib", "preprocessor", "sklearn.feature_extraction.text.TfidfTransformer"),
        ("MyModel.joblib", "estimator", "sklearn.linear_model._logistic.LogisticRegression"),
    ]
    pickled = metadata["pickled_with"]
    assert pickled["python"] == deps_build.runtime.python_version
    for package in ("scikit-learn", "numpy", "scipy"):
        assert pickled[package] == deps_build.packages[package], package
    assert pickled["source"] == {"python": "environment", "scikit-learn": "pickle", "numpy": "environment", "scipy": "environment"}

    metrics = metadata["metrics"]
    assert 0.85 <= metrics["accuracy"] < 1.0, metrics  # learnt something, and the label noise keeps it honest
    assert metrics["majority_baseline_accuracy"] < 0.35
    assert (metrics["n_train"], metrics["n_test"]) == (900, 300)
    assert metrics["training_seconds"] > 0  # recorded; how fast is the bench's business, not a unit test's

    samples = metadata["samples"]
    assert len(samples["inputs"]) == len(samples["expected"]) == 20
    assert set(samples["expected"]) == set(CLASSES)  # non-trivial: every class is predicted
    held_out = {t.text for t in split(make_corpus())[1]}
    assert set(samples["inputs"]) <= held_out


def test_training_is_deterministic(demo_artifacts: Path, deps_build, tmp_path: Path) -> None:
    started = time.perf_counter()
    again = train_demo(deps_build, tmp_path)
    seconds = time.perf_counter() - started
    first_dir = demo_artifacts / "MyModel" / "20190104v1"
    assert hashes(again) == hashes(first_dir)
    first, second = load_metadata(first_dir), load_metadata(again)
    assert first["files"] == second["files"] and first["samples"] == second["samples"]
    assert {k: v for k, v in first["metrics"].items() if k != "training_seconds"} == {
        k: v for k, v in second["metrics"].items() if k != "training_seconds"
    }
    # CountVectorizer's memory-address cache is not in the pickle (it would make every dump differ)
    assert b"_stop_words_id" not in (again / "PreProc1_MyModel.joblib").read_bytes()
    sizes = {f: (again / f).stat().st_size for f in SEED_FILES}
    print(f"train_demo {seconds:.2f} s, accuracy {second['metrics']['accuracy']}, sizes {sizes}")


def test_retraining_into_the_same_registry_is_a_noop(demo_artifacts: Path, deps_build, capsys) -> None:
    model_dir = demo_artifacts / "MyModel" / "20190104v1"
    before = (model_dir / "metadata.json").read_bytes()
    train_demo(deps_build, demo_artifacts)
    assert "already registered with identical files: nothing to do" in capsys.readouterr().err
    assert (model_dir / "metadata.json").read_bytes() == before


def test_bad_name_fails_before_training(deps_build, tmp_path: Path) -> None:
    with pytest.raises(MlayerError, match=r"model name 'my model'"):
        train_demo(deps_build, tmp_path, name="my model")
    assert list(tmp_path.iterdir()) == []


def test_cli_train_demo(deps_build, session_dist: Path, tmp_path: Path, capsys) -> None:
    # Same requirements and dist as the session's deps layer: build_deps_layer is a cache hit.
    code = main([
        "train-demo", "--name", "Tickets", "--version", "20240101v1", "--artifacts-root", str(tmp_path),
        "--requirements", str(REPO / "requirements" / "python3.12.txt"), "--dist", str(session_dist),
    ])  # fmt: skip
    assert code == 0
    out = capsys.readouterr()
    assert out.out.strip() == str(tmp_path / "Tickets" / "20240101v1")
    assert "held-out accuracy" in out.err
    metadata = json.loads((tmp_path / "Tickets" / "20240101v1" / "metadata.json").read_text())
    assert [f["file"] for f in metadata["files"]] == ["PreProc1_Tickets.joblib", "PreProc2_Tickets.joblib", "Tickets.joblib"]
