"""Shared fixtures: real builds (cached in the user's mlayer cache), a real moto server on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEFAULT_RUNTIME = "python3.12"
DEFAULT_REQUIREMENTS = REPO / "requirements" / f"{DEFAULT_RUNTIME}.txt"
DEMO_MODEL_NAME = "MyModel"
DEMO_MODEL_VERSION = "20190104v1"


def pytest_configure(config: pytest.Config) -> None:
    """Use a provider filesystem mirror when one is present (MLAYER_PROVIDER_MIRROR, else this
    machine's), through a CLI config written to .terraform-cli/ in the repository, never $HOME."""
    from mlayer.terraform import use_provider_mirror

    use_provider_mirror(REPO)


def pytest_report_header(config: pytest.Config) -> str:
    import os

    from mlayer.terraform import find_provider_mirror

    mirror = find_provider_mirror()
    where = f"filesystem mirror {mirror}" if mirror else "no mirror (terraform init downloads it)"
    return f"hashicorp/aws provider: {where}; TF_CLI_CONFIG_FILE={os.environ.get('TF_CLI_CONFIG_FILE')}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty mlayer cache for this test (builds and verifications start cold)."""
    cache = tmp_path / "mlayer-cache"
    monkeypatch.setenv("MLAYER_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(scope="session")
def session_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dist")


@pytest.fixture(scope="session")
def deps_build(session_dist: Path):
    """The default deps layer (python3.12, x86_64, slim, .pyc), built for real; cached across runs."""
    from mlayer.deps.layer import build_deps_layer

    return build_deps_layer(DEFAULT_REQUIREMENTS, session_dist, runtime=DEFAULT_RUNTIME)


@pytest.fixture(scope="session")
def lean_deps(session_dist: Path):
    """The lean deps layer (numpy + mmh3) for the default runtime, built by the same machinery; cached."""
    from mlayer.deps.layer import build_deps_layer

    return build_deps_layer(REPO / "requirements" / f"lean-{DEFAULT_RUNTIME}.txt", session_dist, runtime=DEFAULT_RUNTIME)


@pytest.fixture(scope="session")
def demo_artifacts(tmp_path_factory: pytest.TempPathFactory, deps_build) -> Path:
    """A model_artifacts/ root holding the trained demo model (MyModel/20190104v1)."""
    from mlayer.model.train_demo import train_demo

    root = tmp_path_factory.mktemp("model_artifacts")
    train_demo(deps_build, root, name=DEMO_MODEL_NAME, version=DEMO_MODEL_VERSION)
    return root


@pytest.fixture(scope="session")
def built_manifest(session_dist: Path, demo_artifacts: Path, deps_build) -> Path:
    """dist/manifest.json after `mlayer build all` over the demo model."""
    from mlayer.build_all import build_all

    return build_all(
        requirements=DEFAULT_REQUIREMENTS,
        artifacts_root=demo_artifacts,
        function_dir=REPO / "function",
        dist_dir=session_dist,
        runtime=DEFAULT_RUNTIME,
    )


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's real HTTP server on 127.0.0.1 (S3, DynamoDB, Kinesis, SQS, Lambda metadata)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> dict[str, str]:
    """Fake credentials and the moto endpoint, for boto3 in this process and in child processes."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_endpoint,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture(scope="session")
def tls_moto(tmp_path_factory: pytest.TempPathFactory):
    """moto over HTTPS (local CA) with mlayer's corrections (mlayer.demo.moto_fixes), plus plain
    http on a second port to the same backends; a child process, stopped by its pid."""
    from mlayer.demo.moto_tls import running

    with running(tmp_path_factory.mktemp("moto-tls"), with_http=True) as server:
        yield server
