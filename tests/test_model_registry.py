"""`mlayer model add|list|show` and the registry: real joblib files made by the deps layer's scikit-learn."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest

from mlayer.cli import main
from mlayer.errors import MlayerError
from mlayer.isolated import run_isolated
from mlayer.model.metadata import read_metadata
from mlayer.model.pickle_scan import scan_pickle
from mlayer.model.provenance import resolve_pickled_with
from mlayer.model.registry import add_model, list_models, load_metadata

SEED_FILES = ["PreProc1_MyModel.joblib", "PreProc2_MyModel.joblib", "MyModel.joblib"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def seed_files(demo_artifacts: Path, tmp_path_factory) -> list[Path]:
    """The demo model's three real files, copied out of the registry as a user would have them."""
    out = tmp_path_factory.mktemp("incoming")
    for name in SEED_FILES:
        shutil.copyfile(demo_artifacts / "MyModel" / "20190104v1" / name, out / name)
    return [out / name for name in SEED_FILES]


@pytest.fixture(scope="module")
def odd_files(deps_build, tmp_path_factory) -> Path:
    """Other real pickles: a Pipeline, a dict, a class from __main__, a model claiming scikit-learn 1.8.0."""
    out = tmp_path_factory.mktemp("odd")
    code = textwrap.dedent(f"""
        from pathlib import Path
        import joblib, sklearn.base
        from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        OUT = Path({str(out)!r})
        texts = ["refund my invoice", "site is down", "reset password", "love it"] * 3
        labels = ["billing", "outage", "account", "feedback"] * 3
        joblib.dump(make_pipeline(CountVectorizer(), TfidfTransformer(), LogisticRegression()).fit(texts, labels), OUT / "pipeline.joblib")
        joblib.dump({{"vectorizer": CountVectorizer().fit(texts)}}, OUT / "bundle.joblib")
        class TextCleaner:
            def transform(self, texts):
                return [t.lower() for t in texts]
        joblib.dump(TextCleaner(), OUT / "cleaner.joblib")
        # What an older scikit-learn writes: BaseEstimator.__getstate__ records sklearn.base.__version__.
        sklearn.base.__version__ = "1.8.0"
        joblib.dump(LogisticRegression().fit(CountVectorizer().fit_transform(texts), labels), OUT / "old_model.joblib")
    """)
    proc = run_isolated(deps_build.interpreter, [deps_build.python_dir], code)
    assert proc.returncode == 0, proc.stderr
    return out


def test_add_records_order_roles_hashes_and_versions(seed_files: list[Path], tmp_path: Path, deps_build) -> None:
    samples = tmp_path / "samples.json"
    samples.write_text(json.dumps({"inputs": ["i was charged twice", "the site is down"], "expected": ["billing", "outage"]}))
    dest = add_model("Ticket", "20240101v1", seed_files, tmp_path / "reg", samples=samples, pickled_with_overrides={"numpy": "2.5.5"})

    assert dest == tmp_path / "reg" / "Ticket" / "20240101v1"
    metadata = load_metadata(dest)
    assert json.loads((dest / "metadata.json").read_text()) == metadata
    assert metadata["schema_version"] == 1 and (metadata["name"], metadata["version"]) == ("Ticket", "20240101v1")
    assert metadata["kind"] == "steps"
    assert [(f["file"], f["role"]) for f in metadata["files"]] == [
        ("PreProc1_MyModel.joblib", "preprocessor"),
        ("PreProc2_MyModel.joblib", "preprocessor"),
        ("MyModel.joblib", "estimator"),
    ]
    assert [f["sha256"] for f in metadata["files"]] == [sha256(p) for p in seed_files]
    assert [f["class"] for f in metadata["files"]] == [
        "sklearn.feature_extraction.text.CountVectorizer",
        "sklearn.feature_extraction.text.TfidfTransformer",
        "sklearn.linear_model._logistic.LogisticRegression",
    ]
    for source in seed_files:
        assert (dest / source.name).read_bytes() == source.read_bytes()
    pickled = metadata["pickled_with"]
    assert pickled["scikit-learn"] == deps_build.packages["scikit-learn"] and pickled["source"]["scikit-learn"] == "pickle"
    assert pickled["numpy"] == "2.5.5" and pickled["source"]["numpy"] == "flag"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", metadata["created"])
    assert metadata["samples"] == {"inputs": ["i was charged twice", "the site is down"], "expected": ["billing", "outage"]}
    assert sorted(p.name for p in dest.iterdir()) == sorted(SEED_FILES + ["metadata.json"])
    assert dest.stat().st_mode & 0o777 == 0o755


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is not None, reason="needs a tooling venv without scikit-learn (the default .venv)")
def test_host_without_sklearn_is_not_trusted_for_numpy(seed_files: list[Path], tmp_path: Path) -> None:
    metadata = load_metadata(add_model("Ticket", "v1", seed_files, tmp_path))
    # mlayer's venv has a numpy but no scikit-learn: it is not the training environment, so numpy stays unknown
    assert metadata["pickled_with"]["numpy"] is None
    assert metadata["pickled_with"]["source"] == {"python": "unknown", "scikit-learn": "pickle", "numpy": "unknown", "scipy": "unknown"}


