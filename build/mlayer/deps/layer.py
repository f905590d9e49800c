"""`build_deps_layer`: pinned requirements -> a checked, slimmed, compiled, deterministic layer zip.

Steps: parse (every line pinned) -> install (pip with the runtime's platform tags, or a container)
-> check the closure is fully pinned -> measure raw -> slim -> check ELF files against the
runtime's glibc/CPU -> compile .pyc with the target interpreter -> import every top-level
package in an isolated target interpreter -> zip (python/ at the root, as Lambda wants).
Where steps touch disjoint files or only read, they overlap (see _build_into); a failed check
still fails the build, and nothing it would have refused reaches the cache.

Everything that decides the zip's bytes is in the cache key; a hit skips all of the above and
only copies the cached zip into dist/ under a content-addressed name.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .. import processes
from ..cache import cache_dir, cache_key, key_lock_path, sweep_stale_staging
from ..errors import MlayerError
from ..fsutil import atomic_dir, atomic_path, tree_size
from ..hashing import sha256_file
from ..manifest import DIRECT_UPLOAD_LIMIT, artifact_entry
from ..runtimes import Runtime, find_interpreter, get_runtime, host_can_run, machine_for
from ..zipper import zip_tree
from . import bytecode as bytecode_mod
from . import elfcheck, importcheck, installed, slim as slim_mod
from .pip_backend import WHEELS_ONLY, install_with_pip, pip_version
from .progress import Progress
from .requirements import Requirements, parse_requirements

T = TypeVar("T")
BACKENDS = ("pip", "docker")
CACHE_KIND = "deps"
STAGE = "stage"
LAYER_ZIP = "layer.zip"
BUILD_JSON = "build.json"
PACKAGE_DIR = Path(__file__).resolve().parent.parent  # mlayer/
# Modules whose code shapes the layer's bytes (paths relative to the mlayer package): a change to
# any of them is a new cache key. zipper: compression and timestamps; runtimes: glibc -> wheel tags.
_OUTPUT_SHAPING_MODULES = (
    "deps/layer.py", "deps/slim.py", "deps/bytecode.py", "deps/pip_backend.py", "deps/requirements.py",
    "deps/installed.py", "zipper.py", "runtimes.py", "fsutil.py",
)  # fmt: skip


@dataclass
class DepsBuild:
    zip_path: Path
    stage_dir: Path
    python_dir: Path
    runtime: Runtime
    architecture: str
    packages: dict[str, str]
    bytecode: bool
    sizes: dict[str, int]
    cache_hit: bool
    pip_ran: bool
    interpreter: Path | None
    backend: str = "pip"
    sha256: str = ""
    slim: bool = True
    slim_removed: dict[str, int] = field(default_factory=dict)  # rule name -> bytes removed
    top_level_bytes: dict[str, int] = field(default_factory=dict)  # python/<entry> -> unzipped bytes
    import_check: str = ""  # "passed (N modules)" or why it was skipped
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds (of the build that made it)

    @property
    def requires_s3_upload(self) -> bool:
        return self.sizes["zipped_bytes"] > DIRECT_UPLOAD_LIMIT

    def manifest_entry(self, base_dir: Path) -> dict[str, Any]:
        return artifact_entry(
            self.zip_path,
            base_dir,
            runtime=self.runtime.name,
            architecture=self.architecture,
            packages=dict(self.packages),
            bytecode=self.bytecode,
            sizes=dict(self.sizes),
            expected_sha256=self.sha256,
        )


def _source_digest(backend: str) -> str:
    names = list(_OUTPUT_SHAPING_MODULES) + (["deps/docker_backend.py", "deps/container_engine.py"] if backend == "docker" else [])
    digest = hashlib.sha256()
    for name in names:
        path = PACKAGE_DIR / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"") + b"\0")
    return digest.hexdigest()


def _strip_version(architecture: str) -> str | None:
    strip = slim_mod.strip_tool(architecture)
    if strip is None:
        return None
    proc = subprocess.run([strip, "--version"], capture_output=True, text=True)
    return (proc.stdout.splitlines() or [""])[0]


def _top_level_bytes(python_dir: Path) -> dict[str, int]:
    sizes = {}
    for entry in python_dir.iterdir():
        sizes[entry.name] = tree_size(entry)[0]
    return dict(sorted(sizes.items(), key=lambda item: (-item[1], item[0])))


def _pyc_bytes(python_dir: Path) -> int:
    return sum(p.stat().st_size for p in python_dir.rglob("*.pyc"))


@contextlib.contextmanager
def _key_lock(key: str) -> Iterator[None]:
    """One builder per cache key across processes (pytest-xdist workers, two terminals)."""
    lock_path = key_lock_path(CACHE_KIND, key)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _validate_options(runtime_name: str, architecture: str, backend: str, image: str | None) -> Runtime:
    runtime = get_runtime(runtime_name)
    machine_for(architecture)
    if backend not in BACKENDS:
        raise MlayerError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if image is not None and backend != "docker":
        raise MlayerError("--image only applies to --backend docker: drop --image or add --backend docker")
    return runtime


def _pinned_requirements_text(requirements: Requirements, backend: str) -> str:
    """What pip installs from: the parsed pins without comments, so the cache key is exactly pip's input."""
    lines = requirements.pip_lines()
    if backend == "pip":  # last, so it wins over anything before it (pip applies a file's options in order)
        lines.append(WHEELS_ONLY)
    return "\n".join(lines) + "\n"


