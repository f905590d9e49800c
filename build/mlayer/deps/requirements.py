"""Parse a requirements file in which every requirement is pinned to one exact version.

A layer is only reproducible if pip has no choice to make: every line must be `name==version`
(with optional extras, environment markers and `--hash=sha256:...`). Ranges, bare names, URLs,
editables and nested `-r`/`-c` files are rejected with the file:line and the fix. Option lines
are limited to index options (`--index-url`, `--extra-index-url`, `--find-links`, `--no-index`),
one per line; the pip backend appends `--only-binary :all:` after them, so no file can turn
source builds back on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..errors import MlayerError
from ..runtimes import Runtime, machine_for

# The only options a layer requirements file may carry (one per line): where wheels come from.
# Anything else (--no-binary, --trusted-host, --pre, -r, ...) could change what pip builds or trusts.
_VALUED_OPTIONS = {"--index-url": "--index-url", "-i": "--index-url", "--extra-index-url": "--extra-index-url",
                   "--find-links": "--find-links", "-f": "--find-links"}  # fmt: skip
_FLAG_OPTIONS = ("--no-index",)
_ALLOWED_OPTIONS = ", ".join([*_VALUED_OPTIONS, *_FLAG_OPTIONS, "--hash (after a pin)"])
_HASH_OPTION = re.compile(r"--hash[=\s]+(\S+)")
_PIN_FIX = "pin it exactly as `name==version` (see `pip freeze`)"


@dataclass(frozen=True)
class Pin:
    name: str  # normalized (PEP 503)
    version: str
    line_no: int
    marker: str | None  # environment marker, as written
    hashes: tuple[str, ...]
    text: str  # the requirement as packaging re-renders it

    def applies_to(self, runtime: Runtime, architecture: str) -> bool:
        """Whether the marker (if any) holds on this Lambda runtime and architecture."""
        if self.marker is None:
            return True
        return Marker(self.marker).evaluate(target_environment(runtime, architecture))


@dataclass(frozen=True)
class Requirements:
    path: Path
    pins: tuple[Pin, ...]
    options: tuple[str, ...]  # passthrough option lines, in file order

    def canonical(self) -> list[str]:
        """Everything that decides the install, without comments or ordering noise (the cache key)."""
        pins = sorted(f"{p.text} {' '.join(sorted(p.hashes))}".strip() for p in self.pins)
        return list(self.options) + pins

    def pip_lines(self, pins: tuple[Pin, ...] | None = None) -> list[str]:
        """What pip installs from (all pins, or `pins`): option lines, then pins in name order, no comments."""
        chosen = self.pins if pins is None else pins
        return [*self.options, *(" ".join([p.text, *(f"--hash={h}" for h in p.hashes)]) for p in sorted(chosen, key=lambda p: (p.name, p.line_no)))]

    def pinned_versions(self, runtime: Runtime, architecture: str) -> dict[str, str]:
        return {p.name: p.version for p in self.pins if p.applies_to(runtime, architecture)}

    def check_not_empty_for(self, runtime: Runtime, architecture: str) -> None:
        """MlayerError when the markers leave nothing to install on this runtime: an empty layer is a mistake."""
        if not self.pinned_versions(runtime, architecture):
            first = self.pins[0]
            raise MlayerError(
                f"{self.path}:{first.line_no}: every requirement's environment marker excludes {runtime.name}/{architecture} "
                f"(e.g. {first.name}: {first.marker}), so the layer would be empty: fix the markers or pass the right --runtime"
            )


def target_environment(runtime: Runtime, architecture: str) -> dict[str, str]:
    """PEP 508 marker values on Lambda (CPython on Amazon Linux)."""
    major, minor = runtime.python_version.split(".")
    return {
        "python_version": runtime.python_version,
        "python_full_version": f"{major}.{minor}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "implementation_version": f"{major}.{minor}.0",
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": machine_for(architecture),
        "platform_release": "",
        "platform_version": "",
    }


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, line) with comments removed and backslash continuations joined."""
    lines: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined = (pending + line).strip()
        pending = ""
        if joined:
            lines.append((start, joined))
    if pending.strip():
        lines.append((start, pending.strip()))
    return lines


