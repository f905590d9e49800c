"""The container backend against a real Docker-API engine (podman's service here) and a real local image.

The image is a stand-in for public.ecr.aws/sam/build-python3.12 made from the host's CPython 3.12
(see tests/container_engine.py); pip inside it reaches the package index over the host network.
Tests marked `container` need the engine; the rest (unreachable engine, pip settings) do not.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import threading
import time
import zipfile
from collections.abc import Iterator
from importlib.metadata import distributions
from pathlib import Path

import pytest

from mlayer.deps.docker_backend import CONTAINER_PIP_FILES, pip_passthrough
from mlayer.errors import MlayerError
from mlayer.runtimes import find_interpreter, get_runtime
from mlayer.zipper import zip_tree

from container_engine import HOST_ARCHITECTURE as ARCH, build_image, docker_engine, docker_host  # noqa: F401 - fixtures

RUNTIME = get_runtime("python3.12")
IMAGE = "localhost/mlayer-test-build-python3.12:latest"
# A small closure: pure-Python wheels plus one CPython-3.12 binary wheel (markupsafe), which only a
# Python 3.12 pip picks (the tooling venv is 3.11).
PINS = "joblib==1.6.0\nthreadpoolctl==3.8.0\ncloudpickle==3.1.3\nmarkupsafe==3.0.3\n"
OTHER_OWNER = (4242, 4243)


def _report(request: pytest.FixtureRequest, line: str) -> None:
    """Show a measurement on the terminal even while output is captured."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is None:
        print(f"[container] {line}")
        return
    with capture.global_and_fixture_disabled():
        print(f"\n[container] {line}")


@pytest.fixture(scope="session")
def python312() -> Path:
    python = find_interpreter("3.12")
    if python is None:
        pytest.skip("no CPython 3.12 on this host to build the test image from (pyenv install 3.12)")
    return python


@pytest.fixture(scope="session")
def build_image_tag(docker_engine: str, python312: Path, request: pytest.FixtureRequest) -> str:  # noqa: F811
    seconds = build_image(docker_engine, IMAGE, python312)
    _report(request, f"test image {IMAGE}: " + (f"built in {seconds:.1f} s" if seconds else "cached"))
    return IMAGE


@pytest.fixture
def owned_dir(tmp_path: Path) -> Iterator[tuple[Path, tuple[int, int]]]:
    """An empty output directory and the (uid, gid) the container's output must get.

    As root, the directory is handed to another uid/gid so the test can tell "chowned to the
    directory's owner" from "left as root"; otherwise it is the calling user's own.
    """
    out = tmp_path / "python"
    out.mkdir()
    if os.geteuid() == 0:
        os.chown(out, *OTHER_OWNER)
        yield out, OTHER_OWNER
    else:
        yield out, (os.getuid(), os.getgid())


def _owners(root: Path) -> set[tuple[int, int]]:
    return {(st.st_uid, st.st_gid) for st in (p.lstat() for p in root.rglob("*"))}


def _requirements(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    return path


@pytest.mark.container
def test_install_lands_pinned_wheels_for_the_image_python_owned_by_the_caller(docker_host, build_image_tag, tmp_path, owned_dir, request):  # noqa: F811
    from mlayer.deps.docker_backend import install_in_container

    out, owner = owned_dir
    lines: list[str] = []
    start = time.perf_counter()
    install_in_container(_requirements(tmp_path, PINS), out, RUNTIME, ARCH, build_image_tag, log=lines.append)
    _report(request, f"containerized install of 4 pins: {time.perf_counter() - start:.1f} s")

    installed = {d.metadata["Name"].lower(): d.version for d in distributions(path=[str(out)])}
    assert installed == {"joblib": "1.6.0", "threadpoolctl": "3.8.0", "cloudpickle": "3.1.3", "markupsafe": "3.0.3"}
    assert (out / "joblib" / "__init__.py").is_file() and (out / "threadpoolctl.py").is_file()
    [wheel] = (out / "markupsafe-3.0.3.dist-info").glob("WHEEL")
    assert "Tag: cp312-cp312-manylinux" in wheel.read_text(), "pip in the container must resolve for its own Python 3.12"
    assert list(out.rglob("*.so")), "markupsafe's extension module"
    assert not list(out.rglob("*.pyc")), "installed with --no-compile: bytecode is compiled separately"
    assert _owners(out) == {owner}
    assert any("Successfully installed" in line for line in lines), "pip's output streams to the log callback"


class _WheelServer(http.server.SimpleHTTPRequestHandler):
    """Serves a directory with a long max-age (as PyPI's file host does) and counts wheel downloads."""

    wheel_gets: list[str]

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "max-age=31536000, public")
        super().end_headers()

    def do_GET(self) -> None:
        if self.path.endswith(".whl"):
            self.wheel_gets.append(self.path)
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


