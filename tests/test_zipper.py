"""The one zip writer: byte-identical output for identical trees, whatever the mtimes, order or umask."""

from __future__ import annotations

import os
import random
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

from mlayer import zipper
from mlayer.hashing import sha256_file
from mlayer.runtimes import find_interpreter

from zip_reference import stdlib_streaming_zip
from mlayer.zipper import FIXED_DATE_TIME, extract_zip, unzipped_size, write_zip, zip_tree


def make_tree(root: Path, order: list[str], mtime: int) -> Path:
    files = {"python/b/mod.py": b"print('b')\n", "python/a.py": b"A = 1\n", "python/bin/tool": b"#!/bin/sh\n", "python/c/d/e.txt": b"x" * 5000}
    for name in order:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])
        os.chmod(path, 0o600)  # group/other bits must not matter
        os.utime(path, (mtime, mtime))
    os.chmod(root / "python/bin/tool", 0o700)
    return root


def test_same_tree_gives_identical_bytes_regardless_of_mtime_and_creation_order(tmp_path: Path):
    one = make_tree(tmp_path / "one", ["python/a.py", "python/b/mod.py", "python/bin/tool", "python/c/d/e.txt"], 1_000_000_000)
    two = make_tree(tmp_path / "two", ["python/c/d/e.txt", "python/bin/tool", "python/b/mod.py", "python/a.py"], 1_700_000_000)
    zip_one = zip_tree(one, tmp_path / "one.zip")
    zip_two = zip_tree(two, tmp_path / "two.zip")
    assert sha256_file(zip_one) == sha256_file(zip_two)
    # and a change of content changes the digest
    (two / "python/a.py").write_bytes(b"A = 2\n")
    assert sha256_file(zip_tree(two, tmp_path / "three.zip")) != sha256_file(zip_one)


def test_entries_sorted_fixed_time_fixed_permissions_no_directories(tmp_path: Path):
    root = make_tree(tmp_path / "t", ["python/b/mod.py", "python/a.py", "python/bin/tool", "python/c/d/e.txt"], 1_234_567_890)
    archive = zip_tree(root, tmp_path / "out.zip")
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names) == ["python/a.py", "python/b/mod.py", "python/bin/tool", "python/c/d/e.txt"]
    for info in infos:
        assert info.date_time == FIXED_DATE_TIME
        assert info.create_system == 3
        assert info.extra == b""
        assert info.compress_type == zipfile.ZIP_DEFLATED
        mode = info.external_attr >> 16
        assert stat.S_ISREG(mode)
        assert stat.S_IMODE(mode) == (0o755 if info.filename == "python/bin/tool" else 0o644)


def test_prefix_and_unzipped_size_and_extract_keeps_modes(tmp_path: Path):
    root = make_tree(tmp_path / "t", ["python/a.py", "python/b/mod.py", "python/bin/tool", "python/c/d/e.txt"], 0)
    archive = zip_tree(root / "python", tmp_path / "p.zip", prefix="model")
    with zipfile.ZipFile(archive) as zf:
        assert all(name.startswith("model/") for name in zf.namelist())
    assert unzipped_size(archive) == 6 + 11 + 10 + 5000
    extract_zip(archive, tmp_path / "x")
    assert (tmp_path / "x/model/c/d/e.txt").read_bytes() == b"x" * 5000
    assert stat.S_IMODE((tmp_path / "x/model/bin/tool").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "x/model/a.py").stat().st_mode) == 0o644


def test_duplicate_entries_are_refused_and_nothing_is_written(tmp_path: Path):
    src = tmp_path / "f.txt"
    src.write_text("x")
    dest = tmp_path / "dist" / "dup.zip"
    with pytest.raises(ValueError, match="duplicate zip entries"):
        write_zip([("a", src), ("a", src)], dest)
    assert not dest.exists()


def test_failure_midway_leaves_no_partial_zip(tmp_path: Path):
    good = tmp_path / "good.txt"
    good.write_text("x")
    dest = tmp_path / "dist" / "out.zip"
    with pytest.raises(FileNotFoundError):
        write_zip([("a", good), ("b", tmp_path / "missing.txt")], dest)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # no temporary file left behind either


def make_mixed_tree(root: Path) -> Path:
    """Empty, tiny, multi-chunk compressible, incompressible and executable files in nested dirs."""
    rng = random.Random(9)
    files = {
        "python/empty.py": b"",
        "python/pkg/__init__.py": b"from .core import f\n",
        "python/pkg/core.py": b"def f():\n    return 1\n" * 2000,
        "python/pkg/big.txt": b"".join(b"line %d of a text that deflates well\n" % i for i in range(120_000)),  # > 3 feeds
        "python/pkg/_native.so": rng.randbytes(2_500_000),  # incompressible, > 2 feeds
        "python/bin/tool": b"#!/bin/sh\necho hi\n",
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    os.chmod(root / "python/bin/tool", 0o755)
    return root


@pytest.mark.parametrize("in_memory_limit", [zipper.IN_MEMORY_LIMIT, 1_000_000])  # all precompressed / big files streamed
def test_parallel_writer_bytes_equal_one_thread_and_zipfiles_own_writer(tmp_path: Path, monkeypatch, in_memory_limit: int):
    monkeypatch.setattr(zipper, "IN_MEMORY_LIMIT", in_memory_limit)
    root = make_mixed_tree(tmp_path / "t")
    reference = sha256_file(stdlib_streaming_zip(root, tmp_path / "reference.zip"))
    for workers in (1, 2, 5):
        archive = zip_tree(root, tmp_path / f"w{workers}.zip", workers=workers)
        assert sha256_file(archive) == reference, f"{workers} threads changed the bytes"
    with zipfile.ZipFile(archive) as zf:
        assert zf.testzip() is None
        assert zf.read("python/pkg/big.txt") == (root / "python/pkg/big.txt").read_bytes()
    assert subprocess.run(["unzip", "-tq", str(archive)], capture_output=True).returncode == 0


_SAME_BYTES_SCRIPT = """
import hashlib, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
import zip_reference
from mlayer import zipper
root, out = Path(sys.argv[3]), Path(sys.argv[4])
ours = zipper.zip_tree(root, out / "ours.zip", workers=3)
ref = zip_reference.stdlib_streaming_zip(root, out / "ref.zip")
print(hashlib.sha256(ours.read_bytes()).hexdigest() == hashlib.sha256(ref.read_bytes()).hexdigest())
"""


@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13"])
def test_precompressed_entries_match_zipfiles_writer_on_every_supported_python(tmp_path: Path, version: str):
    """_append_deflated mirrors zipfile internals: a CPython that changes them fails here, not in a user's zip."""
    python = find_interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} on this host (pyenv install {version})")
    root = make_mixed_tree(tmp_path / "t")
    build_dir, tests_dir = Path(zipper.__file__).parent.parent, Path(__file__).parent
    proc = subprocess.run([str(python), "-c", _SAME_BYTES_SCRIPT, str(build_dir), str(tests_dir), str(root), str(tmp_path)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"
