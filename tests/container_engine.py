"""Test helper: a real Docker-API engine and a small local Python build image for it.

`docker_engine` (session) yields the DOCKER_HOST URL of an engine that answers: the one in
$DOCKER_HOST, or a Docker / podman socket at its usual place if one is running, else podman's Docker-compatible
service started on a socket in a temp dir (stopped by pid at the end). It skips, saying why, only
when no engine can be started.

Nothing can be pulled on these machines, so `build_image` makes a stand-in for
public.ecr.aws/sam/build-pythonX.Y from the host's own CPython: the interpreter, its stdlib, pip
and the shared libraries `ldd` says they need, laid out like the SAM images (/var/lang, PATH and
LD_LIBRARY_PATH set the same way), imported through the Docker API's image import. The image is
labelled with a digest of its recipe and rebuilt only when that label is missing or stale. It is
built for the host's CPU, so tests target the host's architecture (HOST_ARCHITECTURE).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

RECIPE_LABEL = "io.mlayer.test-image-recipe"
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
STARTUP_TIMEOUT_S = 30.0

# The parts of CPython a build container never uses; dropping them halves the image.
_STDLIB_SKIP = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "site-packages"}
_DYNLOAD_SKIP = re.compile(r"^(_tkinter|_curses|_curses_panel|readline|_test|xx|_ctypes_test)")
# Containers.conf for podman on these machines (see docs: RLIMIT_NOFILE cannot be raised; crun
# fails on hybrid cgroups, runc works).
HOST_ARCHITECTURE = "arm64" if os.uname().machine == "aarch64" else "x86_64"  # Lambda's names
_CONTAINERS_CONF = '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "{runtime}"\n'


def engine_answers(host: str, timeout: float = 5) -> bool:
    import docker

    try:
        client = docker.DockerClient(base_url=host, timeout=timeout, version="auto")
    except docker.errors.DockerException:
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def _write_containers_conf(directory: Path) -> Path:
    runtime = "runc" if shutil.which("runc") else "crun"
    conf = directory / "containers.conf"
    conf.write_text(_CONTAINERS_CONF.format(runtime=runtime))
    return conf


def _die_with_parent() -> None:
    """In the child: get SIGTERM if pytest dies without running the fixture's teardown (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_podman_service(podman: str, directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start `podman system service` on a socket in `directory`; return (process, DOCKER_HOST)."""
    socket_path = directory / "podman.sock"
    host = f"unix://{socket_path}"
    env = dict(os.environ, CONTAINERS_CONF=str(_write_containers_conf(directory)))
    with open(directory / "service.log", "wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [podman, "system", "service", "--time=0", host],
            env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
        )  # fmt: skip
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if socket_path.exists() and engine_answers(host, timeout=2):
            return proc, host
        time.sleep(0.1)
    stop_process(proc)
    tail = (directory / "service.log").read_text(errors="replace").strip().splitlines()[-3:]
    pytest.skip(f"podman system service did not answer on {host} within {STARTUP_TIMEOUT_S:.0f} s: {' | '.join(tail)}")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[str]:
    """The DOCKER_HOST URL of a Docker-API engine that answers, for the whole session."""
    pytest.importorskip("docker", reason="the python `docker` package is not installed (requirements-dev.txt pins it)")
    candidates = [os.environ.get("DOCKER_HOST"), DEFAULT_SOCKET, "unix:///run/podman/podman.sock"]
    if os.environ.get("XDG_RUNTIME_DIR"):
        candidates.append(f"unix://{os.environ['XDG_RUNTIME_DIR']}/podman/podman.sock")
    for host in candidates:
        if host and engine_answers(host):
            yield host
            return
    podman = shutil.which("podman")
    if podman is None:
        pytest.skip("no Docker-API engine: DOCKER_HOST is unset or not answering, no Docker or podman socket, "
                    "and podman is not installed to start one (scripts/ci-setup-podman.sh installs it)")
    directory = Path(tempfile.mkdtemp(prefix="mlayer-podman-"))  # short: unix socket paths max 107 bytes
    try:
        proc, host = start_podman_service(podman, directory)
    except BaseException:  # pytest.skip included
        shutil.rmtree(directory, ignore_errors=True)
        raise
    try:
        yield host
    finally:
        stop_process(proc)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def docker_host(docker_engine: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point docker.from_env() (as the code under test calls it) at the session's engine."""
    monkeypatch.setenv("DOCKER_HOST", docker_engine)
    return docker_engine


# ---- the stand-in build image -------------------------------------------------------------


def _python_prefix(python: Path) -> tuple[Path, str]:
    out = subprocess.run(
        [str(python), "-I", "-c", "import sys; print(sys.base_prefix); print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return Path(out[0]), out[1]


def _shared_libraries(binaries: list[Path]) -> set[Path]:
    """Every shared library (and the dynamic loader) the given ELF files load, per ldd."""
    found: set[Path] = set()
    for chunk in range(0, len(binaries), 50):
        proc = subprocess.run(["ldd", *map(str, binaries[chunk:chunk + 50])], capture_output=True, text=True)
        for line in proc.stdout.splitlines():
            match = re.search(r"(/\S+) \(0x", line)  # "libz.so.1 => /lib/.../libz.so.1 (0x..)" or the loader
            if match:
                found.add(Path(match.group(1)))
    return found


def _image_members(prefix: Path, version: str) -> list[tuple[str, Path]]:
    """(path in the image, host file) for the interpreter, stdlib, pip and what they link against."""
    stdlib = prefix / "lib" / f"python{version}"
    members: list[tuple[str, Path]] = [(f"var/lang/bin/python{version}", prefix / "bin" / f"python{version}")]
    libpython = prefix / "lib" / f"libpython{version}.so.1.0"
    if libpython.exists():
        members.append((f"var/lang/lib/{libpython.name}", libpython))
    for dirpath, dirnames, filenames in os.walk(stdlib):
        rel = Path(dirpath).relative_to(stdlib)
        if rel == Path("."):
            dirnames[:] = [d for d in dirnames if d not in _STDLIB_SKIP and not d.startswith("config-")]
        for name in filenames:
            if rel == Path("lib-dynload") and _DYNLOAD_SKIP.match(name):
                continue
            members.append(((Path("var/lang/lib") / f"python{version}" / rel / name).as_posix(), Path(dirpath) / name))
    site = stdlib / "site-packages"
    for entry in sorted(site.iterdir()):  # only pip: no .pth files or other packages from the host
        if entry.name == "pip" or (entry.name.startswith("pip-") and entry.name.endswith(".dist-info")):
            for dirpath, _, filenames in os.walk(entry):
                for name in filenames:
                    host_file = Path(dirpath) / name
                    members.append(((Path("var/lang") / host_file.relative_to(prefix)).as_posix(), host_file))
    elves = [host for arc, host in members if host.suffix == ".so" or ".so." in host.name or arc.startswith("var/lang/bin/")]
    libs = {lib for lib in _shared_libraries(elves) if not str(lib).startswith(str(prefix))}
    members += [(str(lib).lstrip("/"), lib) for lib in sorted(libs)]
    for extra in ("/etc/ssl/certs/ca-certificates.crt",):
        if Path(extra).exists():
            members.append((extra.lstrip("/"), Path(extra)))
    return members


def recipe_digest(prefix: Path, version: str) -> str:
    """Changes when the source interpreter or this recipe (this file) changes."""
    python = prefix / "bin" / f"python{version}"
    stat = python.stat()
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(f"|{prefix}|{version}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, mode
    tar.addfile(info)


def _add_symlink(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    tar.addfile(info)


def write_rootfs_tar(dest: Path, prefix: Path, version: str) -> None:
    with tarfile.open(dest, "w") as tar:
        for directory in ("tmp",):
            _add_dir(tar, directory, 0o1777)
        for directory in ("root", "etc", "var/lang/bin", "usr/bin", "usr/lib/ssl", "lib64"):
            _add_dir(tar, directory)
        _add_bytes(tar, "etc/passwd", b"root:x:0:0:root:/root:/sbin/nologin\n")
        _add_bytes(tar, "etc/group", b"root:x:0:\n")
        for link in ("python3", "python"):
            _add_symlink(tar, f"var/lang/bin/{link}", f"python{version}")
        _add_symlink(tar, "usr/lib/ssl/certs", "/etc/ssl/certs")
        _add_symlink(tar, "usr/lib/ssl/cert.pem", "/etc/ssl/certs/ca-certificates.crt")
        for arcname, host_file in _image_members(prefix, version):
            real = host_file.resolve()  # store file contents, not the host's symlinks
            info = tar.gettarinfo(str(real), arcname=arcname)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            with open(real, "rb") as handle:
                tar.addfile(info, handle)


def build_image(host: str, tag: str, python: Path) -> float:
    """Make sure `tag` exists on the engine at `host` and matches the recipe; return the seconds spent (0.0 if it did)."""
    import docker

    prefix, version = _python_prefix(python)
    digest = recipe_digest(prefix, version)
    client = docker.DockerClient(base_url=host, version="auto")
    try:
        stale = None
        try:
            existing = client.images.get(tag)
            if (existing.labels or {}).get(RECIPE_LABEL) == digest:
                return 0.0
            stale = existing.id
        except docker.errors.ImageNotFound:
            pass
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="mlayer-image-") as tmp:
            rootfs = Path(tmp) / "rootfs.tar"
            write_rootfs_tar(rootfs, prefix, version)
            repository, _, image_tag = tag.rpartition(":")
            client.api.import_image_from_file(
                str(rootfs), repository=repository, tag=image_tag,
                changes=[
                    "ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin",
                    "ENV LD_LIBRARY_PATH=/var/lang/lib",
                    "ENV LANG=C.UTF-8",
                    f"LABEL {RECIPE_LABEL}={digest}",
                    f'CMD ["python{version}"]',
                ],
            )  # fmt: skip
        imported = client.images.get(tag)
        if (imported.labels or {}).get(RECIPE_LABEL) != digest:
            raise RuntimeError(f"the engine imported {tag} without its label {RECIPE_LABEL}: {imported.labels}")
        if stale and stale != imported.id:
            try:  # the previous build, now untagged; an engine refuses while a container uses it
                client.images.remove(stale)
            except docker.errors.APIError:
                pass
        return time.perf_counter() - start
    finally:
        client.close()


if __name__ == "__main__":  # by hand: python tests/container_engine.py DOCKER_HOST TAG PYTHON
    print(f"built in {build_image(sys.argv[1], sys.argv[2], Path(sys.argv[3])):.1f} s")
