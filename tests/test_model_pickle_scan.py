"""Reading joblib files without unpickling: real files, dumped by the deps layer's joblib/scikit-learn.

Every file here is written by the target interpreter (python3.12) with only the real deps layer on
sys.path; the scan runs in mlayer's own venv, which has no scikit-learn at all.
"""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import pytest

from mlayer.errors import MlayerError
from mlayer.isolated import run_isolated
from mlayer.model.joblib_stream import detect_compression
from mlayer.model.pickle_scan import scan_pickle

TEXTS = ["the bill is wrong", "server down outage", "reset my password", "great product love it", "invoice charge refund", "cannot login"]
LABELS = ["billing", "outage", "account", "feedback", "billing", "account"]


def dump_in_layer(deps, out_dir: Path, body: str) -> None:
    """Run `body` in the runtime's Python with only the deps layer; OUT is the output directory."""
    prelude = f"from pathlib import Path\nOUT = Path({str(out_dir)!r})\nTEXTS = {TEXTS!r}\nLABELS = {LABELS!r}\n"
    proc = run_isolated(deps.interpreter, [deps.python_dir], prelude + textwrap.dedent(body))
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def dumped(deps_build, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dumped")
    dump_in_layer(deps_build, out, """
        import pickle
        import joblib, numpy as np, sklearn
        from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        pipe = make_pipeline(CountVectorizer(), TfidfTransformer(), LogisticRegression()).fit(TEXTS, LABELS)
        clf = pipe[-1]
        joblib.dump(clf, OUT / "plain.joblib")
        joblib.dump(pipe, OUT / "pipeline.joblib")
        for method in ("zlib", "gzip", "bz2", "xz", "lzma"):
            joblib.dump(clf, OUT / f"{method}.joblib", compress=(method, 3))
        joblib.dump(pipe, OUT / "pipeline_zlib.joblib", compress=3)
        # Arrays of every layout joblib writes: object (nested pickle), Fortran order, strings,
        # structured, zero-size, 0-d, and one larger than the scanner's 1 MiB skip chunk.
        odd = {
            "object": np.array([{"k": 1}, "text", None], dtype=object),
            "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
            "unicode": np.array(["ab", "cdef"]),
            "structured": np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8")]),
            "empty": np.zeros((0, 5)),
            "scalar_array": np.array(7.5),
            "big": np.arange(300_000, dtype=np.float64),
            "datetime": np.array(["2019-01-04"], dtype="datetime64[ns]"),
        }
        joblib.dump({"odd": odd, "model": clf}, OUT / "odd_dict.joblib")
        joblib.dump(odd, OUT / "odd_zlib.joblib", compress=3)
        # Not joblib: plain pickles, where numpy arrays go through numpy._core's reducers.
        (OUT / "protocol5.pkl").write_bytes(pickle.dumps(clf, protocol=5))
        (OUT / "protocol0.pkl").write_bytes(pickle.dumps(clf, protocol=0))
        (OUT / "version.txt").write_text(sklearn.__version__)
    """)
    return out


def test_plain_joblib_top_class_and_version(dumped: Path, deps_build) -> None:
    scan = scan_pickle(dumped / "plain.joblib")
    assert scan.top_class == "sklearn.linear_model._logistic.LogisticRegression"
    assert scan.sklearn_version == deps_build.packages["scikit-learn"] == (dumped / "version.txt").read_text()
    assert scan.compression is None
    assert scan.arrays >= 3  # coef_, intercept_, classes_, n_iter_
    assert not scan.trailing_bytes  # the walk consumed exactly the file: array bytes were skipped, not parsed
    assert not scan.is_pipeline


def test_pipeline_is_recognised_with_its_steps(dumped: Path) -> None:
    scan = scan_pickle(dumped / "pipeline.joblib")
    assert scan.is_pipeline
    assert scan.top_class == "sklearn.pipeline.Pipeline"
    assert scan.pipeline_steps == [
        "sklearn.feature_extraction.text.CountVectorizer",
        "sklearn.feature_extraction.text.TfidfTransformer",
        "sklearn.linear_model._logistic.LogisticRegression",
    ]
    # every estimator in the pipeline carries its own _sklearn_version
    assert set.union(*scan.sklearn_versions.values()) >= {"sklearn.pipeline.Pipeline", "sklearn.linear_model._logistic.LogisticRegression"}


@pytest.mark.parametrize("method", ["zlib", "gzip", "bz2", "xz", "lzma"])
def test_every_stdlib_joblib_compression_is_read(dumped: Path, method: str) -> None:
    plain = scan_pickle(dumped / "plain.joblib")
    scan = scan_pickle(dumped / f"{method}.joblib")
    assert scan.compression == method
    assert detect_compression((dumped / f"{method}.joblib").read_bytes()[:8]) == method
    assert (scan.top_class, scan.sklearn_versions, scan.arrays) == (plain.top_class, plain.sklearn_versions, plain.arrays)
    assert not scan.trailing_bytes


def test_compressed_pipeline(dumped: Path) -> None:
    scan = scan_pickle(dumped / "pipeline_zlib.joblib")
    assert scan.compression == "zlib" and scan.is_pipeline and len(scan.pipeline_steps or []) == 3


@pytest.mark.parametrize("file", ["odd_dict.joblib", "odd_zlib.joblib"])
def test_every_array_layout_is_skipped_exactly(dumped: Path, file: str) -> None:
    scan = scan_pickle(dumped / file)
    assert scan.top_class == "builtins.dict"
    assert not scan.trailing_bytes
    assert scan.arrays >= 8
    # the object array's nested pickle references numpy 2's private core module
    assert scan.numpy_major == 2
    if file == "odd_dict.joblib":  # the estimator after all those arrays is still found
        assert "sklearn.linear_model._logistic.LogisticRegression" in set.union(*scan.sklearn_versions.values())


@pytest.mark.parametrize("file", ["protocol5.pkl", "protocol0.pkl"])
def test_plain_pickles(dumped: Path, file: str, deps_build) -> None:
    scan = scan_pickle(dumped / file)
    assert scan.top_class == "sklearn.linear_model._logistic.LogisticRegression"
    assert scan.sklearn_version == deps_build.packages["scikit-learn"]
    assert scan.numpy_major == 2  # ndarray reducers live in numpy._core on numpy 2
    assert scan.protocol == (5 if file == "protocol5.pkl" else None)
    assert not scan.trailing_bytes


def test_scan_never_imports_the_pickled_modules(tmp_path: Path) -> None:
    # A pickle whose REDUCE would run os.system if it were unpickled: scanning must not run it.
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.joblib"
    path.write_bytes(pickle.dumps(Evil(), protocol=4))
    scan = scan_pickle(path)
    assert scan.top_class in ("posix.system", "os.system")
    assert not marker.exists()


def test_truncated_file_is_an_error_naming_it(dumped: Path, tmp_path: Path) -> None:
    data = (dumped / "plain.joblib").read_bytes()
    bad = tmp_path / "MyModel.joblib"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(MlayerError, match=r"MyModel\.joblib is not a readable joblib/pickle file .*joblib\.dump") as info:
        scan_pickle(bad)
    assert "\n" not in str(info.value)


def test_truncated_compressed_file_is_an_error(dumped: Path, tmp_path: Path) -> None:
    data = (dumped / "gzip.joblib").read_bytes()
    bad = tmp_path / "cut.joblib"
    bad.write_bytes(data[:-40])
    with pytest.raises(MlayerError, match=r"cut\.joblib is not a readable joblib/pickle file"):
        scan_pickle(bad)


def test_not_a_pickle(tmp_path: Path) -> None:
    bad = tmp_path / "notes.joblib"
    bad.write_text("these are my notes, not a model\n")
    with pytest.raises(MlayerError, match=r"notes\.joblib is not a readable joblib/pickle file"):
        scan_pickle(bad)


def test_lz4_is_refused_with_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "fast.joblib"
    bad.write_bytes(b"\x04\x22\x4d\x18" + b"\0" * 32)
    with pytest.raises(MlayerError, match=r"fast\.joblib is lz4-compressed.*compress=3"):
        scan_pickle(bad)
