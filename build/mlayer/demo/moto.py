"""A moto server on 127.0.0.1 standing in for S3 while the demo writes predictions."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator

from ..errors import MlayerError

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def local_s3(bucket: str, region: str) -> Iterator[dict[str, str]]:
    """Start moto, create `bucket`, and yield the environment a boto3 client needs to reach it.

    This process's environment gets the same variables for the duration (the replay reads the
    bucket back with boto3 to count every record), and is restored afterwards.
    """
    try:
        import boto3
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise MlayerError(f"the demo's local S3 needs moto and boto3 ({exc.name} missing): run `make venv`") from None
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per PUT otherwise
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {**FAKE_CREDENTIALS, "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        boto3.client("s3", region_name=region).create_bucket(Bucket=bucket)
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()
