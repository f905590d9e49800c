"""The lean requirements files: one per runtime, pinned, numpy equal to the scikit-learn file's
(the proof runs with that numpy), and a mismatch refused before any build."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlayer.deps.requirements import parse_requirements
from mlayer.errors import MlayerError
from mlayer.lean_deps import build_lean_deps, check_same_numpy, lean_requirements
from mlayer.runtimes import RUNTIMES, get_runtime

REPO = Path(__file__).resolve().parent.parent
LEAN_RUNTIMES = ["python3.11", "python3.12", "python3.13"]


@pytest.mark.parametrize("runtime", LEAN_RUNTIMES)
def test_each_lean_file_pins_numpy_as_its_sklearn_file_and_mmh3(runtime):
    assert runtime in RUNTIMES
    sklearn_file = REPO / "requirements" / f"{runtime}.txt"
    lean = lean_requirements(sklearn_file, runtime)
    pins = parse_requirements(lean).pinned_versions(get_runtime(runtime), "x86_64")
    assert set(pins) == {"numpy", "mmh3"}
    check_same_numpy(lean, sklearn_file, get_runtime(runtime), "x86_64")


def test_a_lean_file_with_another_numpy_is_refused_before_building(tmp_path, deps_build):
    requirements = tmp_path / "python3.12.txt"
    requirements.write_text((REPO / "requirements" / "python3.12.txt").read_text())
    lean = tmp_path / "lean-python3.12.txt"
    lean.write_text("numpy==2.2.6\nmmh3==5.3.1\n")
    with pytest.raises(MlayerError, match=r"lean-python3\.12\.txt pins numpy 2\.2\.6 but .*python3\.12\.txt pins numpy 2\.5\.5: .*pin numpy==2\.5\.5 in"):
        build_lean_deps(requirements, tmp_path / "dist", deps_build, runtime="python3.12")
    assert not (tmp_path / "dist").exists()
