"""moto's server over HTTPS with a local CA and mlayer's corrections of moto (moto_fixes).

    python -m mlayer.demo.moto_tls --port 5000 --dir .moto [--http-port 5001]

serves every moto service on https://127.0.0.1:PORT (and, with --http-port, the same backends
over plain http, to show a TLS-only policy denying it). It writes into --dir:
  ca.pem  the local CA (trust it: SSL_CERT_FILE for Terraform's provider, AWS_CA_BUNDLE for boto3)
  env     `export` lines with that CA, fake credentials, a region and the endpoint; `. DIR/env`
          (written last, once the server listens: wait for it)
  pid     this server's process id (`kill $(cat DIR/pid)` stops it)
The CA and server key are made fresh at each start (trustme) and never leave DIR.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..fsutil import atomic_path
from .moto import FAKE_CREDENTIALS, _free_port, _wait_for, stop
from .moto_fixes import apply_fixes, wsgi_with_request_context

REGION = "us-east-1"


@dataclass(frozen=True)
class TlsMoto:
    """A running wrapper: where it listens and what a client needs to trust and reach it."""

    endpoint: str
    http_endpoint: str | None
    ca_file: Path

    def environment(self) -> dict[str, str]:
        return {
            **FAKE_CREDENTIALS,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "SSL_CERT_FILE": str(self.ca_file),
            "AWS_CA_BUNDLE": str(self.ca_file),
        }


def write_ca(directory: Path) -> ssl.SSLContext:
    """A fresh CA (ca.pem in directory) and a server context for 127.0.0.1/localhost signed by it."""
    import trustme

    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="mlayer local moto")
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def write_env(directory: Path, server: TlsMoto) -> Path:
    path = directory / "env"
    lines = [f"export {key}={shlex.quote(value)}" for key, value in server.environment().items()]
    lines.append(f"export MOTO_ENDPOINT={shlex.quote(server.endpoint)}")
    with atomic_path(path) as tmp:  # whole or absent: README's `until [ -f .moto/env ]` may source it the moment it appears
        tmp.write_text("\n".join(lines) + "\n")
    return path


def serve(port: int, directory: Path, http_port: int | None = None) -> None:
    """Serve until SIGTERM/SIGINT (the current process)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "env").unlink(missing_ok=True)
    (directory / "pid").write_text(f"{os.getpid()}\n")
    apply_fixes()
    context = write_ca(directory)
    app = wsgi_with_request_context(DomainDispatcherApplication(create_backend_app))
    servers = [make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler, ssl_context=context)]
    if http_port is not None:
        servers.append(make_server("127.0.0.1", http_port, app, threaded=True, request_handler=MotoRequestHandler))
    info = TlsMoto(f"https://127.0.0.1:{port}", None if http_port is None else f"http://127.0.0.1:{http_port}", directory / "ca.pem")
    write_env(directory, info)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    print(f"moto (TLS, bucket-policy fix) on {info.endpoint}; trust {info.ca_file}; `. {directory / 'env'}`", flush=True)
    stop.wait()
    for s in servers:
        s.shutdown()


@contextlib.contextmanager
def running(directory: Path, with_http: bool = False) -> Iterator[TlsMoto]:
    """Start the wrapper as a child process on free ports; stop it (by its pid) afterwards."""
    port = _free_port()
    http_port = _free_port() if with_http else None
    args = [sys.executable, "-m", "mlayer.demo.moto_tls", "--port", str(port), "--dir", str(directory)]
    if http_port is not None:
        args += ["--http-port", str(http_port)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(port, process)
        if http_port is not None:
            _wait_for(http_port, process)
        yield TlsMoto(f"https://127.0.0.1:{port}", None if http_port is None else f"http://127.0.0.1:{http_port}", directory / "ca.pem")
    finally:
        stop(process)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlayer.demo.moto_tls", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=5000, help="HTTPS port on 127.0.0.1 (default 5000)")
    parser.add_argument("--http-port", type=int, default=None, help="also serve plain http on this port")
    parser.add_argument("--dir", type=Path, default=Path(".moto"), help="where ca.pem and env are written (default .moto)")
    args = parser.parse_args(argv)
    serve(args.port, args.dir.resolve(), args.http_port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
