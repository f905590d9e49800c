"""A moto server on 127.0.0.1 standing in for S3 while the demo writes predictions.

It runs as its own process (`python -m moto.server`), not a thread of the demo: every S3 PUT
would otherwise compete with the replay driver for this process's GIL and slow the replay down.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

from ..errors import MlayerError

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
START_TIMEOUT_S = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MlayerError(f"the local moto server exited with code {process.returncode}: run `make venv` to reinstall moto[server]")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise MlayerError(f"the local moto server did not listen on 127.0.0.1:{port} within {START_TIMEOUT_S} s: retry, or use --sink dir")


@contextlib.contextmanager
def local_s3(bucket: str, region: str) -> Iterator[dict[str, str]]:
    """Start moto, create `bucket`, and yield the environment a boto3 client needs to reach it.

    This process's environment gets the same variables for the duration (the replay reads the
    bucket back with boto3 to count every record), and is restored afterwards.
    """
    try:
        import boto3
    except ImportError:
        raise MlayerError("the demo's local S3 needs boto3 and moto[server]: run `make venv`") from None
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {**FAKE_CREDENTIALS, "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    saved = {key: os.environ.get(key) for key in env}
    try:
        _wait_for(port, process)
        os.environ.update(env)
        boto3.client("s3", region_name=region).create_bucket(Bucket=bucket)
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """Terminate the server we started (by its pid), killing it if it does not exit within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
