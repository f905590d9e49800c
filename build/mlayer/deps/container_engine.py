"""Run one command in a container through the Docker Engine API (Docker, or podman's compatible service).

Only the public Docker API is used (through the python `docker` SDK and `docker.from_env()`, which
honours DOCKER_HOST and the Docker CLI context), so any compatible engine works. The image must
be present locally or pullable for the requested platform; the container's output is streamed
line by line as it runs; the container is removed afterwards, also on failure or Ctrl-C.
"""

from __future__ import annotations

import collections
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import MlayerError
from ..runtimes import machine_for

if TYPE_CHECKING:
    import docker

Log = Callable[[str], None]
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
TAIL_LINES = 30
# Lambda architecture -> the Docker platform architecture.
_DOCKER_ARCH = {"x86_64": "amd64", "arm64": "arm64"}


def log_to_stderr(line: str) -> None:
    print(f"  {line}", file=sys.stderr, flush=True)


def docker_arch(architecture: str) -> str:
    machine_for(architecture)  # raises the usual error for an unknown architecture
    return _DOCKER_ARCH[architecture]


def platform_for(architecture: str) -> str:
    return f"linux/{docker_arch(architecture)}"


def engine_address() -> str:
    """Where docker.from_env() connects: DOCKER_HOST, else the current Docker CLI context, else the default socket."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        return host
    try:
        from docker.context import ContextAPI

        context = ContextAPI.get_current_context()
        if context is not None and context.Host and context.name != "default":
            return f"{context.Host} (Docker context {context.name})"
    except Exception:  # no SDK or an unreadable ~/.docker/config.json: fall back to the default
        pass
    return f"{DEFAULT_SOCKET} (the default; DOCKER_HOST is unset)"


def connect() -> docker.DockerClient:
    """A client for the engine in DOCKER_HOST (or the default socket), checked to answer."""
    try:
        import docker
        import requests
    except ImportError:
        raise MlayerError("the docker backend needs the python package `docker`: pip install docker==7.2.0, or use --backend pip") from None
    try:
        client = docker.from_env()
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        reason = _connect_reason(exc)
        raise MlayerError(
            f"cannot reach a Docker-API engine at {engine_address()} ({reason}): start Docker or "
            "`podman system service`, set DOCKER_HOST, or use --backend pip"
        ) from None
    return client


def _pull(client: docker.DockerClient, image: str, platform: str, log: Log) -> str | None:
    """Pull `image` for `platform`; return None on success, else the engine's reason."""
    import docker

    repository, tag = docker.utils.parse_repository_tag(image)
    log(f"pulling {image} for {platform}")
    try:
        for event in client.api.pull(repository, tag=tag or "latest", stream=True, decode=True, platform=platform):
            if "error" in event:
                return str(event["error"])
            if "status" in event and "progress" not in event:
                log(" ".join(str(event[k]) for k in ("id", "status") if k in event))
    except docker.errors.APIError as exc:
        return _reason(exc)
    return None


def _image_arch(client: docker.DockerClient, image: str) -> str | None:
    """The local image's architecture, or None if it is not present."""
    import docker

    try:
        return client.images.get(image).attrs.get("Architecture") or None
    except docker.errors.ImageNotFound:
        return None


def ensure_image(client: docker.DockerClient, image: str, architecture: str, log: Log, needs: str) -> None:
    """Make sure `image` is present for `architecture`, pulling it if needed.

    Engines differ in what `platform` on create means (podman ignores it), so the image's own
    architecture is checked here rather than trusted.
    """
    wanted = docker_arch(architecture)
    found = _image_arch(client, image)
    if found == wanted:
        return
    reason = _pull(client, image, platform_for(architecture), log)
    found_after = _image_arch(client, image)
    if found_after == wanted:
        return
    reason = " ".join((reason or "the engine returned no error").split())[:240]
    if found_after is None:
        raise MlayerError(
            f"image {image} is not available locally and could not be pulled ({reason}): "
            f"pull it (docker pull --platform {platform_for(architecture)} {image}), or pass --image NAME of a local {needs}"
        )
    raise MlayerError(
        f"image {image} is linux/{found_after} but the layer targets {architecture} (linux/{wanted}) and pulling "
        f"that platform failed ({reason}): pass --image NAME of a linux/{wanted} {needs}, or pull it "
        f"(docker pull --platform {platform_for(architecture)} {image})"
    )


