"""build_deps_layer end to end: real pip, real zips, real target interpreters, real caches."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from mlayer.deps.layer import CACHE_KIND, LAYER_ZIP, _alongside, build_deps_layer
from mlayer.deps.progress import Progress
from mlayer.deps.summary import summary_text
from mlayer.errors import MlayerError
from mlayer.hashing import sha256_file
from mlayer.manifest import DIRECT_UPLOAD_LIMIT, LAMBDA_UNZIPPED_LIMIT

REPO = Path(__file__).resolve().parent.parent
# Small, pure-Python, fully pinned (joblib 1.6 depends on cloudpickle): builds in about a second.
SMALL = "joblib==1.6.0\nthreadpoolctl==3.8.0\ncloudpickle==3.1.3\n"


@pytest.fixture
def small_requirements(tmp_path: Path) -> Path:
    path = tmp_path / "small.txt"
    path.write_text("# small test set\n" + SMALL)
    return path


def cache_entries(cache: Path) -> list[Path]:
    kind = cache / CACHE_KIND
    return sorted(p for p in kind.iterdir() if p.is_dir()) if kind.exists() else []


def zip_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_same_requirements_give_the_same_zip_in_other_dist_and_cache_dirs(tmp_path, small_requirements, monkeypatch):
    builds = []
    for name in ("one", "two"):
        monkeypatch.setenv("MLAYER_CACHE_DIR", str(tmp_path / f"cache-{name}"))
        builds.append(build_deps_layer(small_requirements, tmp_path / f"dist-{name}"))
    one, two = builds
    assert not one.cache_hit and not two.cache_hit and one.pip_ran and two.pip_ran
    assert one.stage_dir != two.stage_dir
    assert sha256_file(one.zip_path) == sha256_file(two.zip_path) == one.sha256
    assert one.zip_path.name == f"deps-python3.12-x86_64-{one.sha256[:12]}.zip"
    assert one.zip_path.parent == tmp_path / "dist-one"


def test_layer_layout_and_result_fields(fresh_cache, small_requirements, tmp_path):
    build = build_deps_layer(small_requirements, tmp_path / "dist")
    names = zip_names(build.zip_path)
    assert all(name.startswith("python/") for name in names)
    assert "python/joblib/__init__.py" in names
    assert "python/joblib/__pycache__/__init__.cpython-312.pyc" in names
    assert not any(name.startswith("python/bin/") or "/test/" in name for name in names)
    assert build.packages == {"cloudpickle": "3.1.3", "joblib": "1.6.0", "threadpoolctl": "3.8.0"}
    assert build.python_dir == build.stage_dir / "python" and (build.python_dir / "joblib").is_dir()
    assert build.bytecode is True and build.interpreter is not None
    assert build.import_check == "passed (3 modules)"
    sizes = build.sizes
    assert sizes["zipped_bytes"] == build.zip_path.stat().st_size
    assert sizes["unzipped_bytes"] == sum(i.file_size for i in zipfile.ZipFile(build.zip_path).infolist())
    assert sizes["raw_unzipped_bytes"] > 0 and sizes["pyc_bytes"] > 0
    assert "raw_zipped_bytes" not in sizes  # the raw tree is measured from file sizes, never zipped
    assert build.slim_removed["tests"] > 0  # joblib ships joblib/test
    entry = build.manifest_entry(tmp_path)
    assert entry["file"] == f"dist/{build.zip_path.name}"
    assert entry["sha256"] == build.sha256
    assert entry["packages"] == build.packages and entry["runtime"] == "python3.12" and entry["architecture"] == "x86_64"
    assert entry["bytecode"] is True and entry["requires_s3_upload"] is False
    assert entry["unzipped_bytes"] == sizes["unzipped_bytes"]


def test_cached_rebuild_does_no_pip_work(fresh_cache, small_requirements, tmp_path, monkeypatch):
    first = build_deps_layer(small_requirements, tmp_path / "dist-a")
    # From here on any pip run fails: no index, nothing to find.
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(empty))
    again = build_deps_layer(small_requirements, tmp_path / "dist-b")
    assert again.cache_hit and not again.pip_ran
    assert again.sha256 == first.sha256 == sha256_file(again.zip_path)
    assert again.sizes == first.sizes and again.packages == first.packages
    # comments do not change the cache key either
    small_requirements.write_text("# reordered, other comments\ncloudpickle==3.1.3\njoblib==1.6.0  # x\nthreadpoolctl==3.8.0\n")
    assert build_deps_layer(small_requirements, tmp_path / "dist-c").cache_hit
    # and the broken pip really is broken: an uncached build now fails
    with pytest.raises(MlayerError, match="no wheel of (cloudpickle|joblib|threadpoolctl)=="):
        build_deps_layer(small_requirements, tmp_path / "dist-d", slim=False)
    assert not (tmp_path / "dist-d").exists()


def test_a_damaged_cache_entry_is_rebuilt(fresh_cache, small_requirements, tmp_path):
    first = build_deps_layer(small_requirements, tmp_path / "dist")
    (first.stage_dir.parent / LAYER_ZIP).write_bytes(b"not a zip")
    second = build_deps_layer(small_requirements, tmp_path / "dist")
    assert not second.cache_hit and second.sha256 == first.sha256


def test_no_slim_and_no_bytecode(fresh_cache, small_requirements, tmp_path):
    build = build_deps_layer(small_requirements, tmp_path / "dist", slim=False, bytecode=False)
    names = zip_names(build.zip_path)
    assert build.bytecode is False and not any(name.endswith(".pyc") for name in names)
    assert any(name.startswith("python/joblib/test/") for name in names)  # tests kept
    assert "python/joblib-1.6.0.dist-info/RECORD" in names  # dist-info untouched
    assert build.slim_removed == {} and build.sizes["pyc_bytes"] == 0
    assert build.import_check == "passed (3 modules)"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"runtime": "python3.9"}, r"unknown runtime 'python3\.9': use one of python3\.11, python3\.12, python3\.13"),
        ({"architecture": "amd64"}, r"unknown architecture 'amd64': use one of x86_64, arm64"),
        ({"backend": "conda"}, r"unknown backend 'conda': use one of pip, docker"),
        ({"image": "some/image:tag"}, r"--image only applies to --backend docker"),
    ],
)
def test_bad_options_fail_before_touching_anything(fresh_cache, small_requirements, tmp_path, kwargs, message):
    with pytest.raises(MlayerError, match=message):
        build_deps_layer(small_requirements, tmp_path / "dist", **kwargs)
    assert not (tmp_path / "dist").exists()
    assert cache_entries(fresh_cache) == []


def test_package_without_a_wheel_suggests_the_docker_backend(fresh_cache, tmp_path):
    requirements = tmp_path / "req.txt"
    requirements.write_text("docopt==0.6.2\n")  # only ever published as an sdist
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "keep.txt").write_text("previous build output")
    with pytest.raises(MlayerError) as info:
        build_deps_layer(requirements, dist)
    message = str(info.value)
    assert "no wheel of docopt==0.6.2 for python3.12 on x86_64" in message
    assert "--backend docker" in message
    assert sorted(p.name for p in dist.iterdir()) == ["keep.txt"]
    assert cache_entries(fresh_cache) == []


def test_unpinned_transitive_dependency_is_named(fresh_cache, tmp_path):
    requirements = tmp_path / "req.txt"
    requirements.write_text("joblib==1.6.0\nthreadpoolctl==3.8.0\n")  # cloudpickle missing
    with pytest.raises(MlayerError, match=r"req\.txt: the dependency closure is not fully pinned; pip also installed cloudpickle==3\.1\.3: add that line"):
        build_deps_layer(requirements, tmp_path / "dist")
    assert not (tmp_path / "dist").exists()
    assert cache_entries(fresh_cache) == []


def test_unpinned_requirement_fails_before_pip(fresh_cache, tmp_path):
    requirements = tmp_path / "req.txt"
    requirements.write_text("joblib==1.6.0\nnumpy>=2\n")
    with pytest.raises(MlayerError, match=r"req\.txt:2: numpy is not pinned"):
        build_deps_layer(requirements, tmp_path / "dist")
    assert not (tmp_path / "dist").exists() and cache_entries(fresh_cache) == []


def test_without_a_target_interpreter_builds_without_pyc_and_says_so(fresh_cache, small_requirements, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("MLAYER_PYTHON_3_12", raising=False)
    from mlayer.runtimes import find_interpreter

    if find_interpreter("3.12") is not None:
        pytest.skip(f"a python3.12 is on /usr/bin:/bin ({find_interpreter('3.12')}), cannot simulate its absence")
    build = build_deps_layer(small_requirements, tmp_path / "dist")
    assert build.bytecode is False and build.interpreter is None
    assert not any(name.endswith(".pyc") for name in zip_names(build.zip_path))
    assert build.import_check.startswith("skipped: no Python 3.12 interpreter")
    err = capsys.readouterr().err
    assert "mlayer: warning: no Python 3.12 interpreter found: building without .pyc" in err


def test_arm64_layer_of_pure_python_wheels(fresh_cache, small_requirements, tmp_path):
    build = build_deps_layer(small_requirements, tmp_path / "dist", architecture="arm64")
    assert build.zip_path.name.startswith("deps-python3.12-arm64-")
    assert build.packages["joblib"] == "1.6.0" and build.bytecode is True
    assert build.import_check.startswith("skipped: this host (x86_64) cannot run arm64 code")


def test_default_layer_fits_lambda_and_goes_through_s3(deps_build):
    assert deps_build.runtime.name == "python3.12" and deps_build.architecture == "x86_64"
    assert deps_build.packages["scikit-learn"] == "1.9.1" and deps_build.packages["numpy"] == "2.5.5"
    sizes = deps_build.sizes
    assert sizes["unzipped_bytes"] < LAMBDA_UNZIPPED_LIMIT
    # slimming removed more than 10% of pip's output (tests, stubs, headers, symbols)
    assert sizes["unzipped_bytes"] - sizes["pyc_bytes"] < 0.9 * sizes["raw_unzipped_bytes"]
    assert sizes["stripped_bytes"] > 0 and deps_build.slim_removed["tests"] > 10_000_000
    assert deps_build.requires_s3_upload == (sizes["zipped_bytes"] > DIRECT_UPLOAD_LIMIT)
    text = summary_text(deps_build)
    assert ("through S3" in text) == deps_build.requires_s3_upload
    assert "budget" in text and deps_build.zip_path.name in text


@pytest.mark.slow
def test_default_layer_is_reproducible_from_an_empty_cache(deps_build, fresh_cache, tmp_path):
    again = build_deps_layer(REPO / "requirements" / "python3.12.txt", tmp_path / "dist")
    assert not again.cache_hit
    assert again.sha256 == deps_build.sha256


@pytest.mark.slow
def test_python311_requirements_build_and_pass_the_al2_glibc_check(tmp_path):
    build = build_deps_layer(REPO / "requirements" / "python3.11.txt", tmp_path / "dist", runtime="python3.11")
    assert build.packages["numpy"] == "2.2.6" and build.packages["scikit-learn"] == "1.7.2"
    assert build.sizes["elf_files"] > 50
    assert build.import_check.startswith("passed")
    record = json.loads((build.stage_dir.parent / "build.json").read_text())
    assert record["sha256"] == build.sha256


def test_unreachable_index_is_reported_as_such(fresh_cache, small_requirements, tmp_path, monkeypatch):
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")  # ignore the machine's index/mirror settings
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # discard port: connection refused
    monkeypatch.setenv("PIP_FIND_LINKS", str(empty))
    monkeypatch.setenv("PIP_RETRIES", "1")
    with pytest.raises(MlayerError, match=r"could not reach a package index .*check the network and your pip configuration"):
        build_deps_layer(small_requirements, tmp_path / "dist")
    assert not (tmp_path / "dist").exists()


BUILD_IN_CHILD = """
import json, sys
from pathlib import Path
from mlayer.deps.layer import build_deps_layer
build = build_deps_layer(Path(sys.argv[1]), Path(sys.argv[2]))
print(json.dumps({"sha256": build.sha256, "cache_hit": build.cache_hit}))
"""


def test_concurrent_builds_of_one_key_build_once(fresh_cache, small_requirements, tmp_path):
    """pytest-xdist workers or two terminals: one builds, the other waits for the lock and hits the cache."""
    children = [
        subprocess.Popen([sys.executable, "-c", BUILD_IN_CHILD, str(small_requirements), str(tmp_path / f"dist-{i}")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        for i in range(2)
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert results[0]["sha256"] == results[1]["sha256"]
    assert sorted(r["cache_hit"] for r in results) == [False, True]
    assert len(cache_entries(fresh_cache)) == 1


def test_a_check_alongside_a_step_runs_during_it_and_its_error_comes_after_it():
    """The ELF and import checks run beside bytecode and zip: concurrently, yet a failure still fails the build."""
    progress = Progress(enabled=False)
    body_started, body_done = threading.Event(), []

    def check(wanted: str) -> str:
        assert body_started.wait(30), "the check did not run while the step ran"
        raise MlayerError(f"{wanted} refused")

    with pytest.raises(MlayerError, match="lib.so refused"):
        with _alongside(progress, "elfcheck", "checking", check, "lib.so"):
            body_started.set()  # the check is blocked until now: it can only finish if it runs concurrently
            body_done.append(True)
    assert body_done == [True]  # the step finished before the check's error surfaced
    assert progress.timings["elfcheck"] >= 0