def _docker_backend():  # type: ignore[no-untyped-def]
    try:
        from . import docker_backend
    except ImportError as exc:
        raise MlayerError(f"the docker backend cannot load ({exc}): use --backend pip, or reinstall mlayer with `make venv`") from None
    return docker_backend


def _install(backend: str, requirements: Requirements, requirements_file: Path, python_dir: Path, runtime: Runtime,
             architecture: str, image: str | None) -> None:  # fmt: skip
    if backend == "docker":
        _docker_backend().install_in_container(requirements_file, python_dir, runtime, architecture, image)
    else:
        install_with_pip(requirements, requirements_file, python_dir, runtime, architecture)


def _build_into(work: Path, requirements: Requirements, runtime: Runtime, architecture: str, backend: str,
                image: str | None, slim: bool, compile_pyc: bool, interpreter: Path | None,
                progress: Progress) -> dict[str, Any]:  # fmt: skip
    """Build the layer inside `work` (a fresh cache entry); return what build.json records."""
    started = time.perf_counter()
    python_dir = work / STAGE / "python"
    python_dir.mkdir(parents=True)
    pinned_file = work / "requirements.txt"
    pinned_file.write_text(_pinned_requirements_text(requirements, backend))

    where = "in a container" if backend == "docker" else "with pip"
    with progress.step("install", f"Installing {len(requirements.pins)} pinned requirements for {runtime.name}/{architecture} {where}"):
        _install(backend, requirements, pinned_file, python_dir, runtime, architecture, image)
    packages = installed.installed_distributions(python_dir)
    installed.check_closure(packages, requirements, runtime, architecture)

    sizes: dict[str, int] = {}
    with progress.step("measure_raw", "Measuring the raw install"):  # from file sizes: zipping it only to report a size cost seconds
        sizes["raw_unzipped_bytes"], sizes["raw_files"] = tree_size(python_dir)

    with progress.step("slim", "Slimming" if slim else "Removing host-specific files"):
        report = slim_mod.apply_rules(python_dir, slim)  # removes files: before the compiler lists them

    # Steps that touch disjoint files, or only read, overlap: .pyc compile (writes __pycache__/ only)
    # runs in a thread beside strip (rewrites .so only) and the ELF check (reads the stripped .so);
    # the import check (sys.dont_write_bytecode) runs beside the zip. Errors still fail the build.
    compile_note = f"Compiling .pyc for Python {runtime.python_version}"
    with _alongside(progress, "bytecode", compile_note, _compiler(compile_pyc, backend, interpreter, image), python_dir, runtime, architecture):
        if slim:
            with progress.step("strip", "Stripping extension modules"):
                slim_mod.strip_extension_modules(python_dir, architecture, report)
        with progress.step("elfcheck", f"Checking ELF files against {runtime.os_name} (glibc {runtime.glibc[0]}.{runtime.glibc[1]})"):
            sizes["elf_files"] = len(elfcheck.check_layer_elves(python_dir, runtime, architecture))
    for warning in report.warnings:
        progress.warn(warning)
    sizes["stripped_bytes"] = report.stripped_bytes
    sizes["pyc_bytes"] = _pyc_bytes(python_dir)

    sizes["unzipped_bytes"], sizes["files"] = tree_size(python_dir)
    python, skip_reason = _import_check_python(interpreter, runtime, architecture)
    if skip_reason:
        progress.warn(f"import check {skip_reason}")
    import_note = f"Importing every top-level package in an isolated Python {runtime.python_version}"
    check = importcheck.check_imports if python else _no_check
    with _alongside(progress, "importcheck", import_note, check, python, python_dir) as imports:
        with progress.step("zip", "Zipping the layer"):
            zip_tree(work / STAGE, work / LAYER_ZIP)
    import_check = skip_reason or f"passed ({len(imports.result().modules)} modules)"
    sizes["zipped_bytes"] = (work / LAYER_ZIP).stat().st_size
    progress.timings["total"] = round(time.perf_counter() - started, 3)  # less than the steps' sum: some overlap
    return {
        "packages": packages,
        "bytecode": compile_pyc,
        "sizes": sizes,
        "sha256": sha256_file(work / LAYER_ZIP),
        "slim_removed": report.removed_bytes,
        "top_level_bytes": _top_level_bytes(python_dir),
        "import_check": import_check,
        "warnings": list(progress.warnings),
        "timings": dict(progress.timings),
    }


