"""Parallel pip runs (pip_backend.install_with_pip): the same layer, byte for byte, whatever the
number of runs; one ordinary pip run decides whenever the groups cannot give its tree."""

from __future__ import annotations

import base64
import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest

from mlayer.deps import pip_backend
from mlayer.deps.installed import unmet_dependencies
from mlayer.deps.layer import build_deps_layer
from mlayer.deps.pip_backend import PIP_JOBS_ENV, _merge_into, pin_groups, pip_jobs
from mlayer.deps.requirements import parse_requirements, parse_requirements_text
from mlayer.errors import MlayerError
from mlayer.hashing import sha256_file
from mlayer.runtimes import get_runtime

REPO = Path(__file__).resolve().parent.parent
SMALL = "joblib==1.6.0\nthreadpoolctl==3.8.0\ncloudpickle==3.1.3\n"  # joblib 1.6 depends on cloudpickle
RUNTIME = get_runtime("python3.12")


def names(groups):
    return [sorted(pin.name for pin in group) for group in groups]


def test_groups_spread_the_heavy_wheels_and_keep_every_pin_once():
    requirements = parse_requirements(REPO / "requirements" / "python3.12.txt")
    groups = pin_groups(requirements.pins, 2)
    assert len(groups) == 2
    assert sorted(pin.name for group in groups for pin in group) == sorted(pin.name for pin in requirements.pins)
    scipy_group = next(group for group in names(groups) if "scipy" in group)
    assert "numpy" not in scipy_group and "scikit-learn" not in scipy_group  # the three big wheels are not all in one run
    assert names(pin_groups(requirements.pins, 1)) == [sorted(pin.name for pin in requirements.pins)]
    assert len(pin_groups(requirements.pins, 50)) == len(requirements.pins)  # never an empty group
    assert names(pin_groups(requirements.pins, 2)) == names(groups)  # deterministic


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "", "²", " 2"])
def test_a_bad_job_count_is_refused_in_one_line(monkeypatch, value):
    monkeypatch.setenv(PIP_JOBS_ENV, value)
    with pytest.raises(MlayerError, match=rf"^{PIP_JOBS_ENV}=.* is not a positive whole number: set it to"):
        pip_jobs()


def test_the_default_job_count_follows_the_usable_cores(monkeypatch):
    monkeypatch.delenv(PIP_JOBS_ENV, raising=False)
    import os

    assert pip_jobs() == max(1, min(len(os.sched_getaffinity(0)), pip_backend.MAX_PIP_JOBS))
    monkeypatch.setenv(PIP_JOBS_ENV, "3")
    assert pip_jobs() == 3


def test_one_pip_run_and_three_parallel_runs_give_the_same_zip(tmp_path, monkeypatch):
    requirements = tmp_path / "small.txt"
    requirements.write_text(SMALL)
    zips = {}
    for jobs in ("1", "3"):
        monkeypatch.setenv("MLAYER_CACHE_DIR", str(tmp_path / f"cache-{jobs}"))
        monkeypatch.setenv(PIP_JOBS_ENV, jobs)
        build = build_deps_layer(requirements, tmp_path / f"dist-{jobs}")
        assert not build.cache_hit
        assert not any(p.name.startswith(("pip-", "requirements-")) for p in (build.stage_dir.parent).iterdir())  # group dirs removed
        zips[jobs] = sha256_file(build.zip_path)
    assert zips["1"] == zips["3"]