def test_environment_is_trusted_only_with_the_pickles_sklearn(seed_files: list[Path]) -> None:
    scans = {p.name: scan_pickle(p) for p in seed_files}
    sklearn_version = scans["MyModel.joblib"].sklearn_version
    training_env = {"python": "3.12", "scikit-learn": sklearn_version, "numpy": "2.5.5", "scipy": "1.18.1"}
    trusted = resolve_pickled_with(scans, environment=training_env)
    assert trusted["numpy"] == "2.5.5" and trusted["source"]["numpy"] == "environment"
    other_env = {**training_env, "scikit-learn": "1.2.2"}
    untrusted = resolve_pickled_with(scans, environment=other_env)
    assert untrusted["numpy"] is None and untrusted["source"]["numpy"] == "unknown"


def test_single_pipeline_file_is_kind_pipeline(odd_files: Path, tmp_path: Path) -> None:
    metadata = load_metadata(add_model("Pipe", "v1", [odd_files / "pipeline.joblib"], tmp_path))
    assert metadata["kind"] == "pipeline"
    assert metadata["files"] == [
        {"file": "pipeline.joblib", "role": "pipeline", "sha256": sha256(odd_files / "pipeline.joblib"), "class": "sklearn.pipeline.Pipeline"}
    ]


def test_readd_identical_is_a_noop(seed_files: list[Path], tmp_path: Path, capsys) -> None:
    dest = add_model("Ticket", "20240101v1", seed_files, tmp_path)
    before = (dest / "metadata.json").read_bytes()
    capsys.readouterr()
    assert add_model("Ticket", "20240101v1", seed_files, tmp_path) == dest
    assert "already registered with identical files: nothing to do" in capsys.readouterr().err
    assert (dest / "metadata.json").read_bytes() == before


def test_readd_different_content_is_an_error(seed_files: list[Path], deps_build, tmp_path: Path) -> None:
    add_model("Ticket", "20240101v1", seed_files, tmp_path)
    changed = tmp_path / "changed"
    changed.mkdir()
    for source in seed_files:
        shutil.copyfile(source, changed / source.name)
    # the same estimator dumped compressed: a valid pickle with a different sha256
    code = f"import joblib; joblib.dump(joblib.load({str(seed_files[-1])!r}), {str(changed / 'MyModel.joblib')!r}, compress=3)"
    assert run_isolated(deps_build.interpreter, [deps_build.python_dir], code).returncode == 0
    assert (changed / "MyModel.joblib").read_bytes() != seed_files[-1].read_bytes()
    with pytest.raises(MlayerError, match=r"Ticket/20240101v1 is already registered and MyModel\.joblib has different content.*new version, e\.g\. 20240101v2"):
        add_model("Ticket", "20240101v1", [changed / p.name for p in seed_files], tmp_path)
    with pytest.raises(MlayerError, match=r"already registered and its files are \[.*\], these are \[.*\]"):
        add_model("Ticket", "20240101v1", seed_files[1:], tmp_path)
    samples = tmp_path / "s.jsonl"
    samples.write_text('{"input": "hi", "expected": "feedback"}\n')
    with pytest.raises(MlayerError, match="its samples differ"):
        add_model("Ticket", "20240101v1", seed_files, tmp_path, samples=samples)


