"""The layer's .pyc: target-version magic, unchecked-hash, /opt/python paths, actually used at import."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mlayer.deps.bytecode import LAMBDA_PYTHON_DIR, compile_layer
from mlayer.errors import MlayerError
from mlayer.hashing import sha256_file
from mlayer.isolated import isolated_command
from mlayer.runtimes import find_interpreter

# Run by the target interpreter on one .pyc: its header fields and the code object's filename.
READ_PYC = """
import importlib.util, json, marshal, sys
data = open(sys.argv[1], "rb").read()
flags = int.from_bytes(data[4:8], "little")
code = marshal.loads(data[16:])
print(json.dumps({"magic_ok": data[:4] == importlib.util.MAGIC_NUMBER, "flags": flags, "filename": code.co_filename}))
"""


def target_python() -> Path:
    python = find_interpreter("3.12")
    if python is None:
        pytest.skip("no Python 3.12 interpreter on this host (pyenv install 3.12)")
    return python


def read_pyc(python: Path, pyc: Path) -> dict:
    import json

    proc = subprocess.run([str(python), "-I", "-c", READ_PYC, str(pyc)], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def test_default_layer_pyc_are_for_the_target_and_independent_of_the_build_dir(deps_build):
    python = target_python()
    assert deps_build.bytecode
    pyc = deps_build.python_dir / "sklearn" / "__pycache__" / "__init__.cpython-312.pyc"
    header = read_pyc(python, pyc)
    assert header["magic_ok"]
    assert header["flags"] == 0b01  # hash-based, check_source off: "unchecked-hash"
    assert header["filename"] == f"{LAMBDA_PYTHON_DIR}/sklearn/__init__.py"


def test_compiling_the_same_tree_in_two_places_gives_identical_pyc(tmp_path):
    python = target_python()
    digests = []
    for name in ("a", "deeper/b"):
        python_dir = tmp_path / name / "python"
        (python_dir / "pkg").mkdir(parents=True)
        (python_dir / "pkg" / "__init__.py").write_text("def f(x):\n    return {'k': x, 'tuple': (1, 2, 'three')}\n")
        (python_dir / "mod.py").write_text("import pkg\nVALUE = pkg.f(3)\n")
        compile_layer(python, python_dir)
        digests.append(sorted((p.relative_to(python_dir).as_posix(), sha256_file(p)) for p in python_dir.rglob("*.pyc")))
    assert digests[0] == digests[1] and len(digests[0]) == 2


def test_a_file_that_does_not_compile_is_named(tmp_path):
    python = target_python()
    python_dir = tmp_path / "python"
    python_dir.mkdir()
    (python_dir / "py2only.py").write_text("print 'hello'\n")
    with pytest.raises(MlayerError, match=r"compiling \.pyc with .* failed: .*py2only\.py.*--no-bytecode"):
        compile_layer(python, python_dir)


def test_imports_load_the_layer_pyc_instead_of_compiling(deps_build, tmp_path):
    """`python -v` says where each code object came from: with the layer's .pyc, nothing under the
    layer is compiled from source, even though the copy is read-only like /opt on Lambda."""
    python = target_python()
    layer = tmp_path / "opt" / "python"
    shutil.copytree(deps_build.python_dir, layer, copy_function=shutil.copy)  # fresh mtimes: hashes, not times, must decide
    subprocess.run(["chmod", "-R", "a-w", str(tmp_path / "opt")], check=True)
    try:
        command = isolated_command(python, [layer], "import sklearn.linear_model, scipy.sparse")
        command.insert(1, "-v")
        proc = subprocess.run(command, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(tmp_path / "opt")], check=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    from_pyc = [line for line in proc.stderr.splitlines() if line.startswith("# code object from") and str(layer) in line]
    from_source = [line for line in from_pyc if line.rstrip("'").endswith(".py")]
    assert len(from_pyc) > 300
    assert from_source == []
