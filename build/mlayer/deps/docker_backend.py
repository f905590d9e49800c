"""The container backend: pip install and .pyc compilation natively inside the runtime's build image.

The same pinned install as the pip backend, but pip runs on the target's own OS and Python
(default image `public.ecr.aws/sam/build-pythonX.Y`), so it resolves with the real platform tags,
markers and glibc instead of being told them, and a package with no wheel for the platform is
built from source against Lambda's own glibc. Works with any Docker-API engine.

- Mounts: the output directory (read-write) and the requirements file (read-only), at fixed
  paths under /mlayer; a named volume `mlayer-pip-cache` keeps pip's cache between builds.
- The host's pip settings (index URLs, find-links, trusted hosts, certificate, constraints,
  timeout, proxy) are passed in, and the local directories/files they name are mounted
  read-only, so a mirror or a corporate CA that works for the pip backend works here too.
- Ownership: the command runs as root in the container, then everything it wrote is chowned to
  the owner of the mounted directory *as seen inside the container*. With a rootful engine that
  is the calling user's uid; with a rootless one (container root = the calling user) it is 0,
  and nothing changes. Running as --user uid:gid instead would break images whose pip or HOME
  expect root, and would give the wrong owner under rootless engines.
- The container checks its Python version and CPU before doing anything: an image for another
  runtime or architecture (podman ignores `platform` on create) fails with a clear error.
- Network: "host" by default (mirrors and proxies on 127.0.0.1 keep working); set
  MLAYER_DOCKER_NETWORK to use another network (e.g. "bridge"). Compilation runs with none.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from ..errors import MlayerError
from ..runtimes import Runtime, machine_for
from . import bytecode
from .container_engine import Bind, Log, RunResult, connect, engine_address, ensure_image, log_to_stderr, platform_for, run

CONTAINER_ROOT = "/mlayer"
CONTAINER_TARGET = f"{CONTAINER_ROOT}/target"
CONTAINER_REQUIREMENTS = f"{CONTAINER_ROOT}/requirements.txt"
CONTAINER_PYTHON_DIR = f"{CONTAINER_ROOT}/python"
CONTAINER_PIP_FILES = f"{CONTAINER_ROOT}/pip"
CONTAINER_PIP_CACHE = f"{CONTAINER_ROOT}/pip-cache"
PIP_CACHE_VOLUME = "mlayer-pip-cache"
NETWORK_ENV = "MLAYER_DOCKER_NETWORK"
DEFAULT_NETWORK = "host"
CHECK_FAILED_EXIT = 97
CHECK_MARKER = "mlayer-check:"

# Runs in the image's Python (any 3.6+): check version and CPU, run the command, fix ownership.
# argv: expected "X.Y", expected machine, directory whose owner gets the output, "--", command...
_WRAPPER = r"""
import os, platform, subprocess, sys
version, machine, owned, _sep = sys.argv[1:5]
command = [sys.executable] + sys.argv[5:]
found = "%d.%d" % sys.version_info[:2]
if found != version or platform.machine() != machine:
    print("mlayer-check: it runs Python %s on %s, not %s on %s" % (found, platform.machine(), version, machine), flush=True)
    sys.exit(97)
code = subprocess.call(command)
st = os.stat(owned)
if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
    for dirpath, dirnames, filenames in os.walk(owned):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), st.st_uid, st.st_gid)
sys.exit(code)
"""

# Asks the host's pip (the one the pip backend runs) for its effective install settings: config
# files and PIP_* variables merged with pip's own precedence rules.
_PIP_SETTINGS_CODE = """
import json
from pip._internal.commands import create_command
options, _ = create_command("install").parse_args([])
keys = ("index_url", "extra_index_urls", "find_links", "trusted_hosts", "no_index", "cert", "client_cert",
        "constraints", "timeout", "retries", "proxy")
