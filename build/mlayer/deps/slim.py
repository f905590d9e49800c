"""Slim a pip-installed layer: remove what Lambda never reads, keep what imports need.

Each rule says why it is safe. Two rules always run, because what they remove depends on the
build host and would make the layer differ between machines; the rest run unless --no-slim.
A plain `pip install --target` of scikit-learn + numpy + scipy is over Lambda's 250 MB unzipped
limit; slimming is what makes it fit with room for the model and the function.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..fsutil import tree_size
from ..runtimes import host_can_run, machine_for

# Files under a tests/ directory that a package imports at run time (found by importing every
# module of numpy, scipy and scikit-learn from a slimmed layer; see tests/test_deps_slim.py).
RUNTIME_TEST_FILES: dict[str, str] = {
    "numpy/_core/tests/_natype.py": "numpy 2.1-2.3 (python3.11's numpy 2.2.6) import it in numpy.testing, "
    "which sklearn -> scipy.sparse reaches; numpy 2.5 no longer does",
}

# dist-info files importlib.metadata and entry points read, plus license texts (the layer
# redistributes these packages and their vendored libraries: BSD/MIT/GPL-with-exception
# licenses require the notice to travel with the binaries) and SBOMs (vulnerability
# scanners read them to know which vendored libraries are inside).
DIST_INFO_KEEP_FILES = {"METADATA", "WHEEL", "entry_points.txt", "top_level.txt"}  # WHEEL: the tags pip chose
DIST_INFO_KEEP_DIRS = {"licenses", "sboms"}
LICENSE_PREFIXES = ("LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS")

# Sources and headers used only to compile against a package (Cython .pxd/.pyx, C headers,
# static libraries, pkg-config files); Lambda never compiles anything.
BUILD_ONLY_SUFFIXES = (".pyx", ".pxd", ".pxi", ".c", ".cpp", ".h", ".hpp", ".a", ".pc")


@dataclass(frozen=True)
class Rule:
    name: str
    why: str
    matches: Callable[[PurePosixPath, bool], bool]  # (path relative to python/, is_dir)
    always: bool = False


def _in_dist_info(path: PurePosixPath) -> bool:
    return len(path.parts) >= 2 and path.parts[0].endswith(".dist-info")


def _is_tests_dir(path: PurePosixPath, is_dir: bool) -> bool:
    return is_dir and path.name in ("tests", "test") and not _in_dist_info(path)


def _is_trimmed_dist_info(path: PurePosixPath, is_dir: bool) -> bool:
    if not _in_dist_info(path):
        return False
    if len(path.parts) == 2 and not is_dir:
        return path.name not in DIST_INFO_KEEP_FILES and not path.name.upper().startswith(LICENSE_PREFIXES)
    return len(path.parts) == 2 and is_dir and path.name not in DIST_INFO_KEEP_DIRS


RULES: tuple[Rule, ...] = (
    Rule(
        "bin",
        "console scripts carry the build host's interpreter in their #! line and /opt/python/bin is not on Lambda's PATH",
        lambda p, d: d and p == PurePosixPath("bin"),
        always=True,
    ),
    Rule(
        "__pycache__",
        "bytecode compiled by the host's Python; .pyc are compiled afterwards by the target runtime's interpreter",
        lambda p, d: d and p.name == "__pycache__",
        always=True,
    ),
    Rule(
        "tests",
        "test suites are never imported at run time (except RUNTIME_TEST_FILES, kept); about 30 MB for sklearn+numpy+scipy",
        _is_tests_dir,
    ),
    Rule("stubs", "*.pyi type stubs are read by type checkers, never by the interpreter", lambda p, d: not d and p.suffix == ".pyi"),
    Rule(
        "build-only",
        "Cython sources/declarations, C headers, static libraries and pkg-config files are for compiling against a package",
        lambda p, d: not d and p.suffix in BUILD_ONLY_SUFFIXES and not _in_dist_info(p),
    ),
    Rule(
        "dist-info",
        "RECORD/INSTALLER/REQUESTED describe pip's install (RECORD would list files we removed); "
        "METADATA, WHEEL (which wheel tags were chosen), entry_points.txt, top_level.txt, licenses and SBOMs stay",
        _is_trimmed_dist_info,
    ),
)


@dataclass
class SlimReport:
    removed_bytes: dict[str, int] = field(default_factory=dict)  # rule name -> bytes
    removed_files: dict[str, int] = field(default_factory=dict)
    stripped_files: int = 0
    stripped_bytes: int = 0
    warnings: list[str] = field(default_factory=list)


def _remove_keeping(path: Path, python_dir: Path) -> None:
    """Remove a directory except files listed in RUNTIME_TEST_FILES below it."""
    keep = [python_dir / k for k in RUNTIME_TEST_FILES if (python_dir / k).is_relative_to(path) and (python_dir / k).exists()]
    if not keep:
        shutil.rmtree(path)
        return
    for dirpath, dirnames, filenames in os.walk(path, topdown=False):
        for name in filenames:
            file = Path(dirpath) / name
            if file not in keep:
                file.unlink()
        for name in dirnames:
            sub = Path(dirpath) / name
            if not any(sub.iterdir()):
                sub.rmdir()


def apply_rules(python_dir: Path, slim: bool) -> SlimReport:
    """Remove what the rules match (only the `always` rules when slim is False)."""
    rules = [rule for rule in RULES if slim or rule.always]
    report = SlimReport()
    for dirpath, dirnames, filenames in os.walk(python_dir, topdown=True):
        dirnames.sort()
        here = Path(dirpath)
        entries = [(name, True) for name in dirnames] + [(name, False) for name in sorted(filenames)]
        for name, is_dir in entries:
            path = here / name
            relative = PurePosixPath(path.relative_to(python_dir).as_posix())
            rule = next((r for r in rules if r.matches(relative, is_dir)), None)
            if rule is None or relative.as_posix() in RUNTIME_TEST_FILES:
                continue
            size, count = tree_size(path)
            if is_dir:
                _remove_keeping(path, python_dir)
                if path.exists():  # kept files: account only what went
                    kept, kept_count = tree_size(path)
                    size, count = size - kept, count - kept_count
                dirnames.remove(name)
            else:
                path.unlink()
            report.removed_bytes[rule.name] = report.removed_bytes.get(rule.name, 0) + size
            report.removed_files[rule.name] = report.removed_files.get(rule.name, 0) + count
    return report


def strip_tool(architecture: str) -> str | None:
    """GNU strip for the target machine: the host's own, or a cross binutils (aarch64-linux-gnu-strip)."""
    candidates = ["strip"] if host_can_run(architecture) else [f"{machine_for(architecture)}-linux-gnu-strip"]
    return next((found for name in candidates if (found := shutil.which(name))), None)


