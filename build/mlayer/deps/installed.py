"""What ended up in the layer, and whether the requirements file pinned all of it."""

from __future__ import annotations

from importlib.metadata import distributions
from pathlib import Path

from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ..errors import MlayerError
from ..runtimes import Runtime
from .requirements import Requirements


def installed_distributions(python_dir: Path) -> dict[str, str]:
    """Normalized name -> version of every distribution (*.dist-info) directly in python_dir."""
    found: dict[str, str] = {}
    for dist in distributions(path=[str(python_dir)]):
        name = dist.metadata["Name"]
        if name:
            found[canonicalize_name(name)] = dist.version
    return dict(sorted(found.items()))


def check_closure(installed: dict[str, str], requirements: Requirements, runtime: Runtime, architecture: str) -> None:
    """Every installed distribution must be pinned, at the installed version.

    pip installs transitive dependencies it resolves itself; if one is not in the file, the next
    build may pick a newer release and the layer silently changes.
    """
    pinned = requirements.pinned_versions(runtime, architecture)
    unpinned = sorted(name for name in installed if name not in pinned)
    if unpinned:
        lines = ", ".join(f"{name}=={installed[name]}" for name in unpinned)
        raise MlayerError(
            f"{requirements.path}: the dependency closure is not fully pinned; pip also installed {lines}: "
            f"add {'that line' if len(unpinned) == 1 else 'those lines'} to the file so every build installs the same releases"
        )
    for name, version in pinned.items():
        if installed.get(name) not in (None, version):
            raise MlayerError(
                f"{requirements.path}: {name} is pinned to {version} but {installed[name]} was installed: "
                "report this (pip ignored the pin), or check for a conflicting pip constraint file"
            )


def unmet_dependencies(python_dir: Path, requirements: Requirements) -> list[str]:
    """What the pins (with their extras) and everything they require need but python_dir lacks.

    Markers are evaluated as pip evaluates them: on the interpreter running pip, whatever its
    --python-version says. The question is "would one pip run have installed more?", not what
    the target needs (check_closure asks that). Each entry reads `needer: requirement` (or
    `pin: not installed`); empty when the tree is closed.
    """
    environment = default_environment()
    dists = {canonicalize_name(d.metadata["Name"]): d for d in distributions(path=[str(python_dir)]) if d.metadata["Name"]}
    todo = [(pin.name, frozenset(Requirement(pin.text).extras)) for pin in requirements.pins
            if pin.marker is None or Marker(pin.marker).evaluate(environment)]  # fmt: skip
    seen: set[tuple[str, frozenset[str]]] = set()
    unmet: list[str] = []
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        dist = dists.get(name)
        if dist is None:
            unmet.append(f"{name}: not installed")
            continue
        for text in dist.requires or []:
            needed = Requirement(text)
            if needed.marker and not any(needed.marker.evaluate({**environment, "extra": extra}) for extra in ("", *sorted(extras))):
                continue
            provider = dists.get(canonicalize_name(needed.name))
            if provider is None or not needed.specifier.contains(provider.version, prereleases=True):
                unmet.append(f"{name}: {text}")
            else:
                todo.append((canonicalize_name(needed.name), frozenset(needed.extras)))
    return sorted(unmet)