def _parse_pin(where: str, number: int, line: str) -> Pin:
    hashes = tuple(_HASH_OPTION.findall(line))
    spec = _HASH_OPTION.sub("", line).strip()
    if spec.startswith(("-e", "--editable")):
        raise MlayerError(f"{where}: editable requirement {spec!r} is not reproducible: {_PIN_FIX}")
    if spec.startswith("-"):
        option = spec.split()[0].split("=")[0]
        raise MlayerError(
            f"{where}: option {option} is not supported in a layer requirements file (allowed: {_ALLOWED_OPTIONS}): "
            "inline the pins it would add, each as name==version"
        )
    try:
        req = Requirement(spec)
    except InvalidRequirement as exc:
        raise MlayerError(f"{where}: cannot parse {spec!r} ({str(exc).splitlines()[0]}): {_PIN_FIX}") from None
    if req.url:
        raise MlayerError(f"{where}: {req.name} comes from a URL ({req.url}), which is not reproducible: {_PIN_FIX}")
    specifiers = list(req.specifier)
    exact = len(specifiers) == 1 and specifiers[0].operator in ("==", "===") and "*" not in specifiers[0].version
    if not exact:
        found = str(req.specifier) or "no version"
        raise MlayerError(f"{where}: {req.name} is not pinned ({found}): {_PIN_FIX}")
    return Pin(
        name=canonicalize_name(req.name),
        version=specifiers[0].version,
        line_no=number,
        marker=str(req.marker) if req.marker else None,
        hashes=hashes,
        text=str(req),
    )


def _parse_option(where: str, line: str) -> str | None:
    """The option line in canonical form (`--index-url URL`), None if the line is not an option, or MlayerError."""
    if not line.startswith("-") or line.startswith(("-e", "--editable", "--hash")):
        return None
    tokens = line.replace("=", " ", 1).split() if line.startswith("--") else line.split()
    name = tokens[0]
    if name in _FLAG_OPTIONS and len(tokens) == 1:
        return name
    if name in _VALUED_OPTIONS and len(tokens) == 2:
        return f"{_VALUED_OPTIONS[name]} {tokens[1]}"
    if name in _VALUED_OPTIONS or name in _FLAG_OPTIONS:
        raise MlayerError(f"{where}: {line!r} must hold {name} alone (one option, and its value, per line): split the line")
    return None  # _parse_pin names the unsupported option


def parse_requirements_text(text: str, path: Path) -> Requirements:
    pins: list[Pin] = []
    options: list[str] = []
    seen: dict[str, Pin] = {}
    for number, line in _logical_lines(text):
        where = f"{path}:{number}"
        option = _parse_option(where, line)
        if option is not None:
            options.append(option)
            continue
        pin = _parse_pin(where, number, line)
        previous = seen.get(pin.name)
        if previous is not None and (previous.marker is None or pin.marker is None):
            raise MlayerError(f"{where}: {pin.name} is also pinned on line {previous.line_no}: keep one line (or give both an environment marker)")
        seen[pin.name] = pin
        pins.append(pin)
    if not pins:
        raise MlayerError(f"{path}: no requirements in the file: add pinned lines like scikit-learn==1.9.1")
    return Requirements(path=path, pins=tuple(pins), options=tuple(options))


def parse_requirements(path: Path) -> Requirements:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise MlayerError(f"requirements file {path} does not exist: pass --requirements FILE with pinned name==version lines") from None
    except (IsADirectoryError, UnicodeDecodeError) as exc:
        raise MlayerError(f"requirements file {path} cannot be read ({type(exc).__name__}): pass a UTF-8 text file") from None
    return parse_requirements_text(text, path)