def _import_check_python(python: Path | None, runtime: Runtime, architecture: str) -> tuple[Path | None, str]:
    """The interpreter for the import check, or why there is none."""
    if not host_can_run(architecture):
        return None, f"skipped: this host ({os.uname().machine}) cannot run {architecture} code"
    if python is None:
        return None, f"skipped: no Python {runtime.python_version} interpreter on this host (pyenv install {runtime.python_version})"
    return python, ""


def _no_check(*_: object) -> None:
    return None


def _compiler(compile_pyc: bool, backend: str, interpreter: Path | None, image: str | None) -> Callable[[Path, Runtime, str], None]:
    """What writes the .pyc: the target interpreter on this host, or the build image; nothing with --no-bytecode."""
    if not compile_pyc:
        return _no_check
    if backend == "docker":
        return lambda python_dir, runtime, architecture: _docker_backend().compile_in_container(python_dir, runtime, architecture, image)
    assert interpreter is not None
    return lambda python_dir, runtime, architecture: bytecode_mod.compile_layer(interpreter, python_dir)


@contextlib.contextmanager
def _alongside(progress: Progress, key: str, message: str, check: Callable[..., T], *args: Any) -> Iterator[Future[T]]:
    """Run a read-only check in a thread while the body runs; its seconds go under `key`, its error is raised after the body.

    If the body fails or is interrupted (signals land in the main thread), the check's child
    processes are stopped at once: the build must not wait for, nor leave behind, a compiler.
    """
    started = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=key)
    future = pool.submit(check, *args)
    future.add_done_callback(lambda _: progress.timings.__setitem__(key, round(time.perf_counter() - started, 3)))
    if progress.enabled:
        progress.console.print(f"[dim]…[/dim] {message} (alongside)", highlight=False)
    try:
        yield future
        wait([future])  # interruptible, unlike the pool's shutdown
    except BaseException:
        processes.kill_until_done([future])
        raise
    finally:
        pool.shutdown(wait=True)
    future.result()  # raise the check's error, if any, now that the body is done


def _publish(cached_zip: Path, dist_dir: Path, runtime: Runtime, architecture: str, sha256: str) -> Path:
    """Copy the cached zip into dist_dir under a content-addressed name (atomically)."""
    dest = Path(dist_dir) / f"deps-{runtime.name}-{architecture}-{sha256[:12]}.zip"
    if dest.is_file() and sha256_file(dest) == sha256:  # a same-size corrupt copy is replaced, never trusted
        return dest
    with atomic_path(dest) as tmp:
        shutil.copyfile(cached_zip, tmp)
    return dest


