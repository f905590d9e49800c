"""The pickle allow-list: hostile pickles are refused at `model add` and `build model` before anything unpickles.

Every hostile file here really runs its payload when unpickled: a control test loads each one in the
runtime's Python (with the real deps layer) and sees the marker file appear. The same file given to
mlayer must be refused with exit 2 and one line, and the marker must not appear.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import textwrap
from pathlib import Path

import pytest

from conftest import DEFAULT_REQUIREMENTS, REPO
from mlayer.cli import main
from mlayer.errors import MlayerError
from mlayer.isolated import run_isolated
from mlayer.model.allowlist import is_allowed, untrusted_globals
from mlayer.model.build import build_model_layer
from mlayer.model.pickle_scan import scan_pickle

NAME, VERSION = "MyModel", "20190104v1"
TEXTS = ["the bill is wrong", "server down outage", "reset my password", "great product love it", "invoice charge refund", "cannot login"]
LABELS = ["billing", "outage", "account", "feedback", "billing", "account"]


def _unicode(text: str) -> bytes:
    return b"V" + text.encode() + b"\n"


def _short(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def handwritten(marker: Path) -> dict[str, bytes]:
    """Pickles assembled opcode by opcode: each runs `touch marker` when unpickled."""
    cmd = f"touch {marker}"
    return {
        # GLOBAL + REDUCE: the reproduction (os.system pickles as posix.system)
        "reduce_posix_system.pkl": b"cposix\nsystem\n(" + _unicode(cmd) + b"tR.",
        # the payload inside a scikit-learn estimator's state: the top class looks like a model
        "fake_sklearn_state.pkl": (
            b"\x80\x02csklearn.linear_model._logistic\nLogisticRegression\n)\x81}("
            + _unicode("coef_") + b"cos\nsystem\n(" + _unicode(cmd) + b"tRub."
        ),
        # INST: class and call in one opcode
        "inst_os_system.pkl": b"(" + _unicode(cmd) + b"ios\nsystem\n.",
        # STACK_GLOBAL (protocol 4) names built on the stack
        "stack_global.pkl": b"\x80\x04" + _short("posix") + _short("system") + b"\x93" + _short(cmd) + b"\x85R.",
        # a dotted name: protocol 4 walks attributes, so an allowed module can lead to os.system
        "dotted_name.pkl": b"\x80\x04" + _short("sklearn.base") + _short("inspect.os.system") + b"\x93" + _short(cmd) + b"\x85R.",
        # subprocess via a module that is not os
        "subprocess_call.pkl": b"csubprocess\ncall\n((" + _unicode("touch") + _unicode(str(marker)) + b"ltR.",
    }


STRUCTURAL = {
    # calling an instance (not a named class): the allow-list cannot vouch for what that runs
    "call_instance.pkl": b"\x80\x02csklearn.base\nBaseEstimator\n)\x81)R.",
    # BUILD on a class: sets attributes on sklearn's class itself (monkeypatching)
    "build_on_class.pkl": b"\x80\x02csklearn.base\nBaseEstimator\nN}(" + _unicode("predict") + b"I1\nu\x86b.",
}

# Written by the deps layer's own joblib: a real fitted estimator whose state carries the payload.
_JOBLIB_HOSTILE = """
import os, joblib
from sklearn.linear_model import LogisticRegression
class Payload:
    def __init__(self, marker):
        self.marker = marker
    def __reduce__(self):
        return (os.system, ("touch " + self.marker,))
clf = LogisticRegression().fit([[0.0], [1.0], [0.1], [0.9]], [0, 1, 0, 1])
clf.coef_ = Payload(MARKERS["joblib_payload_in_state.joblib"])
joblib.dump(clf, OUT + "/joblib_payload_in_state.joblib")
joblib.dump(Payload(MARKERS["joblib_reduce.joblib"]), OUT + "/joblib_reduce.joblib")