@pytest.mark.parametrize(
    ("name", "version", "message"),
    [
        ("My Model", "v1", r"model name 'My Model' must start with a letter and use only letters, digits, '_' and '-'"),
        ("1model", "v1", r"model name '1model' must start with a letter"),
        ("m" * 65, "v1", r"is 65 characters, the limit is 64"),
        ("My.Model", "v1", r"model name 'My.Model' must start with a letter .* \(a Lambda layer name allows nothing else\)"),
        ("MyModel\n", "v1", r"model name 'MyModel\\n' must start with a letter"),
        ("MyModel", "-v1", r"model version '-v1' must start with a letter or digit"),
        ("MyModel", "v/1", r"model version 'v/1' must start with a letter or digit and use only"),
        ("MyModel", "v" * 65, r"is 65 characters, the limit is 64"),
        ("MyModel", "v1\n", r"model version 'v1\\n' must start with a letter or digit"),
    ],
)
def test_bad_name_or_version_cli(seed_files: list[Path], tmp_path: Path, capsys, name: str, version: str, message: str) -> None:
    code = main(["model", "add", f"--name={name}", f"--version={version}", "--artifacts-root", str(tmp_path), *map(str, seed_files)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("mlayer model add: error: argument --") and err.count("\n") == 1
    assert re.search(message, err), err
    assert list(tmp_path.iterdir()) == []


def test_failed_add_leaves_nothing(seed_files: list[Path], tmp_path: Path) -> None:
    truncated = tmp_path / "in" / "MyModel.joblib"
    truncated.parent.mkdir()
    truncated.write_bytes(seed_files[2].read_bytes()[:500])
    root = tmp_path / "reg"
    with pytest.raises(MlayerError, match=r"MyModel\.joblib is not a readable joblib/pickle file"):
        add_model("Ticket", "v1", [*seed_files[:2], truncated], root)
    assert not root.exists() or list(root.rglob("*")) == []


def test_wrong_order_missing_estimator_and_unloadable_objects(seed_files: list[Path], odd_files: Path, tmp_path: Path) -> None:
    pre1, pre2, model = seed_files
    with pytest.raises(MlayerError, match=r"out of order: the last one, PreProc2_MyModel\.joblib is a TfidfTransformer .* but MyModel\.joblib is a predictor"):
        add_model("Ticket", "v1", [pre1, model, pre2], tmp_path)
    with pytest.raises(MlayerError, match=r"no estimator: the last file, PreProc2_MyModel\.joblib is a TfidfTransformer"):
        add_model("Ticket", "v1", [pre1, pre2], tmp_path)
    with pytest.raises(MlayerError, match=r"bundle\.joblib holds a dict, not a fitted estimator"):
        add_model("Ticket", "v1", [odd_files / "bundle.joblib"], tmp_path)
    with pytest.raises(MlayerError, match=r"cleaner\.joblib references __main__\.TextCleaner.*Lambda cannot import"):
        add_model("Ticket", "v1", [odd_files / "cleaner.joblib", model], tmp_path)
    with pytest.raises(MlayerError, match=r"two files are named MyModel\.joblib"):
        add_model("Ticket", "v1", [pre1, model, model], tmp_path)
    with pytest.raises(MlayerError, match=r"model file .*nope\.joblib does not exist"):
        add_model("Ticket", "v1", [tmp_path / "nope.joblib"], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_sklearn_version_comes_from_the_pickle(odd_files: Path, seed_files: list[Path], tmp_path: Path) -> None:
    old = odd_files / "old_model.joblib"
    metadata = load_metadata(add_model("Old", "v1", [old], tmp_path))
    assert metadata["pickled_with"]["scikit-learn"] == "1.8.0" and metadata["pickled_with"]["source"]["scikit-learn"] == "pickle"
    with pytest.raises(MlayerError, match=r"--sklearn-version 1\.9\.0 contradicts the pickles, which record scikit-learn 1\.8\.0"):
        add_model("Old", "v2", [old], tmp_path, pickled_with_overrides={"scikit-learn": "1.9.0"})
    with pytest.raises(MlayerError, match=r"different scikit-learn versions \(old_model\.joblib: scikit-learn 1\.8\.0; PreProc1_MyModel\.joblib: scikit-learn 1\.9\.1\): retrain"):
        add_model("Mixed", "v1", [seed_files[0], old], tmp_path)
    with pytest.raises(MlayerError, match=r"--python-version 'three' is not a version"):
        add_model("Old", "v3", [old], tmp_path, pickled_with_overrides={"python": "three"})


def test_samples_files(seed_files: list[Path], tmp_path: Path) -> None:
    jsonl = tmp_path / "samples.jsonl"
    jsonl.write_text('{"input": "refund please", "expected": "billing"}\n\n{"input": "site down", "expected": "outage"}\n')
    metadata = load_metadata(add_model("Ticket", "v1", seed_files, tmp_path / "a", samples=jsonl))
    assert metadata["samples"] == {"inputs": ["refund please", "site down"], "expected": ["billing", "outage"]}

    uneven = tmp_path / "uneven.json"
    uneven.write_text(json.dumps({"inputs": ["a", "b"], "expected": ["billing"]}))
    with pytest.raises(MlayerError, match=r"samples file .*uneven\.json: samples have 2 inputs but 1 expected outputs"):
        add_model("Ticket", "v1", seed_files, tmp_path / "b", samples=uneven)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"input": "a", "expected": "billing"}\n{"input": "b", "expected": \n')
    with pytest.raises(MlayerError, match=r"broken\.jsonl:2 is not valid JSON"):
        add_model("Ticket", "v1", seed_files, tmp_path / "b", samples=broken)
    with pytest.raises(MlayerError, match=r"samples file .*missing\.json does not exist"):
        add_model("Ticket", "v1", seed_files, tmp_path / "b", samples=tmp_path / "missing.json")
    assert not (tmp_path / "b").exists()


def test_load_metadata_errors(seed_files: list[Path], tmp_path: Path) -> None:
    root = tmp_path / "reg"
    with pytest.raises(MlayerError, match=r"model directory .*Ticket/v1 does not exist: register the model with `mlayer model add"):
        load_metadata(root / "Ticket" / "v1")
    (root / "Ticket" / "v0").mkdir(parents=True)
    with pytest.raises(MlayerError, match=r"Ticket/v0 has no metadata\.json: register the files with `mlayer model add"):
        load_metadata(root / "Ticket" / "v0")

    dest = add_model("Ticket", "v1", seed_files, root)
    good = (dest / "metadata.json").read_text()

    def broken(text: str, pattern: str) -> None:
        (dest / "metadata.json").write_text(text)
        with pytest.raises(MlayerError, match=pattern) as info:
            load_metadata(dest)
        assert "\n" not in str(info.value)
        (dest / "metadata.json").write_text(good)

    broken(good[:-20], r"metadata\.json: is not valid JSON \(.* at line \d+ column \d+\)")
    data = json.loads(good)
    broken(json.dumps({k: v for k, v in data.items() if k != "pickled_with"}), r"metadata\.json: missing field 'pickled_with'")
    broken(json.dumps({**data, "schema_version": 2}), r"schema_version is 2, expected 1")
    broken(json.dumps({**data, "kind": "pipeline"}), r"kind 'pipeline' needs roles \['pipeline'\]")
    broken(json.dumps({**data, "files": [{**data["files"][0], "file": "../escape.joblib"}]}), r"is not a plain file name")
    broken(json.dumps({**data, "samples": {"inputs": ["a"], "expected": []}}), r"samples: samples have 1 inputs but 0 expected")
    broken(json.dumps({**data, "version": "v9"}), r"describes Ticket/v9 but sits in Ticket/v1")

    (dest / "notes.txt").write_text("stray")
    with pytest.raises(MlayerError, match=r"notes\.txt is not listed in metadata\.json, so it would not ship"):
        load_metadata(dest)
    (dest / "notes.txt").unlink()
    (dest / "MyModel.joblib").unlink()
    with pytest.raises(MlayerError, match=r"MyModel\.joblib is listed in metadata\.json but missing"):
        load_metadata(dest)
    assert read_metadata(dest)["name"] == "Ticket"  # the schema alone is still fine


def test_list_models_natural_order_ignores_staging_dirs(seed_files: list[Path], tmp_path: Path) -> None:
    for version in ("20190104v10", "20190104v2", "20190104v1"):
        add_model("MyModel", version, seed_files, tmp_path)
    add_model("Another", "v1", seed_files, tmp_path)
    (tmp_path / "MyModel" / ".20190104v3.abc.tmp").mkdir()  # an interrupted atomic_dir
    (tmp_path / "README.md").write_text("not a model")
    assert [tuple(ref) for ref in list_models(tmp_path)] == [
        ("Another", "v1"),
        ("MyModel", "20190104v1"),
        ("MyModel", "20190104v2"),
        ("MyModel", "20190104v10"),
    ]
    assert list_models(tmp_path / "absent") == []


def test_cli_add_list_show(seed_files: list[Path], tmp_path: Path, capsys) -> None:
    root = str(tmp_path)
    assert main(["model", "add", "--name", "MyModel", "--version", "20190104v1", "--artifacts-root", root, "--numpy-version", "2.5.5", *map(str, seed_files)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "MyModel" / "20190104v1")

    assert main(["model", "list", "--artifacts-root", root, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["version"], r["kind"], r["files"], r["numpy"], r["problem"]) for r in rows] == [
        ("MyModel", "20190104v1", "steps", SEED_FILES, "2.5.5", None)
    ]
    assert main(["model", "show", "MyModel/20190104v1", "--artifacts-root", root]) == 0
    shown = capsys.readouterr().out
    assert "3. estimator    MyModel.joblib" in shown and "scikit-learn 1.9.1 (pickle)" in shown and "numpy 2.5.5 (flag)" in shown

    (tmp_path / "MyModel" / "v2").mkdir()  # a hand-made directory without metadata.json
    assert main(["model", "list", "--artifacts-root", root]) == 1
    listing = capsys.readouterr().out
    assert re.search(r"MyModel/v2\s+BROKEN", listing) and "MyModel/v2: " in listing and "has no metadata.json" in listing
    assert main(["model", "show", "MyModel", "--artifacts-root", root]) == 2
    assert "'MyModel' is not NAME/VERSION" in capsys.readouterr().err


def test_concurrent_adds_of_one_version_with_different_files_register_exactly_one(seed_files, odd_files, tmp_path):
    """Issue 10: two `model add` of one NAME/VERSION racing used to both exit 0, the later one
    replacing what the first was told it had registered. Now exactly one wins, every trial."""
    import subprocess
    import sys

    contenders = {"seed": [str(p) for p in seed_files], "pipeline": [str(odd_files / "pipeline.joblib")]}
    trials = 8
    for trial in range(trials):
        version = f"race{trial}"
        processes = {
            label: subprocess.Popen(
                [sys.executable, "-m", "mlayer.cli", "model", "add", "--name", "Race", "--version", version,
                 "--artifacts-root", str(tmp_path), "--sklearn-version", "1.9.1", *files],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )
            for label, files in contenders.items()
        }
        outcomes = {label: (p.wait(timeout=120), p.stderr.read()) for label, p in processes.items()}
        winners = [label for label, (code, _) in outcomes.items() if code == 0]
        assert len(winners) == 1, (trial, outcomes)
        [(loser_code, loser_err)] = [outcome for label, outcome in outcomes.items() if label not in winners]
        assert loser_code == 2 and "already registered" in loser_err and loser_err.count("\n") == 1, loser_err
        registered = sorted(entry["file"] for entry in load_metadata(tmp_path / "Race" / version)["files"])
        assert registered == sorted(Path(f).name for f in contenders[winners[0]])
    assert not [p for p in (tmp_path / "Race").iterdir() if p.name.startswith(".")]  # no staging left behind


def test_exclusive_new_dir_lets_exactly_one_of_two_simultaneous_writers_win(tmp_path):
    """Both writers are inside the block (staging written, nothing renamed yet) before either
    leaves it: the window the CLI race above rarely hits. atomic_dir let both win here."""
    import threading

    from mlayer.fsutil import exclusive_new_dir

    dest = tmp_path / "Model" / "v1"
    both_staged = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def writer(label: str) -> None:
        try:
            with exclusive_new_dir(dest) as staging:
                (staging / "who").write_text(label)
                both_staged.wait(timeout=10)
            outcomes[label] = "won"
        except FileExistsError:
            outcomes[label] = "refused"

    threads = [threading.Thread(target=writer, args=(label,)) for label in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["refused", "won"]
    assert (dest / "who").read_text() == next(label for label, outcome in outcomes.items() if outcome == "won")
    assert [p.name for p in dest.parent.iterdir()] == ["v1"]  # the loser's staging is gone