print(json.dumps({key: getattr(options, key, None) for key in keys}))
"""
_PYPI = "https://pypi.org/simple"
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy")
# Host paths that must not be mounted over the image's own files.
_SYSTEM_PREFIXES = ("/usr", "/etc", "/var/lang", "/bin", "/sbin", "/lib", "/lib64", "/proc", "/sys", "/dev", "/run", CONTAINER_ROOT)
_LOCATION_OPTIONS = ("--index-url", "-i", "--extra-index-url", "--find-links", "-f")
_NO_MATCH = re.compile(r"(?:No matching distribution found for|Could not find a version that satisfies the requirement) ([^\s;]+)")


def _python(runtime: Runtime) -> str:
    return f"python{runtime.python_version}"


def _wrapped(runtime: Runtime, architecture: str, owned_dir: str, command: list[str]) -> list[str]:
    """The container's argv: the wrapper around `command` (whose argv[0], the python, is replaced)."""
    return [_python(runtime), "-I", "-c", _WRAPPER, runtime.python_version, machine_for(architecture), owned_dir, "--", *command[1:]]


def pip_install_args() -> list[str]:
    """pip's argv inside the container: the pip backend's install, minus the cross-platform flags and wheels-only."""
    return [
        "python", "-m", "pip", "install",
        "--disable-pip-version-check", "--no-input", "--progress-bar", "off", "--no-warn-script-location",
        # Wheels where they exist; otherwise build from source here, inside the runtime's build
        # image, whose compilers and glibc match Lambda's: the reason to use this backend.
        "--prefer-binary",
        "--no-compile",  # .pyc are compiled afterwards, with /opt/python paths
        "--target", CONTAINER_TARGET,
        "-r", CONTAINER_REQUIREMENTS,
    ]  # fmt: skip


def host_pip_settings(log: Log) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", _PIP_SETTINGS_CODE], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        log(f"could not read the host's pip settings ({(proc.stderr.strip().splitlines() or ['?'])[-1]}); pip in the container uses its defaults")
        return {}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _local_path(location: str, *, index: bool) -> Path | None:
    """The host directory a pip location needs mounted, or None if it is remote.

    For a file:// index, the index root's parent: index pages conventionally link to files
    beside the index (e.g. ../../files/x.whl).
    """
    if location.startswith("file:"):
        path = Path(urllib.request.url2pathname(urllib.parse.urlparse(location).path))
    elif location.startswith("/"):
        path = Path(location)
    else:
        return None
    if index or path.is_file():
        path = path.parent
    return path


def _requirements_locations(requirements: Path) -> list[tuple[str, bool]]:
    """(location, is_index) for index/find-links options inside the requirements file."""
    found = []
    for line in requirements.read_text().splitlines():
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            continue
        for i, token in enumerate(tokens):
            option, _, inline = token.partition("=")
            if option in _LOCATION_OPTIONS:
                value = inline or (tokens[i + 1] if i + 1 < len(tokens) else "")
                if value:
                    found.append((value, option not in ("--find-links", "-f")))
    return found


def _same_path_binds(paths: list[Path], log: Log) -> list[Bind]:
    binds: list[Bind] = []
    for path in sorted({p.resolve() for p in paths if p.exists()}):
        text = str(path)
        if len(path.parts) < 3 or any(path.is_relative_to(prefix) for prefix in _SYSTEM_PREFIXES):
            log(f"not mounting {text} (it would hide the image's own files): pip in the container cannot use it")
        elif not any(path.is_relative_to(bind.source) for bind in binds):
            binds.append(Bind(text, text))
    return binds


