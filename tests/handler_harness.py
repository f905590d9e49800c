"""Run the real handler (function/) warm in a target interpreter, and build Kinesis events.

The handler runs in a child `python3.X -I -S` whose sys.path is only: the function dir, the deps
layer's python/ dir, any extra dirs, then the runtime-provided dir (boto3), as on Lambda. The
child imports `lambda_function` once (INIT) and then serves events over a JSON-lines protocol:

    parent -> child (stdin):  {"op": "invoke", "event": {...}, "request_id": "...", "remaining_ms": 60000}
                              {"op": "modules", "names": ["boto3", ...]}   (which are imported?)
    child -> parent (own pipe):   {"type": "ready", "init_ms": ..., "logs": [...]}
                              {"type": "init_error", "error_type": ..., "error": ..., "logs": [...]}
                              {"type": "result", "response": {...}, "logs": [...], "duration_ms": ...}
                              {"type": "error", "error_type": ..., "error": ..., "logs": [...]}

Everything the handler prints (stdout) is captured per call as `logs`; the protocol has its own
pipe, so a stray print can never corrupt it.

    with HandlerProcess(python, FUNCTION_DIR, [deps.python_dir], model_dir, env={...}) as handler:
        result = handler.invoke(kinesis_event([seed_payload("hello")]))
        result.response["batchItemFailures"], result.batch_log, result.emf
"""

from __future__ import annotations

import base64
import json
import os
import select
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FUNCTION_DIR = REPO / "function"
TEST_DATA = Path(__file__).resolve().parent / "data"
DEFAULT_SHARD = "shardId-000000000000"
STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/mlayer-input"
# A realistic Kinesis sequence number (56 digits); test records count up from it.
SEQUENCE_BASE = 49590338271490256608559692538361571095921575989136588898

_DRIVER = r"""
import io, json, os, sys, time, traceback

proto = os.fdopen(PROTO_FD, "w", buffering=1)


def send(message):
    proto.write(json.dumps(message) + "\n")


def capture():
    sys.stdout = io.StringIO()
    return sys.stdout


def lines(buffer):
    return [line for line in buffer.getvalue().splitlines() if line.strip()]


class Context:
    def __init__(self, request_id, remaining_ms):
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "mlayer-test")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + self.function_name
        self._deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


buffer = capture()
started = time.perf_counter()
try:
    import lambda_function
except BaseException as exc:
    send({"type": "init_error", "error_type": type(exc).__name__, "error": str(exc),
          "traceback": traceback.format_exc(), "logs": lines(buffer),
          "imported": sorted(n for n in ("numpy", "scipy", "sklearn", "joblib") if n in sys.modules)})
    sys.exit(1)
send({"type": "ready", "init_ms": (time.perf_counter() - started) * 1000, "logs": lines(buffer)})

for raw in sys.stdin:
    message = json.loads(raw)
    if message["op"] == "modules":
        send({"type": "modules", "loaded": [n for n in message["names"] if n in sys.modules]})
        continue
    buffer = capture()
    context = Context(message["request_id"], message["remaining_ms"])
    started = time.perf_counter()
    try:
        response = lambda_function.lambda_handler(message["event"], context)
        duration = (time.perf_counter() - started) * 1000
        send({"type": "result", "response": response, "duration_ms": duration, "logs": lines(buffer)})
    except Exception as exc:
        duration = (time.perf_counter() - started) * 1000
        send({"type": "error", "error_type": type(exc).__name__, "error": str(exc), "duration_ms": duration,
              "traceback": traceback.format_exc(), "logs": lines(buffer)})
"""


class HandlerInitError(Exception):
    """The handler refused to initialise (as Lambda's INIT phase would fail)."""

    def __init__(
        self, error_type: str, error: str, logs: list[str], stderr: str, returncode: int | None, imported: list[str]
    ) -> None:
        super().__init__(f"{error_type}: {error}")
        self.imported = imported  # which of numpy/scipy/sklearn/joblib INIT had imported before failing
        self.error_type = error_type
        self.error = error
        self.logs = logs
        self.stderr = stderr
        self.returncode = returncode