def _probe_wheel(directory: Path, version: str) -> str:
    """A minimal pure-Python wheel, written with mlayer's zip writer."""
    name = "mlayer_cache_probe"
    tree = directory / "tree"
    (tree / name).mkdir(parents=True)
    (tree / name / "__init__.py").write_text(f"VERSION = {version!r}\n")
    info = tree / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: mlayer-cache-probe\nVersion: {version}\n")
    (info / "WHEEL").write_text("Wheel-Version: 1.0\nGenerator: mlayer-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    (info / "RECORD").write_text("")
    filename = f"{name}-{version}-py3-none-any.whl"
    zip_tree(tree, directory / "wheels" / filename)
    return filename


@pytest.mark.container
def test_pip_cache_volume_serves_the_second_install(docker_host, build_image_tag, tmp_path):  # noqa: F811
    """The wheel comes over HTTP from 127.0.0.1 (reached through the host network) once, then from the volume.

    A local server, because the proxy in front of PyPI on these machines strips Cache-Control,
    which leaves pip nothing it may cache.
    """
    from mlayer.deps.docker_backend import PIP_CACHE_VOLUME, install_in_container

    version = f"1.0.post{time.time_ns()}"  # a new cache key every run: the volume outlives the session
    _probe_wheel(tmp_path, version)
    handler = type("Handler", (_WheelServer,), {"wheel_gets": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(tmp_path / "wheels")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        # pip caches plain-http responses only from trusted hosts.
        requirements = _requirements(tmp_path, f"--no-index\n--trusted-host 127.0.0.1\n--find-links {url}\nmlayer-cache-probe=={version}\n")
        install_in_container(requirements, tmp_path / "first", RUNTIME, ARCH, build_image_tag, log=lambda line: None)
        assert len(handler.wheel_gets) == 1
        second: list[str] = []
        install_in_container(requirements, tmp_path / "second", RUNTIME, ARCH, build_image_tag, log=second.append)
    finally:
        server.shutdown()
        server.server_close()
    assert len(handler.wheel_gets) == 1, f"the second install downloaded the wheel again instead of using {PIP_CACHE_VOLUME}"
    assert any("Using cached" in line and "mlayer_cache_probe" in line for line in second), second
    assert (tmp_path / "second" / "mlayer_cache_probe" / "__init__.py").read_text() == f"VERSION = {version!r}\n"


@pytest.mark.container
def test_host_pip_settings_reach_the_container_with_their_local_paths_mounted(docker_host, build_image_tag, tmp_path, monkeypatch):  # noqa: F811
    """A find-links directory set in the host's pip settings (here PIP_FIND_LINKS) works inside the container."""
    from mlayer.deps.docker_backend import install_in_container

    version = "2.0"
    _probe_wheel(tmp_path, version)
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "wheels"))
    lines: list[str] = []
    install_in_container(_requirements(tmp_path, f"--no-index\nmlayer-cache-probe=={version}\n"), tmp_path / "out", RUNTIME, ARCH, build_image_tag, log=lines.append)
    assert (tmp_path / "out" / "mlayer_cache_probe" / "__init__.py").is_file()
    assert any(f"Looking in links: {tmp_path / 'wheels'}" in line for line in lines), lines


@pytest.mark.container
def test_a_package_published_only_as_an_sdist_is_built_in_the_image(docker_host, build_image_tag, tmp_path, owned_dir):  # noqa: F811
    """What the pip backend must refuse (no wheel for the platform) the container backend builds."""
    from mlayer.deps.docker_backend import install_in_container

    out, _ = owned_dir
    install_in_container(_requirements(tmp_path, "docopt==0.6.2\n"), out, RUNTIME, ARCH, build_image_tag, log=lambda line: None)
    installed = {d.metadata["Name"].lower(): d.version for d in distributions(path=[str(out)])}
    assert installed == {"docopt": "0.6.2"}
    assert (out / "docopt.py").is_file()


@pytest.mark.container
def test_failing_requirement_raises_one_line_with_the_log_tail(docker_host, build_image_tag, tmp_path):  # noqa: F811
    from mlayer.deps.docker_backend import install_in_container

    requirements = _requirements(tmp_path, "joblib==1.6.0\nmlayer-no-such-package==1.0\n")
    with pytest.raises(MlayerError) as caught:
        install_in_container(requirements, tmp_path / "out", RUNTIME, ARCH, build_image_tag, log=lambda line: None)
    message = str(caught.value)
    assert "\n" not in message
    assert "no release of mlayer-no-such-package==1.0 matches for python3.12 on x86_64" in message
    assert f"failed in {build_image_tag} with exit code 1" in message
    assert "last lines:" in message and "ERROR: No matching distribution found for mlayer-no-such-package==1.0" in message


@pytest.mark.container
def test_compile_writes_unchecked_hash_pyc_for_python312_with_opt_python_paths(docker_host, build_image_tag, owned_dir, python312):  # noqa: F811
    from mlayer.deps.docker_backend import compile_in_container

    out, owner = owned_dir
    (out / "pkg").mkdir()
    (out / "pkg" / "__init__.py").write_text("")
    (out / "pkg" / "mod.py").write_text("def where():\n    return __file__\n")
    (out / "top.py").write_text("X = 1\n")
    if os.geteuid() == 0:
        for path in out.rglob("*"):
            os.chown(path, *owner)

    compile_in_container(out, RUNTIME, ARCH, build_image_tag, log=lambda line: None)

    pyc = out / "pkg" / "__pycache__" / "mod.cpython-312.pyc"
    assert pyc.is_file() and (out / "__pycache__" / "top.cpython-312.pyc").is_file()
    # Read the .pyc with the host's Python 3.12 (the tooling venv's 3.11 cannot unmarshal it).
    probe = (
        "import importlib.util, marshal, sys; data = open(sys.argv[1], 'rb').read(); "
        "print(data[:4] == importlib.util.MAGIC_NUMBER, int.from_bytes(data[4:8], 'little'), marshal.loads(data[16:]).co_filename)"
    )
    magic_ok, flags, filename = subprocess.run([str(python312), "-I", "-c", probe, str(pyc)], capture_output=True, text=True, check=True).stdout.split()
    assert magic_ok == "True"
    assert flags == "1", "hash-based, unchecked (bit 0 set, check_source bit clear)"
    assert filename == "/opt/python/pkg/mod.py"
    assert _owners(out) == {owner}


@pytest.mark.container
def test_compile_failure_names_the_host_file(docker_host, build_image_tag, tmp_path):  # noqa: F811
    from mlayer.deps.docker_backend import compile_in_container

    (tmp_path / "python").mkdir()
    (tmp_path / "python" / "broken.py").write_text("print 'python 2'\n")
    with pytest.raises(MlayerError) as caught:
        compile_in_container(tmp_path / "python", RUNTIME, ARCH, build_image_tag, log=lambda line: None)
    message = str(caught.value)
    assert "compiling .pyc failed" in message and "--no-bytecode; last lines:" in message
    assert str(tmp_path / "python" / "broken.py") in message, "the log tail names the host path, not the mount point"


@pytest.mark.container
def test_output_streams_live_and_the_container_is_removed(docker_host, build_image_tag):  # noqa: F811
    from mlayer.deps.container_engine import connect, run

    marker = f"run-{time.time_ns()}"
    seen: list[tuple[float, str]] = []
    client = connect()
    try:
        result = run(
            client, build_image_tag,
            ["python3.12", "-u", "-c", "import time; print('first'); time.sleep(1.5); print('second'); raise SystemExit(3)"],
            architecture=ARCH, binds=[], volumes={}, environment={}, network_mode="none",
            log=lambda line: seen.append((time.perf_counter(), line)), labels={"io.mlayer.test": marker},
        )  # fmt: skip
        leftovers = client.containers.list(all=True, filters={"label": f"io.mlayer.test={marker}"})
    finally:
        client.close()
    assert result.exit_code == 3 and result.tail == ["first", "second"]
    assert [line for _, line in seen] == ["first", "second"]
    assert seen[1][0] - seen[0][0] >= 1.0, "the first line must arrive while the command still runs"
    assert leftovers == [], "the container is removed after it ran"


@pytest.mark.container
def test_missing_image_names_it_and_the_fix(docker_host, tmp_path):  # noqa: F811
    from mlayer.deps.docker_backend import install_in_container

    image = "localhost/mlayer-no-such-image:1"
    with pytest.raises(MlayerError) as caught:
        install_in_container(_requirements(tmp_path, PINS), tmp_path / "out", RUNTIME, ARCH, image, log=lambda line: None)
    message = str(caught.value)
    assert f"image {image} is not available locally and could not be pulled" in message
    assert "--image NAME of a local python3.12 build image" in message and f"docker pull --platform linux/{'amd64' if ARCH == 'x86_64' else 'arm64'} {image}" in message
    assert not (tmp_path / "out").exists(), "nothing is written when the image is missing"


@pytest.mark.container
def test_image_for_another_runtime_or_architecture_is_refused(docker_host, build_image_tag, tmp_path):  # noqa: F811
    from mlayer.deps.docker_backend import install_in_container

    requirements = _requirements(tmp_path, PINS)
    with pytest.raises(MlayerError, match=rf"image {build_image_tag} has no python3\.13 on its PATH: pass --image NAME of a python3\.13 build image"):
        install_in_container(requirements, tmp_path / "a", get_runtime("python3.13"), ARCH, build_image_tag, log=lambda line: None)
    other = "arm64" if ARCH == "x86_64" else "x86_64"
    with pytest.raises(MlayerError, match=rf"image {build_image_tag} is linux/\w+ but the layer targets {other}"):
        install_in_container(requirements, tmp_path / "b", RUNTIME, other, build_image_tag, log=lambda line: None)
    assert not (tmp_path / "b").exists()


def test_unreachable_engine_is_one_line_naming_the_socket(monkeypatch, tmp_path):
    pytest.importorskip("docker", reason="the python `docker` package is not installed")
    from mlayer.deps.docker_backend import compile_in_container, install_in_container

    socket = f"unix://{tmp_path}/no-engine.sock"
    monkeypatch.setenv("DOCKER_HOST", socket)
    expected = rf"^cannot reach a Docker-API engine at {socket} \(no socket there\): start Docker or `podman system service`, set DOCKER_HOST, or use --backend pip$"
    with pytest.raises(MlayerError, match=expected):
        install_in_container(_requirements(tmp_path, PINS), tmp_path / "out", RUNTIME, ARCH, None, log=lambda line: None)
    assert not (tmp_path / "out").exists()
    (tmp_path / "python").mkdir()
    with pytest.raises(MlayerError, match=expected):
        compile_in_container(tmp_path / "python", RUNTIME, ARCH, None, log=lambda line: None)


@pytest.mark.container
def test_build_deps_layer_with_the_docker_backend(docker_host, build_image_tag, tmp_path, monkeypatch):  # noqa: F811
    """End to end: the orchestrator installs and compiles in the container, then slims, checks and zips."""
    from mlayer.deps.layer import build_deps_layer

    monkeypatch.setenv("MLAYER_CACHE_DIR", str(tmp_path / "cache"))  # a real build, not a hit from an earlier run
    requirements = _requirements(tmp_path, PINS)
    build = build_deps_layer(requirements, tmp_path / "dist", runtime="python3.12", architecture=ARCH, backend="docker", image=build_image_tag)

    assert build.backend == "docker" and not build.cache_hit and build.bytecode
    assert build.packages == {"cloudpickle": "3.1.3", "joblib": "1.6.0", "markupsafe": "3.0.3", "threadpoolctl": "3.8.0"}
    with zipfile.ZipFile(build.zip_path) as archive:
        names = set(archive.namelist())
    assert "python/joblib/__init__.py" in names
    assert "python/joblib/__pycache__/__init__.cpython-312.pyc" in names
    assert any(name.startswith(f"python/markupsafe/_speedups.cpython-312-{os.uname().machine}-linux-gnu") for name in names)
    assert build.import_check.startswith("passed"), build.import_check

    again = build_deps_layer(requirements, tmp_path / "dist", runtime="python3.12", architecture=ARCH, backend="docker", image=build_image_tag)
    assert again.cache_hit and again.zip_path == build.zip_path

    # The same tag on different image content is a new build, not a stale cache hit.
    import docker

    client = docker.from_env()
    repository, tag = build_image_tag.rsplit(":", 1)
    original_id = client.images.get(build_image_tag).id
    try:
        container = client.containers.create(build_image_tag, command=["true"])
        container.commit(repository=repository, tag=tag, changes=["LABEL mlayer.test=rebuilt"])  # moves the tag
        container.remove()
        assert client.images.get(build_image_tag).id != original_id
        changed = build_deps_layer(requirements, tmp_path / "dist", runtime="python3.12", architecture=ARCH, backend="docker", image=build_image_tag)
        assert not changed.cache_hit
        assert changed.zip_path == build.zip_path, "same packages in, same zip out"
    finally:
        client.images.get(original_id).tag(repository, tag)  # leave the session's test image as it was
        client.close()


# ---- the host's pip settings, translated for the container (no engine needed) ----


def _quiet(line: str) -> None:
    pass


def _pip_settings(**overrides):
    base = {"index_url": "https://pypi.org/simple", "extra_index_urls": [], "find_links": [], "trusted_hosts": [],
            "no_index": False, "cert": None, "client_cert": None, "constraints": [], "timeout": 15.0, "retries": 5, "proxy": ""}  # fmt: skip
    return {**base, **overrides}


def test_defaults_pass_nothing_but_timeouts(tmp_path, monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    env, binds = pip_passthrough(_pip_settings(), _requirements(tmp_path, "joblib==1.6.0\n"), _quiet)
    assert env == {"PIP_DEFAULT_TIMEOUT": "15.0", "PIP_RETRIES": "5"}
    assert binds == []


def test_local_indexes_and_links_are_mounted_read_only_at_the_same_path(tmp_path):
    index = tmp_path / "mirror" / "simple"
    index.mkdir(parents=True)
    links = tmp_path / "wheels"
    links.mkdir()
    nested = links / "more"
    nested.mkdir()
    settings = _pip_settings(
        index_url=f"file://{index}",
        extra_index_urls=["https://mirror.invalid/simple"],
        find_links=[str(links), f"file://{nested}"],
        trusted_hosts=["mirror.invalid"],
    )
    env, binds = pip_passthrough(settings, _requirements(tmp_path, "joblib==1.6.0\n"), _quiet)
    assert env["PIP_INDEX_URL"] == f"file://{index}"
    assert env["PIP_EXTRA_INDEX_URL"] == "https://mirror.invalid/simple"
    assert env["PIP_FIND_LINKS"] == f"{links} file://{nested}"
    assert env["PIP_TRUSTED_HOST"] == "mirror.invalid"
    # The index's parent (pages link to ../../files/...), the links directory once (nested is inside it).
    assert sorted((b.source, b.target, b.read_only) for b in binds) == [
        (str(tmp_path / "mirror"), str(tmp_path / "mirror"), True),
        (str(links), str(links), True),
    ]


def test_cert_and_constraints_are_mounted_under_fixed_names(tmp_path):
    cert = tmp_path / "corp-ca.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("numpy<3\n")
    env, binds = pip_passthrough(_pip_settings(cert=str(cert), constraints=[str(constraints), "https://example.invalid/c.txt"]), _requirements(tmp_path, "joblib==1.6.0\n"), _quiet)
    assert env["PIP_CERT"] == f"{CONTAINER_PIP_FILES}/cert.pem"
    assert env["PIP_CONSTRAINT"] == f"{CONTAINER_PIP_FILES}/constraints-0.txt https://example.invalid/c.txt"
    assert {(b.source, b.target) for b in binds} == {(str(cert), f"{CONTAINER_PIP_FILES}/cert.pem"), (str(constraints), f"{CONTAINER_PIP_FILES}/constraints-0.txt")}


def test_locations_inside_the_requirements_file_are_mounted(tmp_path):
    links = tmp_path / "vendored"
    links.mkdir()
    requirements = _requirements(tmp_path, f"--find-links={links}\n--extra-index-url https://mirror.invalid/simple\njoblib==1.6.0\n")
    _, binds = pip_passthrough(_pip_settings(), requirements, _quiet)
    assert [(b.source, b.target) for b in binds] == [(str(links), str(links))]


def test_system_directories_are_never_mounted_over_the_image(tmp_path):
    said: list[str] = []
    _, binds = pip_passthrough(_pip_settings(find_links=["/usr/share", "/etc", "/tmp"]), _requirements(tmp_path, "joblib==1.6.0\n"), said.append)
    assert binds == []
    assert len(said) == 3 and all("not mounting" in line for line in said)


def test_proxy_variables_are_passed_through(tmp_path, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    env, _ = pip_passthrough(_pip_settings(), _requirements(tmp_path, "joblib==1.6.0\n"), _quiet)
    assert env["HTTPS_PROXY"] == "http://127.0.0.1:3128" and env["NO_PROXY"] == "127.0.0.1"
