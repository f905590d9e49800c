"""The import check runs the layer alone in a clean target interpreter and names what fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlayer.deps.importcheck import check_imports, top_level_modules
from mlayer.errors import MlayerError
from mlayer.runtimes import find_interpreter


def target_python() -> Path:
    python = find_interpreter("3.12")
    if python is None:
        pytest.skip("no Python 3.12 interpreter on this host (pyenv install 3.12)")
    return python


def make_layer(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def test_top_level_modules_come_from_packages_and_modules(tmp_path):
    layer = make_layer(
        tmp_path / "python",
        {
            "good/__init__.py": "",
            "single.py": "",
            "good-1.0.dist-info/METADATA": "",
            "good.libs/libx.so": "",
            "bin/tool": "",
            "datadir/readme.txt": "",  # not a package
        },
    )
    assert top_level_modules(layer) == ["good", "single"]


def test_a_broken_package_is_named_with_its_error(tmp_path):
    layer = make_layer(
        tmp_path / "python",
        {"good/__init__.py": "VALUE = 1\n", "broken/__init__.py": "import not_installed_anywhere\n"},
    )
    with pytest.raises(MlayerError, match=r"broken: ModuleNotFoundError: No module named 'not_installed_anywhere'") as info:
        check_imports(target_python(), layer)
    assert "good:" not in str(info.value)


def test_host_packages_do_not_leak_into_the_check(tmp_path):
    """rich is installed in the tooling venv; the layer does not ship it, so importing it must fail."""
    layer = make_layer(tmp_path / "python", {"uses_rich/__init__.py": "import rich\n"})
    with pytest.raises(MlayerError, match=r"uses_rich: ModuleNotFoundError: No module named 'rich'"):
        check_imports(target_python(), layer)


def test_a_healthy_layer_passes(deps_build):
    if deps_build.interpreter is None:
        pytest.skip("no Python 3.12 interpreter on this host to run the layer")
    result = check_imports(deps_build.interpreter, deps_build.python_dir)
    assert {"numpy", "scipy", "sklearn", "joblib", "threadpoolctl"} <= set(result.modules)