def test_a_missing_transitive_pin_falls_back_to_one_pip_run_and_is_named(tmp_path, monkeypatch):
    """--no-deps runs would leave cloudpickle out silently; the closure check sends it to one pip run, whose
    resolver installs it, and the usual error names the line to add."""
    monkeypatch.setenv("MLAYER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(PIP_JOBS_ENV, "2")
    requirements = tmp_path / "req.txt"
    requirements.write_text("joblib==1.6.0\nthreadpoolctl==3.8.0\n")
    with pytest.raises(MlayerError, match=r"the dependency closure is not fully pinned; pip also installed cloudpickle==3\.1\.3: add that line"):
        build_deps_layer(requirements, tmp_path / "dist")


def test_a_failing_group_names_the_package_like_one_run_would(tmp_path, monkeypatch):
    monkeypatch.setenv("MLAYER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(PIP_JOBS_ENV, "2")
    requirements = tmp_path / "req.txt"
    requirements.write_text("threadpoolctl==3.8.0\ndocopt==0.6.2\n")  # docopt: only ever an sdist
    with pytest.raises(MlayerError, match=r"no wheel of docopt==0\.6\.2 for python3\.12 on x86_64"):
        build_deps_layer(requirements, tmp_path / "dist")


@pytest.fixture(scope="module")
def small_tree(tmp_path_factory) -> Path:
    """SMALL installed by one real pip run."""
    work = tmp_path_factory.mktemp("small-tree")
    (work / "req.txt").write_text(SMALL)
    target = work / "python"
    target.mkdir()
    requirements = parse_requirements(work / "req.txt")
    pip_backend.install_with_pip(requirements, work / "req.txt", target, RUNTIME, "x86_64")
    return target


def test_a_closed_tree_has_no_unmet_dependencies(small_tree, tmp_path):
    requirements = parse_requirements_text(SMALL, tmp_path / "req.txt")
    assert unmet_dependencies(small_tree, requirements) == []


def test_a_tree_without_a_dependency_or_a_pin_is_not_closed(small_tree, tmp_path):
    tree = tmp_path / "python"
    shutil.copytree(small_tree, tree)
    for dist_info in tree.glob("cloudpickle-*.dist-info"):
        shutil.rmtree(dist_info)
    requirements = parse_requirements_text(SMALL, tmp_path / "req.txt")
    unmet = unmet_dependencies(tree, requirements)
    assert "cloudpickle: not installed" in unmet  # the pin itself
    assert any(entry.startswith("joblib: cloudpickle") for entry in unmet)  # and joblib's requirement of it


def test_merging_moves_trees_together_and_never_overwrites_different_bytes(tmp_path):
    first, second, dest = tmp_path / "a", tmp_path / "b", tmp_path / "dest"
    for root, text in ((first, "from a"), (second, "from b")):
        (root / "bin").mkdir(parents=True)
        (root / "bin" / f"tool-{root.name}").write_text(text)
        (root / "shared.txt").write_text("same in both")
        (root / root.name).mkdir()
    dest.mkdir()
    assert _merge_into(first, dest) and _merge_into(second, dest)
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == ["a", "b", "bin", "bin/tool-a", "bin/tool-b", "shared.txt"]

    clash = tmp_path / "clash"
    clash.mkdir()
    (clash / "shared.txt").write_text("different")
    assert not _merge_into(clash, dest)
    assert (dest / "shared.txt").read_text() == "same in both"


def test_pins_of_one_name_stay_in_one_group(tmp_path):
    text = 'beta==2.0 ; python_version >= "3"\nalpha==1.0\nbeta==1.0 ; python_version >= "3.0"\ngamma==1.0\n'
    groups = pin_groups(parse_requirements_text(text, tmp_path / "req.txt").pins, 3)
    assert sum(1 for group in groups if any(pin.name == "beta" for pin in group)) == 1


def make_wheel(directory: Path, name: str, version: str, module_text: str) -> None:
    """A minimal pure-Python wheel (what pip installs from any index)."""
    dist_info = f"{name}-{version}.dist-info"
    files = {f"{name}/__init__.py": module_text,
             f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}  # fmt: skip
    record = [f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},{len(text.encode())}"
              for path, text in files.items()]  # fmt: skip
    files[f"{dist_info}/RECORD"] = "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n"
    with zipfile.ZipFile(directory / f"{name}-{version}-py3-none-any.whl", "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)


def outcome(requirements_text: str, jobs: str, work: Path, monkeypatch) -> tuple[str, str]:
    """("built", zip sha256) or ("refused", the one-line error), from a fresh cache."""
    requirements = work / f"req-{jobs}.txt"
    requirements.write_text(requirements_text)
    monkeypatch.setenv("MLAYER_CACHE_DIR", str(work / f"cache-{jobs}"))
    monkeypatch.setenv(PIP_JOBS_ENV, jobs)
    try:
        build = build_deps_layer(requirements, work / f"dist-{jobs}")
    except MlayerError as error:
        return "refused", str(error).replace(str(requirements), "REQ")
    return "built", sha256_file(build.zip_path)


# Each case once broke "parallel runs give what one run gives" (found by attacking the change):
CASES = {
    # pip evaluates markers on the interpreter running it (jaraco.context needs backports.tarfile
    # below Python 3.12): the closure check must ask what pip would have installed, not the target.
    "host_markers": "jaraco.context==6.1.2\nsix==1.17.0\n",
    # one hashed pin puts the whole file in hash-checking mode: an unhashed pin in another group must not slip through
    "hash_mode": "six==1.17.0 --hash=sha256:" + "0" * 64 + "\nattrs==26.1.0\n",
    # two missing packages: the error names the one a single pip run names, not whichever group failed first
    "two_missing": "attrs==26.1.0\nbbb-not-on-any-index==1.0\nccc-not-on-any-index==1.0\n",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_parallel_runs_end_as_one_run_does(case, tmp_path, monkeypatch):
    one, two = (outcome(CASES[case], jobs, tmp_path, monkeypatch) for jobs in ("1", "2"))
    assert one == two
    if case == "hash_mode":
        assert one[0] == "refused" and "hash" in one[1].lower()


def test_two_lines_for_one_package_end_as_one_run_does(tmp_path, monkeypatch):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for version in ("1.0", "2.0"):
        make_wheel(wheels, "beta", version, "B = 1\n")
    make_wheel(wheels, "gamma", "1.0", "G = 1\n")
    text = f'--no-index\n--find-links {wheels}\nbeta==2.0 ; python_version >= "3"\ngamma==1.0\nbeta==1.0 ; python_version >= "3.0"\n'
    one, two = (outcome(text, jobs, tmp_path, monkeypatch) for jobs in ("1", "2"))
    assert one == two and one[0] == "refused"  # pip cannot install both betas; no run may install one of each