def extension_modules(python_dir: Path) -> list[Path]:
    """The packages' own *.so files; never the auditwheel-vendored libraries in *.libs/ directories,
    which patchelf rewrote and which `strip` breaks ("ELF load command address/offset not page-aligned")."""
    found = []
    for dirpath, dirnames, filenames in os.walk(python_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.endswith(".libs"))
        found += [Path(dirpath) / name for name in sorted(filenames) if name.endswith(".so")]
    return [path for path in found if not path.is_symlink()]


def strip_extension_modules(python_dir: Path, architecture: str, report: SlimReport) -> None:
    """`strip --strip-unneeded` each extension module: drops symbol tables and debug info, which
    the dynamic loader does not use. A file strip cannot handle is left as it was."""
    tool = strip_tool(architecture)
    if tool is None:
        report.warnings.append(
            f"no strip for {architecture} found, extension modules left unstripped (larger layer): "
            "install binutils" + ("" if host_can_run(architecture) else f"-{machine_for(architecture)}-linux-gnu")
        )
        return
    with ThreadPoolExecutor(max_workers=len(os.sched_getaffinity(0))) as pool:  # one strip process per CPU
        outcomes = pool.map(lambda module: _strip_one(tool, module, python_dir), extension_modules(python_dir))
        for removed, warning in outcomes:  # in path order: the report does not depend on timing
            if warning:
                report.warnings.append(warning)
            else:
                report.stripped_files += 1
                report.stripped_bytes += removed


def _strip_one(tool: str, module: Path, python_dir: Path) -> tuple[int, str]:
    """(bytes removed, "") or (0, why the module was left as is)."""
    before = module.stat().st_size
    fd, tmp_name = tempfile.mkstemp(dir=module.parent, prefix=f".{module.name}.", suffix=".strip")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        proc = subprocess.run([tool, "--strip-unneeded", "-o", str(tmp), str(module)], capture_output=True, text=True)
        if proc.returncode != 0:
            return 0, f"strip could not process {module.relative_to(python_dir.parent)}, left as is: {proc.stderr.strip()}"
        os.chmod(tmp, module.stat().st_mode & 0o777)
        os.replace(tmp, module)
    finally:
        tmp.unlink(missing_ok=True)
    return before - module.stat().st_size, ""


def slim_layer(python_dir: Path, architecture: str, slim: bool = True) -> SlimReport:
    report = apply_rules(python_dir, slim)
    if slim:
        strip_extension_modules(python_dir, architecture, report)
    return report