def _load_cached(entry: Path) -> dict[str, Any] | None:
    """The recorded build, if the cache entry is complete and its zip intact."""
    try:
        record = json.loads((entry / BUILD_JSON).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    zip_path = entry / LAYER_ZIP
    if not zip_path.is_file() or not (entry / STAGE / "python").is_dir() or sha256_file(zip_path) != record.get("sha256"):
        return None
    return record


def layer_cache_key(parsed: Requirements, target: Runtime, architecture: str, backend: str, image: str | None,
                    slim: bool, compile_pyc: bool, interpreter: Path | None) -> str:  # fmt: skip
    """Everything that decides the layer's bytes: inputs, tools, the runtime's mapping, and the shaping source."""
    return cache_key(
        CACHE_KIND,
        requirements=parsed.canonical(),
        runtime=target.name,
        runtime_mapping={"python": target.python_version, "glibc": list(target.glibc), "tags": target.platform_tags(architecture)},
        architecture=architecture,
        backend=backend,
        image=image,
        image_id=_docker_backend().image_identity(target, architecture, image) if backend == "docker" else None,
        slim=slim,
        bytecode=compile_pyc,
        interpreter_version=bytecode_mod.interpreter_version(interpreter) if compile_pyc and backend == "pip" and interpreter else None,
        pip=pip_version() if backend == "pip" else None,
        strip=_strip_version(architecture) if slim else None,
        code=_source_digest(backend),
    )


def build_deps_layer(
    requirements: Path,
    dist_dir: Path,
    runtime: str = "python3.12",
    architecture: str = "x86_64",
    backend: str = "pip",
    image: str | None = None,
    slim: bool = True,
    bytecode: bool = True,
    *,
    progress: Progress | None = None,
) -> DepsBuild:
    """Build (or fetch from the cache) the dependencies layer and put its zip in dist_dir."""
    target = _validate_options(runtime, architecture, backend, image)
    parsed = parse_requirements(Path(requirements))
    parsed.check_not_empty_for(target, architecture)
    progress = progress or Progress()

    interpreter = find_interpreter(target.python_version)
    compile_pyc = bytecode and (backend == "docker" or interpreter is not None)
    if bytecode and not compile_pyc:
        progress.warn(
            f"no Python {target.python_version} interpreter found: building without .pyc (slower cold starts); "
            f"install it (pyenv install {target.python_version}) or set MLAYER_PYTHON_{target.python_version.replace('.', '_')}"
        )
    key = layer_cache_key(parsed, target, architecture, backend, image, slim, compile_pyc, interpreter)
    entry = cache_dir(CACHE_KIND, key)
    for stale in sweep_stale_staging(CACHE_KIND):
        print(f"mlayer: removed {stale}, the staging directory of a build that was killed", file=sys.stderr)
    with _key_lock(key):
        record = _load_cached(entry)
        cache_hit = record is not None
        if record is None:
            with atomic_dir(entry) as work:
                record = _build_into(work, parsed, target, architecture, backend, image, slim, compile_pyc, interpreter, progress)
                (work / BUILD_JSON).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        else:
            for warning in record["warnings"]:
                if warning not in progress.warnings:  # the build's own warnings still apply to its zip
                    progress.warn(warning)
        zip_path = _publish(entry / LAYER_ZIP, Path(dist_dir), target, architecture, record["sha256"])

    return DepsBuild(
        zip_path=zip_path,
        stage_dir=entry / STAGE,
        python_dir=entry / STAGE / "python",
        runtime=target,
        architecture=architecture,
        packages=record["packages"],
        bytecode=record["bytecode"],
        sizes=record["sizes"],
        cache_hit=cache_hit,
        pip_ran=not cache_hit,
        interpreter=interpreter,
        backend=backend,
        sha256=record["sha256"],
        slim=slim,
        slim_removed=record["slim_removed"],
        top_level_bytes=record["top_level_bytes"],
        import_check=record["import_check"],
        warnings=list(dict.fromkeys(progress.warnings + record["warnings"])),
        timings=record["timings"],
    )