@dataclass
class Invocation:
    response: dict[str, Any] | None  # None when the handler raised
    error_type: str | None
    error: str | None
    logs: list[str]
    duration_ms: float
    json_logs: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.json_logs = [json.loads(line) for line in self.logs]  # every line must be JSON

    @property
    def batch_log(self) -> dict[str, Any]:
        found = [d for d in self.json_logs if d.get("message") == "batch processed"]
        assert len(found) == 1, f"expected one 'batch processed' log line, got {self.logs}"
        return found[0]

    @property
    def emf(self) -> dict[str, Any]:
        found = [d for d in self.json_logs if "_aws" in d]
        assert len(found) == 1, f"expected one EMF line, got {self.logs}"
        return found[0]

    @property
    def failed_ids(self) -> list[str]:
        assert self.response is not None, f"handler raised {self.error_type}: {self.error}"
        return [item["itemIdentifier"] for item in self.response["batchItemFailures"]]


class HandlerProcess:
    """One warm execution environment: INIT once, then any number of invokes."""

    def __init__(
        self,
        python: Path,
        function_dir: Path,
        layer_dirs: Sequence[Path],
        model_dir: Path,
        *,
        env: dict[str, str] | None = None,
        provided_dir: Path | None = None,
        extra_paths: Sequence[Path] = (),
        function_name: str = "mlayer-test",
        timeout: float = 120.0,
    ) -> None:
        paths = [function_dir, *layer_dirs, *extra_paths] + ([provided_dir] if provided_dir else [])
        self.python = python
        self.paths = [str(p) for p in paths]
        self.env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "AWS_LAMBDA_FUNCTION_NAME": function_name,
            "MODEL_DIR": str(model_dir),
            **(env or {}),
        }
        self.timeout = timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.init_ms: float | None = None
        self.init_logs: list[str] = []
        self.invocations = 0  # completed invokes, so a test can tell which one was the cold one
        self._proto_fd: int | None = None
        self._pending = b""
        self._stderr = tempfile.TemporaryFile()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> HandlerProcess:
        read_fd, write_fd = os.pipe()
        prelude = f"import sys; sys.path[:0] = {self.paths!r}; sys.dont_write_bytecode = True; PROTO_FD = {write_fd}\n"
        try:
            self.proc = subprocess.Popen(
                [str(self.python), "-I", "-S", "-c", prelude + _DRIVER],
                stdin=subprocess.PIPE,
                stdout=self._stderr,  # anything written to the real fd 1 (C code, stray writes)
                stderr=self._stderr,
                env=self.env,
                pass_fds=(write_fd,),
            )
        finally:
            os.close(write_fd)
        self._proto_fd = read_fd
        message = self._receive()
        if message is None or message["type"] == "init_error":
            self.proc.wait(timeout=self.timeout)
            stderr = self.stderr_text()
            self.close()
            if message is None:
                raise HandlerInitError(
                    "ProcessExited", f"handler process died during init: {stderr[-2000:]}", [], stderr, self.proc.returncode, []
                )
            raise HandlerInitError(
                message["error_type"], message["error"], message["logs"], stderr, self.proc.returncode, message["imported"]
            )
        self.init_ms = message["init_ms"]
        self.init_logs = message["logs"]
        return self

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        elif self.proc is not None and self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        if self._proto_fd is not None:
            os.close(self._proto_fd)
            self._proto_fd = None

    def __enter__(self) -> HandlerProcess:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    # -- protocol ----------------------------------------------------------------------------
    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None, "start() the handler first"
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def _receive(self) -> dict[str, Any] | None:
        """The next protocol message; None if the child exited first."""
        assert self._proto_fd is not None
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"handler sent nothing for {self.timeout} s; stderr: {self.stderr_text()[-2000:]}")
            ready, _, _ = select.select([self._proto_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._proto_fd, 1 << 20)
            if not chunk:
                return None
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return json.loads(line)

    def invoke(self, event: Any, *, request_id: str | None = None, remaining_ms: int = 60_000) -> Invocation:
        self._send({"op": "invoke", "event": event, "request_id": request_id or str(uuid.uuid4()), "remaining_ms": remaining_ms})
        message = self._receive()
        if message is None:
            raise RuntimeError(f"handler process died: {self.stderr_text()[-2000:]}")
        self.invocations += 1
        if message["type"] == "result":
            return Invocation(message["response"], None, None, message["logs"], message["duration_ms"])
        return Invocation(None, message["error_type"], message["error"], message["logs"], message["duration_ms"])

    def loaded_modules(self, names: Iterable[str]) -> list[str]:
        """Which of these modules the handler's interpreter has imported so far."""
        self._send({"op": "modules", "names": list(names)})
        message = self._receive()
        assert message is not None and message["type"] == "modules"
        return message["loaded"]


def target_python(deps_build: Any) -> Path:
    """The interpreter the deps layer was built for (its .pyc match it); skip if this machine has none."""
    from mlayer.runtimes import find_interpreter

    python = deps_build.interpreter or find_interpreter(deps_build.runtime.python_version)
    if python is None:
        import pytest

        pytest.skip(f"no Python {deps_build.runtime.python_version} interpreter here (pyenv install it) to run the handler")
    return Path(python)


def handler_for(
    deps_build: Any,
    model_dir: Path,
    env: dict[str, str] | None = None,
    *,
    with_boto3: bool = False,
    extra_paths: Sequence[Path] = (),
    function_name: str = "mlayer-test",
) -> HandlerProcess:
    """A (not yet started) handler on the real deps layer; with_boto3 adds the runtime-provided boto3."""
    provided = None
    if with_boto3:
        from mlayer.runtime.provided import runtime_provided_dir

        provided = runtime_provided_dir(deps_build.runtime)
    return HandlerProcess(
        target_python(deps_build),
        FUNCTION_DIR,
        [deps_build.python_dir],
        model_dir,
        env=env,
        provided_dir=provided,
        extra_paths=extra_paths,
        function_name=function_name,
    )


def aws_child_env(endpoint: str) -> dict[str, str]:
    """Fake credentials and an endpoint for boto3 in the handler's process."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }


# -- events ------------------------------------------------------------------------------------
def sequence_number(index: int) -> str:
    return str(SEQUENCE_BASE + index)


def seed_payload(text: str, field_name: str = "textblob") -> bytes:
    """The seed article's record: a JSON object whose field holds the JSON-encoded text."""
    return json.dumps({field_name: json.dumps(text)}).encode()


def kinesis_record(
    payload: bytes | None,
    sequence: str,
    *,
    partition_key: str = "pk-0",
    shard_id: str = DEFAULT_SHARD,
    raw_data: str | None = None,
) -> dict[str, Any]:
    """One Lambda Kinesis record; raw_data replaces the base64 of payload (to send invalid base64)."""
    data = raw_data if raw_data is not None else base64.b64encode(payload or b"").decode()
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence,
            "data": data,
            "approximateArrivalTimestamp": 1545084650.987,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/mlayer-test",
        "awsRegion": "us-east-1",
        "eventSourceARN": STREAM_ARN,
    }


def kinesis_event(payloads: Sequence[bytes], *, start: int = 0, shard_id: str = DEFAULT_SHARD) -> dict[str, Any]:
    """A batch from one shard, sequence numbers start..start+n-1, partition keys pk-<i>."""
    return {
        "Records": [
            kinesis_record(payload, sequence_number(start + i), partition_key=f"pk-{start + i}", shard_id=shard_id)
            for i, payload in enumerate(payloads)
        ]
    }
