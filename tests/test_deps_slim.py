"""Slimming: each rule removes what it says and nothing else; the slimmed default layer still works."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from mlayer.deps.importcheck import top_level_modules
from mlayer.deps.slim import RUNTIME_TEST_FILES, apply_rules, extension_modules, slim_layer
from mlayer.hashing import sha256_file
from mlayer.isolated import run_isolated, run_isolated_json

REPO = Path(__file__).resolve().parent.parent

TREE = {
    "bin/f2py": "#!/host/venv/bin/python\n",
    "pkg/__init__.py": "X = 1\n",
    "pkg/__init__.pyi": "X: int\n",
    "pkg/__pycache__/__init__.cpython-311.pyc": "host bytecode",
    "pkg/_impl.pxd": "cdef int f()\n",
    "pkg/_impl.pyx": "cdef int f(): return 1\n",
    "pkg/include/pkg/api.h": "int f(void);\n",
    "pkg/lib/libpkgmath.a": "static archive",
    "pkg/lib/pkgconfig/pkg.pc": "Name: pkg\n",
    "pkg/tests/__init__.py": "",
    "pkg/tests/test_a.py": "def test(): pass\n",
    "pkg/sub/test/test_b.py": "def test(): pass\n",
    "pkg/testing.py": "# a module named like tests is kept\n",
    "pkg/data/table.csv": "a,b\n1,2\n",
    "numpy/_core/tests/_natype.py": "pd_NA = object()\n",
    "numpy/_core/tests/test_x.py": "def test(): pass\n",
    "numpy/_core/tests/data/big.bin": "x" * 1000,
    "pkg-1.0.dist-info/METADATA": "Name: pkg\nVersion: 1.0\n",
    "pkg-1.0.dist-info/RECORD": "pkg/__init__.py,sha256=...,6\n",
    "pkg-1.0.dist-info/INSTALLER": "pip\n",
    "pkg-1.0.dist-info/REQUESTED": "",
    "pkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\n",
    "pkg-1.0.dist-info/entry_points.txt": "[console_scripts]\nf2py = pkg:main\n",
    "pkg-1.0.dist-info/top_level.txt": "pkg\n",
    "pkg-1.0.dist-info/LICENSE.txt": "BSD\n",
    "pkg-1.0.dist-info/licenses/vendored/COPYING": "GPL with exception\n",
    "pkg-1.0.dist-info/sboms/auditwheel.cdx.json": "{}\n",
}
ALWAYS_REMOVED = {"bin/f2py", "pkg/__pycache__/__init__.cpython-311.pyc"}
SLIM_REMOVED = ALWAYS_REMOVED | {
    "pkg/__init__.pyi",
    "pkg/_impl.pxd",
    "pkg/_impl.pyx",
    "pkg/include/pkg/api.h",
    "pkg/lib/libpkgmath.a",
    "pkg/lib/pkgconfig/pkg.pc",
    "pkg/tests/__init__.py",
    "pkg/tests/test_a.py",
    "pkg/sub/test/test_b.py",
    "numpy/_core/tests/test_x.py",
    "numpy/_core/tests/data/big.bin",
    "pkg-1.0.dist-info/RECORD",
    "pkg-1.0.dist-info/INSTALLER",
    "pkg-1.0.dist-info/REQUESTED",
}


def make_tree(root: Path) -> Path:
    for name, content in TREE.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_slim_rules_remove_exactly_what_they_say(tmp_path):
    python_dir = make_tree(tmp_path / "python")
    report = apply_rules(python_dir, slim=True)
    assert files_under(python_dir) == set(TREE) - SLIM_REMOVED
    assert "numpy/_core/tests/_natype.py" in RUNTIME_TEST_FILES
    assert report.removed_files == {"bin": 1, "__pycache__": 1, "tests": 5, "stubs": 1, "build-only": 5, "dist-info": 3}
    expected_tests_bytes = sum(len(TREE[n]) for n in SLIM_REMOVED if "/tests/" in n or "/test/" in n)
    assert report.removed_bytes["tests"] == expected_tests_bytes
    assert not (python_dir / "pkg" / "tests").exists() and not (python_dir / "bin").exists()


def test_without_slim_only_host_specific_files_go(tmp_path):
    python_dir = make_tree(tmp_path / "python")
    report = apply_rules(python_dir, slim=False)
    assert files_under(python_dir) == set(TREE) - ALWAYS_REMOVED
    assert set(report.removed_bytes) == {"bin", "__pycache__"}


def host_extension_module() -> Path:
    """An unstripped CPython extension module from the tooling venv (numpy's, pulled in by matplotlib)."""
    spec = importlib.util.find_spec("numpy")
    if spec is None or spec.origin is None:
        pytest.skip("numpy is not installed in the tooling venv, so there is no unstripped extension module to strip")
    return next(Path(spec.origin).parent.glob("_core/_multiarray_umath.*.so"))


def has_symtab(path: Path) -> bool:
    with open(path, "rb") as handle:
        return ELFFile(handle).get_section_by_name(".symtab") is not None


def test_strip_touches_extension_modules_only_and_is_deterministic(tmp_path):
    if shutil.which("strip") is None:
        pytest.skip("GNU strip (binutils) is not installed")
    module = host_extension_module()
    digests = []
    for name in ("one", "two"):
        python_dir = tmp_path / name / "python"
        (python_dir / "pkg").mkdir(parents=True)
        (python_dir / "pkg.libs").mkdir()
        shutil.copy2(module, python_dir / "pkg" / "_ext.cpython-311-x86_64-linux-gnu.so")
        shutil.copy2(module, python_dir / "pkg.libs" / "libvendored-1a2b3c.so")
        os.utime(python_dir / "pkg" / "_ext.cpython-311-x86_64-linux-gnu.so", (1, 1) if name == "one" else (2, 2))
        report = slim_layer(python_dir, "x86_64", slim=True)
        stripped = python_dir / "pkg" / "_ext.cpython-311-x86_64-linux-gnu.so"
        assert report.stripped_files == 1 and report.warnings == []
        assert stripped.stat().st_size < module.stat().st_size and not has_symtab(stripped)
        assert report.stripped_bytes == module.stat().st_size - stripped.stat().st_size
        assert sha256_file(python_dir / "pkg.libs" / "libvendored-1a2b3c.so") == sha256_file(module)  # never stripped
        assert extension_modules(python_dir) == [stripped]
        digests.append(sha256_file(stripped))
    assert digests[0] == digests[1]


def test_default_layer_was_slimmed(deps_build):
    python_dir = deps_build.python_dir
    assert not (python_dir / "bin").exists()
    tests_dirs = sorted(p.relative_to(python_dir).as_posix() for p in python_dir.rglob("tests") if p.is_dir())
    assert tests_dirs == ["numpy/_core/tests"]
    kept = {p.relative_to(python_dir).as_posix() for p in (python_dir / "numpy/_core/tests").rglob("*") if p.is_file()}
    assert {k for k in kept if "__pycache__" not in k} == {"numpy/_core/tests/_natype.py"}
    assert not list(python_dir.rglob("*.pyi"))
    for dist_info in python_dir.glob("*.dist-info"):
        assert (dist_info / "METADATA").is_file()
        assert not (dist_info / "RECORD").exists() and not (dist_info / "INSTALLER").exists()
    assert list(python_dir.glob("*.dist-info/licenses/*")) or list(python_dir.glob("*.dist-info/LICENSE*"))
    own = extension_modules(python_dir)
    assert len(own) > 50 and not any(has_symtab(p) for p in own)


PREDICT = """
import json
import numpy, numpy.testing, scipy.sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
texts = ["good great fine", "bad awful poor", "great good", "poor bad", "fine good", "awful bad"]
labels = ["pos", "neg", "pos", "neg", "pos", "neg"]
linear = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels)
forest = make_pipeline(TfidfVectorizer(), RandomForestClassifier(n_estimators=10, random_state=0)).fit(texts, labels)
import sklearn, importlib.metadata
print(json.dumps({
    "linear": list(linear.predict(["good fine", "awful poor"])),
    "forest": list(forest.predict(["good great", "bad awful"])),
    "numpy_file": numpy.__file__,
    "sklearn_version": importlib.metadata.version("scikit-learn"),
}))
"""


def test_slimmed_default_layer_imports_and_predicts_in_isolated_python312(deps_build):
    if deps_build.interpreter is None:
        pytest.skip("no Python 3.12 interpreter on this host to run the layer")
    result = run_isolated_json(deps_build.interpreter, [deps_build.python_dir], PREDICT, what="predict with the slimmed layer")
    assert result["linear"] == ["pos", "neg"] and result["forest"] == ["pos", "neg"]
    assert result["numpy_file"].startswith(str(deps_build.python_dir))
    assert result["sklearn_version"] == "1.9.1"  # dist-info METADATA still serves importlib.metadata


WALK = """
import contextlib, importlib, io, json, pkgutil
failures = {}
count = 0
for root in json.loads(input()):
    try:
        pkg = importlib.import_module(root)
    except ModuleNotFoundError as exc:
        failures[root] = exc.name or ""
        continue
    names = [m.name for m in pkgutil.walk_packages(getattr(pkg, "__path__", []), root + ".", onerror=lambda n: None)]
    for name in [root] + [n for n in names if ".tests" not in n and not n.endswith(".conftest")]:
        count += 1
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                importlib.import_module(name)
        except ModuleNotFoundError as exc:
            failures[name] = exc.name or ""
        except BaseException:
            pass  # platform-specific modules (Windows backends, __main__) fail for other reasons
print(json.dumps({"count": count, "missing": failures}))
"""
# Modules that are development scripts, not library code: they import build/test-only modules.
DEV_ONLY_PREFIXES = ("scipy.special._precompute.", "numpy._core.cversions")


def modules_missing_from_the_layer(python: Path, python_dir: Path) -> tuple[int, dict[str, str]]:
    """Import every non-test module of numpy/scipy/sklearn/...; return module -> missing module, for
    missing modules that belong to the layer itself (optional third-party ones like pandas or
    pytest are expected to be absent), and how many modules were tried."""
    proc = run_isolated(python, [python_dir], WALK, stdin=json.dumps(top_level_modules(python_dir)), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    own = {p.name for p in python_dir.iterdir() if p.is_dir()}
    return result["count"], {
        module: missing
        for module, missing in result["missing"].items()
        if missing.split(".")[0] in own and not module.startswith(DEV_ONLY_PREFIXES)
    }


def test_every_module_of_the_slimmed_default_layer_finds_its_own_modules(deps_build):
    if deps_build.interpreter is None:
        pytest.skip("no Python 3.12 interpreter on this host to run the layer")
    count, missing = modules_missing_from_the_layer(deps_build.interpreter, deps_build.python_dir)
    assert count > 1000 and missing == {}


@pytest.fixture(scope="module")
def py311_build(tmp_path_factory):
    from mlayer.deps.layer import build_deps_layer

    return build_deps_layer(REPO / "requirements" / "python3.11.txt", tmp_path_factory.mktemp("dist311"), runtime="python3.11")


@pytest.mark.slow
def test_python311_layer_keeps_the_test_module_numpy_imports_at_run_time(py311_build, tmp_path):
    """numpy 2.2 imports numpy/_core/tests/_natype.py from numpy.testing: the slimmed layer keeps it,
    and without it the module walk above does notice."""
    if py311_build.interpreter is None:
        pytest.skip("no Python 3.11 interpreter on this host to run the layer")
    assert (py311_build.python_dir / "numpy/_core/tests/_natype.py").is_file()
    count, missing = modules_missing_from_the_layer(py311_build.interpreter, py311_build.python_dir)
    assert count > 1000 and missing == {}
    broken = tmp_path / "python"
    shutil.copytree(py311_build.python_dir, broken, copy_function=os.link)
    shutil.rmtree(broken / "numpy/_core/tests")
    _, missing = modules_missing_from_the_layer(py311_build.interpreter, broken)
    assert missing and set(missing.values()) == {"numpy._core.tests"}
    assert "numpy.testing" in missing
