"""A requirements file cannot make the pip backend build (run) an sdist on the host; the cache key covers what shapes the layer."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

from mlayer.cli import main
from mlayer.deps import layer as layer_mod
from mlayer.deps.layer import _pinned_requirements_text, build_deps_layer, layer_cache_key
from mlayer.deps.requirements import parse_requirements_text
from mlayer.errors import MlayerError
from mlayer.runtimes import find_interpreter, get_runtime

SMALL = "joblib==1.6.0\nthreadpoolctl==3.8.0\ncloudpickle==3.1.3\n"


def parse(text: str):
    return parse_requirements_text(text, Path("req.txt"))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--no-binary :all:", r"req\.txt:2: option --no-binary is not supported .*allowed: --index-url"),
        ("--no-binary=:all:", r"req\.txt:2: option --no-binary is not supported"),
        ("--only-binary :none:", r"req\.txt:2: option --only-binary is not supported"),
        ("--trusted-host evil.invalid", r"req\.txt:2: option --trusted-host is not supported"),
        ("--pre", r"req\.txt:2: option --pre is not supported"),
        ("--prefer-binary", r"req\.txt:2: option --prefer-binary is not supported"),
        ("--use-feature truststore", r"req\.txt:2: option --use-feature is not supported"),
        ("--no-index --find-links /tmp/x --no-binary :all:", r"req\.txt:2: '--no-index --find-links .*' must hold --no-index alone"),
        ("--find-links /tmp/x --no-binary :all:", r"req\.txt:2: .* must hold --find-links alone"),
        ("-i https://a.invalid/simple --no-binary :all:", r"req\.txt:2: .* must hold -i alone"),
    ],
)
def test_pip_options_outside_the_allow_list_are_refused(line: str, message: str) -> None:
    with pytest.raises(MlayerError, match=message) as info:
        parse(f"numpy==2.5.5\n{line}\n")
    assert "\n" not in str(info.value)


def test_allowed_options_are_canonical_and_wheels_only_comes_last() -> None:
    reqs = parse("-i https://a.invalid/simple\n--extra-index-url=https://b.invalid/simple\n--no-index\n-f /wheels\nnumpy==2.5.5\n")
    assert reqs.options == ("--index-url https://a.invalid/simple", "--extra-index-url https://b.invalid/simple", "--no-index", "--find-links /wheels")
    text = _pinned_requirements_text(reqs, "pip").splitlines()
    assert text[-1] == "--only-binary :all:" and "numpy==2.5.5" in text
    assert "--only-binary :all:" not in _pinned_requirements_text(reqs, "docker")  # the container backend may build sdists


def _evil_sdist(directory: Path, marker: Path) -> Path:
    """evilpkg-1.0.tar.gz whose setup.py touches `marker` when pip builds it."""
    src = directory / "evilpkg-1.0"
    src.mkdir(parents=True)
    (src / "setup.py").write_text(textwrap.dedent(f"""
        import pathlib
        pathlib.Path({str(marker)!r}).touch()
        from setuptools import setup
        setup(name="evilpkg", version="1.0", py_modules=[])
    """))
    (src / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: evilpkg\nVersion: 1.0\n")
    links = directory / "links"
    links.mkdir()
    with tarfile.open(links / "evilpkg-1.0.tar.gz", "w:gz") as tar:
        tar.add(src, arcname="evilpkg-1.0")
    return links


def test_an_sdist_in_find_links_is_never_built_on_the_host(fresh_cache: Path, tmp_path: Path, capsys) -> None:
    control_marker, marker = tmp_path / "CONTROL-MARKER", tmp_path / "MARKER"
    # Control: pip without the wheels-only rule builds the sdist, and its setup.py runs.
    control_links = _evil_sdist(tmp_path / "control", control_marker)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--find-links", str(control_links),
         "--target", str(tmp_path / "control-target"), "evilpkg==1.0"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert control_marker.exists(), "the control sdist did not run its setup.py: the test below would prove nothing"

    links = _evil_sdist(tmp_path / "attack", marker)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"--no-index\n--find-links {links}\nevilpkg==1.0\n")
    code = main(["build", "deps", "--requirements", str(requirements), "--dist", str(tmp_path / "dist")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "no wheel of evilpkg==1.0" in err, err
    assert not marker.exists()
    assert not (tmp_path / "dist").exists()

    requirements.write_text(f"--no-index --find-links {links} --no-binary :all:\nevilpkg==1.0\n")  # the line
    assert main(["build", "deps", "--requirements", str(requirements), "--dist", str(tmp_path / "dist")]) == 2
    assert "must hold --no-index alone" in capsys.readouterr().err
    assert not marker.exists()


def test_markers_that_remove_every_package_are_an_error(fresh_cache: Path, tmp_path: Path, capsys) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text('six==1.17.0 ; python_version < "2"\n')
    code = main(["build", "deps", "--requirements", str(requirements), "--dist", str(tmp_path / "dist")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "requirements.txt:1: every requirement's environment marker excludes python3.12/x86_64" in err
    assert not (tmp_path / "dist").exists() and not fresh_cache.exists()


@pytest.fixture
def key_inputs():
    runtime = get_runtime("python3.12")
    interpreter = find_interpreter(runtime.python_version)
    return dict(parsed=parse(SMALL), target=runtime, architecture="x86_64", backend="pip", image=None, slim=True,
                compile_pyc=interpreter is not None, interpreter=interpreter)  # fmt: skip


def test_cache_key_is_stable_for_unchanged_inputs(key_inputs) -> None:
    assert layer_cache_key(**key_inputs) == layer_cache_key(**{**key_inputs, "parsed": parse("# comment\n" + SMALL)})


@pytest.mark.parametrize(
    "change",
    ["pin", "option", "hash", "glibc", "python", "slim", "architecture"],
)
def test_cache_key_changes_with_each_input(key_inputs, change: str) -> None:
    before = layer_cache_key(**key_inputs)
    runtime = key_inputs["target"]
    changed = {
        "pin": {"parsed": parse(SMALL.replace("joblib==1.6.0", "joblib==1.5.3"))},
        "option": {"parsed": parse("--index-url https://mirror.invalid/simple\n" + SMALL)},
        "hash": {"parsed": parse(SMALL.replace("joblib==1.6.0", "joblib==1.6.0 --hash=sha256:" + "b" * 64))},
        "glibc": {"target": dataclasses.replace(runtime, glibc=(2, 26))},  # a runtime mapping change: other wheel tags
        "python": {"target": dataclasses.replace(runtime, python_version="3.13")},
        "slim": {"slim": False},
        "architecture": {"architecture": "arm64"},
    }[change]
    assert layer_cache_key(**{**key_inputs, **changed}) != before


@pytest.mark.parametrize("source", ["zipper.py", "runtimes.py", "deps/slim.py", "deps/bytecode.py", "deps/layer.py", "fsutil.py"])
def test_cache_key_changes_with_each_shaping_source_file(key_inputs, source: str, tmp_path: Path, monkeypatch) -> None:
    """A copy of the package with one byte added to one source file gives another key (and so a rebuild)."""
    package = Path(layer_mod.__file__).resolve().parent.parent
    before = layer_cache_key(**key_inputs)
    copy = tmp_path / "mlayer"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(layer_mod, "PACKAGE_DIR", copy)
    assert layer_cache_key(**key_inputs) == before  # the copy alone changes nothing
    with open(copy / source, "a") as handle:
        handle.write("\n# changed\n")
    assert layer_cache_key(**key_inputs) != before


def test_a_changed_pin_rebuilds_and_an_unchanged_one_does_not(fresh_cache: Path, tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(SMALL)
    first = build_deps_layer(requirements, tmp_path / "dist")
    assert not first.cache_hit
    assert build_deps_layer(requirements, tmp_path / "dist").cache_hit
    requirements.write_text(SMALL.replace("threadpoolctl==3.8.0", "threadpoolctl==3.6.0"))
    changed = build_deps_layer(requirements, tmp_path / "dist")
    assert not changed.cache_hit and changed.packages["threadpoolctl"] == "3.6.0"


def test_package_version_is_in_the_key(key_inputs, monkeypatch) -> None:
    from mlayer import cache

    before = layer_cache_key(**key_inputs)
    monkeypatch.setattr(cache, "__version__", "99.0.0")
    assert layer_cache_key(**key_inputs) != before