# A scan/unpickle desync: an array's pickled dtype state claims 1-byte items, which numpy ignores
# for float64. A scanner trusting it skips N bytes where joblib skips 8N, and would stop at a clean
# copy of the pickle's tail placed there, never seeing the posix.system call hidden after 8N bytes.
import numpy as np
N = 4099
path = OUT + "/joblib_dtype_desync.joblib"
clf = LogisticRegression().fit([[0.0], [1.0], [0.1], [0.9]], [0, 1, 0, 1])
clf.zz_ = np.full(N, 7.0)
joblib.dump(clf, path, protocol=2, compress=0)
raw = open(path, "rb").read()
start = raw.index(np.full(N, 7.0).tobytes())
head, tail = raw[:start], raw[start + 8 * N:]
elsize = head.rindex(b"J\\xff\\xff\\xff\\xffJ\\xff\\xff\\xff\\xff")  # the dtype state's elsize -1, alignment -1
head = head[:elsize] + b"K\\x01" + head[elsize + 5:]
decoy = bytearray(8 * N)
decoy[N:N + len(tail)] = tail
payload = b"cposix\\nsystem\\n(V" + ("touch " + MARKERS["joblib_dtype_desync.joblib"]).encode() + b"\\ntR0"
open(path, "wb").write(head + bytes(decoy) + payload + tail)
"""


def _write_hostile(deps, directory: Path, marker_for) -> dict[str, Path]:
    """Every hostile file in `directory`; each one's payload touches marker_for(name)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in handwritten(Path("/x")):
        (directory / name).write_bytes(handwritten(marker_for(name))[name])
    markers = {name: str(marker_for(name)) for name in JOBLIB_HOSTILE_NAMES}
    proc = run_isolated(deps.interpreter, [deps.python_dir], f"OUT = {str(directory)!r}\nMARKERS = {markers!r}\n" + _JOBLIB_HOSTILE)
    assert proc.returncode == 0, proc.stderr
    files = {p.name: p for p in directory.iterdir()}
    assert sorted(files) == HOSTILE_NAMES
    assert not any(marker_for(name).exists() for name in files)  # writing them ran nothing
    return files


JOBLIB_HOSTILE_NAMES = ("joblib_payload_in_state.joblib", "joblib_reduce.joblib", "joblib_dtype_desync.joblib")
HOSTILE_NAMES = sorted([*handwritten(Path("/x")), *JOBLIB_HOSTILE_NAMES])