def pip_passthrough(settings: dict[str, Any], requirements: Path, log: Log) -> tuple[dict[str, str], list[Bind]]:
    """PIP_* variables and read-only mounts that give pip in the container the host's settings."""
    env: dict[str, str] = {}
    binds: list[Bind] = []
    local: list[Path] = []
    index_url = settings.get("index_url")
    if index_url and index_url.rstrip("/") != _PYPI:
        env["PIP_INDEX_URL"] = index_url
    extra = settings.get("extra_index_urls") or []
    find_links = settings.get("find_links") or []
    if extra:
        env["PIP_EXTRA_INDEX_URL"] = " ".join(extra)
    if find_links:
        env["PIP_FIND_LINKS"] = " ".join(find_links)
    locations = [(url, True) for url in [index_url or "", *extra]] + [(link, False) for link in find_links]
    for location, is_index in locations + _requirements_locations(requirements):
        path = _local_path(location, index=is_index)
        if path is not None:
            local.append(path)
    if settings.get("trusted_hosts"):
        env["PIP_TRUSTED_HOST"] = " ".join(settings["trusted_hosts"])
    if settings.get("no_index"):
        env["PIP_NO_INDEX"] = "1"
    for key, variable in (("timeout", "PIP_DEFAULT_TIMEOUT"), ("retries", "PIP_RETRIES"), ("proxy", "PIP_PROXY")):
        if settings.get(key) not in (None, ""):
            env[variable] = str(settings[key])
    for key, variable in (("cert", "PIP_CERT"), ("client_cert", "PIP_CLIENT_CERT")):
        source = settings.get(key)
        if source and Path(source).is_file():
            target = f"{CONTAINER_PIP_FILES}/{key.replace('_', '-')}.pem"
            binds.append(Bind(str(Path(source).resolve()), target))
            env[variable] = target
    constraints = []
    for n, constraint in enumerate(settings.get("constraints") or []):
        if Path(constraint).is_file():
            target = f"{CONTAINER_PIP_FILES}/constraints-{n}.txt"
            binds.append(Bind(str(Path(constraint).resolve()), target))
            constraints.append(target)
        else:
            constraints.append(constraint)  # a URL: pip fetches it
    if constraints:
        env["PIP_CONSTRAINT"] = " ".join(constraints)
    env.update({name: os.environ[name] for name in _PROXY_VARIABLES if os.environ.get(name)})
    return env, binds + _same_path_binds(local, log)


def _fail(result: RunResult, image: str, runtime: Runtime, architecture: str, what: str, fix: str, host_dir: Path, container_dir: str) -> MlayerError:
    """One line naming what went wrong in the container and the fix, with the output's last lines."""
    tail = result.tail_text().replace(container_dir, str(host_dir))
    python = _python(runtime)
    if not result.started:
        if "exec format error" in tail:
            return MlayerError(
                f"this host ({os.uname().machine}) cannot run {platform_for(architecture)} image {image}: "
                f"enable emulation (QEMU binfmt_misc) in the engine, or build on an {architecture} host"
            )
        if "not found" in tail or "no such file" in tail.lower():
            return MlayerError(
                f"image {image} has no {python} on its PATH: pass --image NAME of a {runtime.name} build image "
                f"(the default is {runtime.build_image})"
            )
        return MlayerError(f"the engine at {engine_address()} could not start {python} in {image} ({tail}): check the engine, or use --backend pip")
    if result.exit_code == CHECK_FAILED_EXIT and CHECK_MARKER in tail:
        found = tail.split(CHECK_MARKER, 1)[1].split(" | ")[0].strip()
        return MlayerError(
            f"image {image} is not a {runtime.name} {architecture} build image ({found}): "
            f"pass --image NAME of one (the default is {runtime.build_image})"
        )
    if result.exit_code == 137:
        fix = "it was killed (out of memory?): give the engine more memory and retry"
    return MlayerError(f"{what} failed in {image} with exit code {result.exit_code}: {fix}; last lines: {tail}")


def _pip_fix(result: RunResult, runtime: Runtime, architecture: str) -> str:
    match = _NO_MATCH.search("\n".join(result.tail))
    if match:
        return (
            f"no release of {match.group(1)} matches for {runtime.name} on {architecture}: check the pin's version "
            "and that the index settings reach it"
        )
    return "fix the requirement pip names below, or check the index settings"


