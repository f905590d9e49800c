"""The glibc/CPU check, on the real extension modules of the default layer."""

from __future__ import annotations

import shutil
import pytest

from mlayer.deps.elfcheck import check_layer_elves, read_needs
from mlayer.errors import MlayerError
from mlayer.runtimes import get_runtime


def test_current_numpy_needs_glibc_2_27(deps_build):
    module = next((deps_build.python_dir / "numpy" / "_core").glob("_multiarray_umath.*.so"))
    needs = read_needs(module)
    assert needs.machine == "EM_X86_64"
    assert needs.glibc is not None and (2, 27) <= needs.glibc <= (2, 34)


def test_default_layer_passes_on_python312(deps_build):
    results = check_layer_elves(deps_build.python_dir, get_runtime("python3.12"), "x86_64")
    assert len(results) == deps_build.sizes["elf_files"] > 100
    assert any(r.path.parent.name == "numpy.libs" for r in results)  # vendored libraries are read too


def test_python312_wheels_are_refused_for_python311(deps_build, tmp_path):
    """numpy 2.5 for python3.12 needs GLIBC_2.27: on python3.11 (Amazon Linux 2, glibc 2.26) it must fail, naming the file."""
    layer = tmp_path / "python"
    shutil.copytree(deps_build.python_dir / "numpy", layer / "numpy")
    with pytest.raises(MlayerError) as info:
        check_layer_elves(layer, get_runtime("python3.11"), "x86_64")
    message = str(info.value)
    assert message.startswith("python/numpy/") and ".so needs GLIBC_2.2" in message
    assert "python3.11 runs on Amazon Linux 2 with glibc 2.26" in message
    assert "manylinux2014" in message


def test_wrong_architecture_is_named(deps_build):
    with pytest.raises(MlayerError, match=r"python/.+ is built for EM_X86_64, not arm64"):
        check_layer_elves(deps_build.python_dir, get_runtime("python3.12"), "arm64")


def test_non_elf_files_are_ignored_and_broken_elf_is_named(tmp_path):
    layer = tmp_path / "python"
    (layer / "pkg").mkdir(parents=True)
    (layer / "pkg" / "data.so").write_text("not an ELF file, despite the name")
    assert check_layer_elves(layer, get_runtime("python3.12"), "x86_64") == []
    (layer / "pkg" / "broken.so").write_bytes(b"\x7fELF" + b"\0" * 8)
    with pytest.raises(MlayerError, match=r"python/pkg/broken\.so is not a readable ELF file"):
        check_layer_elves(layer, get_runtime("python3.12"), "x86_64")