@pytest.fixture(scope="module")
def control_runs(deps_build, tmp_path_factory) -> dict[str, bool]:
    """name -> whether plain unpickling (joblib.load in the runtime's Python, deps layer) ran the payload."""
    root = tmp_path_factory.mktemp("control")
    files = _write_hostile(deps_build, root / "files", lambda name: root / f"{name}.MARKER")
    code = f"import joblib\nfor path in {[str(files[n]) for n in HOSTILE_NAMES]!r}:\n    try:\n        joblib.load(path)\n    except Exception:\n        pass\n"
    proc = run_isolated(deps_build.interpreter, [deps_build.python_dir], code, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return {name: (root / f"{name}.MARKER").exists() for name in HOSTILE_NAMES}


@pytest.fixture(scope="module")
def hostile(deps_build, tmp_path_factory) -> tuple[dict[str, Path], Path]:
    """(the hostile files, the directory where their markers would appear) for mlayer to refuse."""
    root = tmp_path_factory.mktemp("hostile")
    return _write_hostile(deps_build, root / "files", lambda name: root / f"{name}.MARKER"), root


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_pickle_really_runs_code_when_unpickled(name: str, control_runs: dict[str, bool]) -> None:
    assert control_runs[name], f"{name} did not run its payload under joblib.load: it proves nothing about the refusal"


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_model_add_refuses_hostile_pickle_before_unpickling(name: str, hostile, tmp_path: Path, capsys) -> None:
    files, markers = hostile
    root = tmp_path / "registry"
    code = main(["model", "add", "--name", NAME, "--version", VERSION, "--artifacts-root", str(root), str(files[name])])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and name in err and "refused" in err, err
    assert not (markers / f"{name}.MARKER").exists()
    assert not (root / NAME / VERSION).exists()


def test_structural_tricks_are_refused(tmp_path: Path) -> None:
    for name, data in STRUCTURAL.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(MlayerError, match=rf"{name} refused: its (REDUCE calls|BUILD sets state on the class)"):
            from mlayer.model.allowlist import check_trusted

            check_trusted(name, scan_pickle(tmp_path / name))


def test_data_after_the_pickles_end_is_refused(tmp_path: Path) -> None:
    """Nothing may follow STOP: a file read differently by the scan and by joblib could hide a call there."""
    from mlayer.model.allowlist import check_trusted

    path = tmp_path / "trailing.pkl"
    path.write_bytes(b"\x80\x02csklearn.base\nBaseEstimator\n)\x81." + b"cposix\nsystem\n(Vtouch x\ntR.")
    scan = scan_pickle(path)
    assert scan.trailing_bytes and scan.globals == {"sklearn.base.BaseEstimator"}  # the scan alone sees nothing wrong
    with pytest.raises(MlayerError, match=r"^trailing\.pkl refused: it holds data after the pickle's end"):
        check_trusted("trailing.pkl", scan)


def test_allow_list_rules() -> None:
    allowed = [
        "sklearn.linear_model._logistic.LogisticRegression", "sklearn.tree._tree.Tree", "sklearn.neighbors._ball_tree.newObj",
        "numpy._core.multiarray._reconstruct", "numpy.core.multiarray.scalar", "numpy.ndarray", "numpy.dtype", "numpy.float64",
        "scipy.sparse._csr.csr_matrix", "joblib.numpy_pickle.NumpyArrayWrapper", "builtins.slice", "copyreg._reconstructor",
    ]
    refused = [
        "posix.system", "os.system", "builtins.eval", "builtins.getattr", "builtins.__import__", "builtins.type",
        "sklearn.utils._testing.assert_run_python_script_without_output", "sklearn.utils._testing.TempMemmap",
        "sklearn.datasets._base.Bunch", "sklearn.utils.parallel.delayed", "numpy.load", "numpy.lib.npyio.NpzFile",
        "scipy.sparse.load_npz", "joblib.load", "sklearn.base.inspect.os.system", "numpy.testing.Tester",
    ]
    assert [g for g in allowed if not is_allowed(g)] == []
    assert [g for g in refused if is_allowed(g)] == []


@pytest.fixture(scope="module")
def estimator_zoo(deps_build, tmp_path_factory) -> Path:
    """Real fitted objects of many kinds, dumped by the deps layer's joblib: none may need --trust."""
    out = tmp_path_factory.mktemp("zoo")
    body = f"""
        import joblib, numpy as np
        from sklearn.pipeline import make_pipeline
        from sklearn.feature_extraction.text import TfidfVectorizer, CountVectorizer, HashingVectorizer
        from sklearn.linear_model import LogisticRegression, SGDClassifier
        from sklearn.ensemble import RandomForestClassifier, HistGradientBoostingClassifier
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.svm import SVC, LinearSVC
        from sklearn.naive_bayes import MultinomialNB
        from sklearn.neural_network import MLPClassifier
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.preprocessing import StandardScaler, LabelEncoder
        from sklearn.decomposition import TruncatedSVD
        texts, labels = {TEXTS * 3!r}, {LABELS * 3!r}
        X = CountVectorizer().fit_transform(texts)
        dense = X.toarray().astype(float)
        rs = np.random.RandomState(0)
        objects = {{
            "tfidf_logreg": make_pipeline(TfidfVectorizer(dtype=np.float32), LogisticRegression()).fit(texts, labels),
            "hashing_sgd": make_pipeline(HashingVectorizer(n_features=64), SGDClassifier(random_state=rs)).fit(texts, labels),
            "forest": RandomForestClassifier(n_estimators=3, random_state=rs).fit(dense, labels),
            "hgb": HistGradientBoostingClassifier(max_iter=3).fit(dense, labels),
            "knn": KNeighborsClassifier(n_neighbors=2, algorithm="ball_tree").fit(dense, labels),
            "svc": SVC(probability=True, random_state=0).fit(dense, labels),
            "linearsvc_calibrated": CalibratedClassifierCV(LinearSVC(), cv=2).fit(dense, labels),
            "nb": MultinomialNB().fit(X, labels),
            "mlp": MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(dense, labels),
            "scaler_svd": make_pipeline(StandardScaler(), TruncatedSVD(2, random_state=0)).fit(dense),
            "labels": LabelEncoder().fit(labels),
            "sparse_matrix": X,
        }}
        import warnings
        warnings.simplefilter("ignore")
        for name, obj in objects.items():
            joblib.dump(obj, OUT + "/" + name + ".joblib")
            joblib.dump(obj, OUT + "/" + name + "_zlib.joblib", compress=3)
    """
    proc = run_isolated(deps_build.interpreter, [deps_build.python_dir], f"OUT = {str(out)!r}\n" + textwrap.dedent(body), timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


def test_real_estimators_need_no_trust(estimator_zoo: Path) -> None:
    files = sorted(estimator_zoo.glob("*.joblib"))
    assert len(files) == 24
    needing_trust = {f.name: untrusted_globals(scan_pickle(f)) for f in files}
    assert {name: extra for name, extra in needing_trust.items() if extra} == {}
    assert all(not scan_pickle(f).unsafe_calls for f in files)


@pytest.fixture(scope="module")
def trusted_function_model(deps_build, tmp_path_factory) -> Path:
    """A pipeline whose FunctionTransformer holds numpy.log1p: outside the allow-list, harmless, so trusted by name."""
    out = tmp_path_factory.mktemp("trusted")
    body = """
        import joblib, numpy as np
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import FunctionTransformer
        from sklearn.linear_model import LogisticRegression
        X = np.array([[0.0], [1.0], [0.1], [0.9]])
        pipe = make_pipeline(FunctionTransformer(np.log1p), LogisticRegression()).fit(X, [0, 1, 0, 1])
        joblib.dump(pipe, OUT + "/Pipe.joblib")
    """
    proc = run_isolated(deps_build.interpreter, [deps_build.python_dir], f"OUT = {str(out)!r}\n" + textwrap.dedent(body))
    assert proc.returncode == 0, proc.stderr
    return out / "Pipe.joblib"


def test_trust_is_explicit_recorded_and_checked_again_at_build(
    trusted_function_model: Path, deps_build, tmp_path: Path, capsys, fresh_cache: Path
) -> None:
    root = tmp_path / "registry"
    args = ["model", "add", "--name", "Pipe", "--version", "v1", "--artifacts-root", str(root), str(trusted_function_model)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "numpy.log1p" in err and "--trust numpy.log1p" in err

    assert main([*args, "--trust", "numpy.log1p"]) == 0
    metadata_path = root / "Pipe" / "v1" / "metadata.json"
    metadata = json.loads(metadata_path.read_text())
    assert metadata["trusted"] == ["numpy.log1p"]
    build = build_model_layer("Pipe", "v1", deps_build, root, tmp_path / "dist")
    assert build.verification.status == "passed"

    del metadata["trusted"]  # someone drops the trust record: the build refuses the file again
    metadata_path.write_text(json.dumps(metadata))
    with pytest.raises(MlayerError, match=r"Pipe.joblib refused by mlayer build model: it imports numpy.log1p"):
        build_model_layer("Pipe", "v1", deps_build, root, tmp_path / "dist2")


def test_bad_trust_name_is_refused(trusted_function_model: Path, tmp_path: Path, capsys) -> None:
    code = main(["model", "add", "--name", "Pipe", "--version", "v1", "--artifacts-root", str(tmp_path), "--trust", "os.*",
                 str(trusted_function_model)])  # fmt: skip
    assert code == 2 and "--trust 'os.*' is not MODULE.NAME" in capsys.readouterr().err


def test_build_model_refuses_a_swapped_hostile_file(demo_artifacts: Path, hostile, tmp_path: Path, fresh_cache: Path, capsys) -> None:
    """A registry edited by hand (file and its sha256 both replaced) is scanned again before any load."""
    root = tmp_path / "registry"
    shutil.copytree(demo_artifacts, root)
    files, markers = hostile
    target = root / NAME / VERSION / "MyModel.joblib"
    shutil.copyfile(files["joblib_payload_in_state.joblib"], target)
    metadata_path = root / NAME / VERSION / "metadata.json"
    metadata = json.loads(metadata_path.read_text())
    for entry in metadata["files"]:
        if entry["file"] == "MyModel.joblib":
            entry["sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()
    metadata_path.write_text(json.dumps(metadata))

    code = main(["build", "model", "--name", NAME, "--version", VERSION, "--artifacts-root", str(root),
                 "--requirements", str(DEFAULT_REQUIREMENTS), "--dist", str(tmp_path / "dist")])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "MyModel.joblib refused by mlayer build model: it imports posix.system" in err, err
    assert not (markers / "joblib_payload_in_state.joblib.MARKER").exists()


def test_a_trusted_hostile_model_is_contained_at_build(demo_artifacts: Path, hostile, tmp_path: Path, fresh_cache: Path, capsys) -> None:
    """The user trusts posix.system (--trust): the allow-list lets it through, the sandbox contains it.

    The payload runs inside the build's check (the control test shows this very file runs it under
    joblib.load), but the host is read-only there, so the marker on the host never appears. The
    estimator around it still loads, so the build passes: trusting a global is the user's decision.
    """
    files, markers = hostile
    root = tmp_path / "registry"
    args = ["model", "add", "--name", "Evil", "--version", "v1", "--artifacts-root", str(root), "--trust", "posix.system"]
    assert main([*args, str(files["joblib_payload_in_state.joblib"])]) == 0
    assert not (markers / "joblib_payload_in_state.joblib.MARKER").exists()  # model add never unpickles
    capsys.readouterr()
    code = main(["build", "model", "--name", "Evil", "--version", "v1", "--artifacts-root", str(root),
                 "--requirements", str(DEFAULT_REQUIREMENTS), "--dist", str(tmp_path / "dist")])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert not (markers / "joblib_payload_in_state.joblib.MARKER").exists()


# sklearn.callback._transport imports multiprocessing.connection's Listener: the name looks like a
# scikit-learn class, so the static allow-list passes it, and calling it binds a socket.
_LISTENER = "csklearn.callback._transport\nListener\n(V{address}\ntR."


def test_a_name_that_only_passes_through_sklearn_is_refused_when_loading(deps_build, tmp_path: Path) -> None:
    """The handler's loader (run at build, contained, and at INIT) checks each global's home package."""
    sockets = {kind: tmp_path / f"{kind}.sock" for kind in ("plain", "handler")}
    for kind, address in sockets.items():
        (tmp_path / f"{kind}.pkl").write_bytes(_LISTENER.format(address=address).encode())
    scan = scan_pickle(tmp_path / "handler.pkl")
    assert untrusted_globals(scan) == [], "the static allow-list passes it: the loader's check is what refuses it"
    code = textwrap.dedent(f"""
        import os, sys, joblib
        sys.path.insert(0, {str(REPO / "function")!r})
        import model_store
        listener = joblib.load({str(tmp_path / "plain.pkl")!r})  # control: plain joblib.load binds the socket
        print("control bound:", os.path.exists({str(sockets["plain"])!r}))  # (the Listener unlinks it when collected)
        try:
            model_store._load({str(tmp_path / "handler.pkl")!r})
        except model_store.ModelInitError as exc:
            print(exc)
        print("handler bound:", os.path.exists({str(sockets["handler"])!r}))
    """)
    proc = run_isolated(deps_build.interpreter, [deps_build.python_dir], code, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "control bound: True" in proc.stdout, "the control did not bind its socket: the test proves nothing"
    assert "handler bound: False" in proc.stdout and not sockets["handler"].exists()
    assert "names sklearn.callback._transport.Listener, which is really multiprocessing.connection's" in proc.stdout


def test_real_estimators_pass_the_loaders_home_package_check(estimator_zoo: Path, deps_build) -> None:
    """Every real fitted object loads through the handler's loader: the check refuses only names a pickle would not write."""
    files = sorted(str(f) for f in estimator_zoo.glob("*.joblib"))
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO / "function")!r})
        import model_store
        for path in {files!r}:
            model_store._load(path)
        print("loaded", len({files!r}))
    """)
    proc = run_isolated(deps_build.interpreter, [deps_build.python_dir], code, timeout=300)
    assert proc.returncode == 0 and "loaded 24" in proc.stdout, proc.stderr[-2000:]