def _network() -> str:
    return os.environ.get(NETWORK_ENV) or DEFAULT_NETWORK


def image_identity(runtime: Runtime, architecture: str, image: str | None, *, log: Log | None = None) -> str:
    """The image's content id (pulling it if needed): part of the layer's cache key, so an image
    rebuilt under the same tag is a new build, not a stale cache hit."""
    log = log or log_to_stderr
    image = image or runtime.build_image
    client = connect()
    try:
        ensure_image(client, image, architecture, log, needs=f"{runtime.name} build image")
        return str(client.images.get(image).id)
    finally:
        client.close()


def install_in_container(
    requirements: Path, target_dir: Path, runtime: Runtime, architecture: str, image: str | None, *, log: Log | None = None
) -> None:
    """pip install the (pinned) requirements' wheels into target_dir, inside the runtime's build image."""
    log = log or log_to_stderr
    image = image or runtime.build_image
    requirements, target_dir = Path(requirements).resolve(), Path(target_dir).resolve()
    if not requirements.is_file():
        raise MlayerError(f"requirements file {requirements} does not exist: pass a file of pinned name==version lines")
    client = connect()
    try:
        ensure_image(client, image, architecture, log, needs=f"{runtime.name} build image")
        env, binds = pip_passthrough(host_pip_settings(log), requirements, log)
        target_dir.mkdir(parents=True, exist_ok=True)  # only now: a failed check leaves nothing behind
        log(f"pip install in {image} ({platform_for(architecture)}, network {_network()}) via {engine_address()}")
        result = run(
            client, image, _wrapped(runtime, architecture, CONTAINER_TARGET, pip_install_args()),
            architecture=architecture,
            binds=[Bind(str(target_dir), CONTAINER_TARGET, read_only=False, relabel=True),
                   Bind(str(requirements), CONTAINER_REQUIREMENTS, relabel=True), *binds],
            volumes={PIP_CACHE_VOLUME: CONTAINER_PIP_CACHE},
            environment={"PIP_CACHE_DIR": CONTAINER_PIP_CACHE, "PIP_ROOT_USER_ACTION": "ignore",
                         "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1", **env},
            network_mode=_network(),
            log=log,
            labels={"io.mlayer.step": "pip-install"},
        )  # fmt: skip
    finally:
        client.close()
    if result.exit_code != 0:
        raise _fail(result, image, runtime, architecture, "pip install", _pip_fix(result, runtime, architecture), target_dir, CONTAINER_TARGET)


def compile_in_container(python_dir: Path, runtime: Runtime, architecture: str, image: str | None, *, log: Log | None = None) -> None:
    """Compile .pyc for every module under python_dir with the image's Python, recording /opt/python paths."""
    log = log or log_to_stderr
    image = image or runtime.build_image
    python_dir = Path(python_dir).resolve()
    if not python_dir.is_dir():
        raise MlayerError(f"{python_dir} is not a directory: install the requirements before compiling")
    client = connect()
    try:
        ensure_image(client, image, architecture, log, needs=f"{runtime.name} build image")
        command = bytecode.compile_command(Path("python"), Path(CONTAINER_PYTHON_DIR))
        result = run(
            client, image, _wrapped(runtime, architecture, CONTAINER_PYTHON_DIR, command),
            architecture=architecture,
            binds=[Bind(str(python_dir), CONTAINER_PYTHON_DIR, read_only=False, relabel=True)],
            volumes={},
            environment={},
            network_mode="none",
            log=log,
            labels={"io.mlayer.step": "compileall"},
        )  # fmt: skip
    finally:
        client.close()
    if result.exit_code != 0:
        fix = "fix or remove the offending file, or build with --no-bytecode"
        raise _fail(result, image, runtime, architecture, "compiling .pyc", fix, python_dir, CONTAINER_PYTHON_DIR)