@dataclass
class Bind:
    """A host path mounted into the container."""

    source: str
    target: str
    read_only: bool = True
    relabel: bool = False  # SELinux: relabel (":z") only our own directories, never system paths

    def as_volume(self) -> tuple[str, dict[str, str]]:
        mode = "ro" if self.read_only else "rw"
        return self.source, {"bind": self.target, "mode": f"{mode},z" if self.relabel else mode}


@dataclass
class RunResult:
    exit_code: int
    tail: list[str]  # the last output lines
    started: bool = True  # False: the engine could not start the command (tail holds its reason)

    def tail_text(self, lines: int = 8) -> str:
        return " | ".join(self.tail[-lines:]) or "(no output)"


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", "replace").rstrip("\r")
    if pending:
        yield pending.decode("utf-8", "replace").rstrip("\r")


def run(
    client: docker.DockerClient,
    image: str,
    command: list[str],
    *,
    architecture: str,
    binds: list[Bind],
    volumes: dict[str, str],
    environment: dict[str, str],
    network_mode: str,
    log: Log,
    labels: dict[str, str] | None = None,
) -> RunResult:
    """Run `command` (the full argv, as the entrypoint) as root and wait; stream its output to `log`.

    `volumes` maps named volumes to container paths. The container is always removed.
    """
    import docker
    import requests

    mounts: dict[str, Any] = dict(bind.as_volume() for bind in binds)
    mounts.update({name: {"bind": target, "mode": "rw"} for name, target in volumes.items()})
    create_args: dict[str, Any] = {}
    if docker.utils.version_gte(client.api.api_version, "1.41"):
        create_args["platform"] = platform_for(architecture)
    try:
        container = client.containers.create(
            image,
            entrypoint=command[:1],
            command=command[1:],
            user="0:0",  # the ownership of the output is fixed inside the container, see docker_backend
            environment=environment,
            volumes=mounts,
            network_mode=network_mode,
            labels={"io.mlayer": "build", **(labels or {})},
            working_dir="/",
            **create_args,
        )
    except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
        raise MlayerError(f"the engine at {engine_address()} could not create a container from {image} ({_reason(exc)}): check the engine and the image, or use --backend pip") from None
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    try:
        try:
            container.start()
        except docker.errors.APIError as exc:
            return RunResult(exit_code=-1, tail=[_reason(exc)], started=False)
        try:
            for line in _lines(container.logs(stream=True, follow=True, stdout=True, stderr=True)):
                tail.append(line)
                log(line)
            status = container.wait()
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            raise MlayerError(f"lost the engine at {engine_address()} while running {image} ({_reason(exc)}): check the engine and retry") from None
        return RunResult(exit_code=int(status.get("StatusCode", -1)), tail=list(tail))
    finally:
        try:
            container.remove(force=True)
        except (docker.errors.APIError, requests.exceptions.RequestException):
            pass  # already gone, or the engine is; nothing more to clean here


def _connect_reason(exc: Exception) -> str:
    text = str(exc)
    for marker, short in (("FileNotFoundError", "no socket there"), ("ConnectionRefused", "connection refused"),
                          ("Connection refused", "connection refused"), ("PermissionError", "permission denied on the socket")):  # fmt: skip
        if marker in text:
            return short
    return _reason(exc)


def _reason(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None) or str(exc) or type(exc).__name__
    return " ".join(str(explanation).split())[:240]
