"""One local Lambda execution environment: a warm worker process, its limits, its REPORT lines.

Lifecycle, as on Lambda:
- the first invoke is a cold start: the worker starts, imports the handler module (the INIT
  phase, timed from process start to "handler imported") and the REPORT shows Init Duration;
- later invokes reuse the same process (same pid, module globals kept, no Init Duration);
- after a timeout, an out-of-memory kill, a crash or an INIT failure the process is gone and
  the next invoke cold-starts a fresh one.

Limits:
- timeout: the parent kills the worker's process group at the deadline ("Task timed out after
  X seconds"); get_remaining_time_in_millis() counts down to the same deadline.
- memory: Lambda's cgroup OOM-kills the sandbox. Here the parent polls the worker's VmRSS every
  `poll_s` (10 ms) and SIGKILLs it past memory_mb; because a fast allocation can overshoot
  between two polls, the kernel's own peak (VmHWM) is also checked after every invocation and a
  peak over the limit is an OOM too (the response is discarded, as Lambda would never have
  produced it). RLIMIT_AS is not used: numpy/OpenBLAS reserve far more virtual memory than they
  touch, so an address-space limit fails imports long before RSS reaches memory_mb. The memory
  cgroup is not used either: this process's memory cgroup belongs to whatever started us.
  Max Memory Used is the environment's peak RSS (VmHWM, INIT included, as Lambda's is).
- CPU: see cgroups.py (quota = memory_mb / 1769 vCPU) and `cpu_throttled` on every report.
- read-only /opt and task dir, no bytecode writes: see layout.py and sandbox.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from ..errors import MlayerError
from ..runtimes import host_can_run, machine_for, require_interpreter
from . import cgroups, sandbox
from .lambda_env import FunctionConfig, default_region, lambda_environment, new_log_stream_name, worker_sys_path, DEFAULT_FUNCTION_NAME
from .layout import Layout, prepare_layout
from .procfs import Memory, kb_to_mb, read_memory
from .report import ENVIRONMENT_LOST, Invocation, Report, billed_ms
from .worker import BOOTSTRAP, Exited, Killed, Reply, TimedOut, WorkerProcess

INIT_LIMIT_S = 10.0  # Lambda's INIT phase limit; past it Lambda re-runs INIT inside the invoke
PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024  # synchronous invoke request and response
MEMORY_RANGE_MB = (128, 10_240)
TIMEOUT_RANGE_S = (1, 900)
_OOM = "oom"
_warned: set[str] = set()


def _warn_once(message: str, stream: TextIO | None) -> None:
    if message not in _warned:
        _warned.add(message)
        print(f"mlayer: warning: {message}", file=stream or sys.stderr)


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ExecutionEnvironment:
    """A warm, limited local stand-in for one Lambda execution environment of a built manifest."""

    def __init__(
        self,
        manifest_path: Path,
        model_key: str | None = None,
        memory_mb: int = 512,
        timeout_s: float = 30,
        environment: Mapping[str, str] | None = None,
        cpu_throttle: bool = True,
        *,
        architecture: str | None = None,
        function_name: str = DEFAULT_FUNCTION_NAME,
        region: str | None = None,
        log_stream: TextIO | None = None,
        readonly_mounts: bool | None = None,
        poll_s: float = 0.01,
        layout: Layout | None = None,
        runtime_dir: Path | None = None,
    ) -> None:
        if not (MEMORY_RANGE_MB[0] <= memory_mb <= MEMORY_RANGE_MB[1]) or int(memory_mb) != memory_mb:
            raise MlayerError(f"memory {memory_mb} MB is outside Lambda's range: use a whole number from {MEMORY_RANGE_MB[0]} to {MEMORY_RANGE_MB[1]}")
        if not (TIMEOUT_RANGE_S[0] <= timeout_s <= TIMEOUT_RANGE_S[1]):
            raise MlayerError(f"timeout {timeout_s} s is outside Lambda's range: use {TIMEOUT_RANGE_S[0]} to {TIMEOUT_RANGE_S[1]} seconds")
        self.layout = layout or prepare_layout(Path(manifest_path), model_key)
        if model_key is None and len(self.layout.models_available) > 1:
            _warn_once(f"{manifest_path} has {len(self.layout.models_available)} models; running {self.layout.model_key} (choose with --model NAME/VERSION)", log_stream)
        self.architecture = architecture or self.layout.architecture
        if not host_can_run(self.architecture):
            raise MlayerError(
                f"the function is built for {self.architecture} but this machine is {os.uname().machine}: "
                f"run it on a {machine_for(self.architecture)} host, or build with --architecture {os.uname().machine.replace('aarch64', 'arm64')}"
            )
        self.memory_mb = int(memory_mb)
        self.timeout_s = float(timeout_s)
        self.poll_s = poll_s
        self.log_stream = log_stream
        self.interpreter = require_interpreter(self.layout.runtime.python_version, f"run {self.layout.runtime.name} functions locally")
        if runtime_dir is None:
            from .provided import runtime_provided_dir

            runtime_dir = runtime_provided_dir(self.layout.runtime)
        self.runtime_dir = Path(runtime_dir)
        self.function = FunctionConfig(
            name=function_name,
            memory_mb=self.memory_mb,
            timeout_s=self.timeout_s,
            region=region or default_region(os.environ),
            log_stream_name=new_log_stream_name(),
        )
        self.env = lambda_environment(self.layout, self.runtime_dir, self.interpreter, self.function, dict(environment or {}))
        self.sys_path = worker_sys_path(self.layout, self.runtime_dir)
        self.cpu_control = cgroups.probe_cpu_control() if cpu_throttle else cgroups.CpuControl(None, None, "disabled (cpu_throttle=False)")
        if cpu_throttle and self.cpu_control.mode is None:
            _warn_once(f"CPU is not throttled to {self.memory_mb} MB's share ({self.cpu_control.reason}): durations are faster than on Lambda", log_stream)
        ro = sandbox.readonly_mounts()
        self.readonly_mounts = ro.available if readonly_mounts is None else (readonly_mounts and ro.available)
        if readonly_mounts and not ro.available:
            _warn_once(f"/opt and the task dir are only chmod a-w, which root ignores ({ro.reason})", log_stream)
        self._worker: WorkerProcess | None = None
        self._cgroup: cgroups.CpuCgroup | None = None
        self._peak: Memory | None = None
        self.invocations = 0
        self.cold_starts = 0

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._worker.pid if self._worker and self._worker.alive() else None

    @property
    def warm(self) -> bool:
        return self.pid is not None

    @property
    def cpu_throttled(self) -> bool:
        return self.cpu_control.mode is not None

    @property
    def cpu_vcpus(self) -> float | None:
        return cgroups.quota_us_for(self.memory_mb) / cgroups.PERIOD_US if self.cpu_throttled else None

    def cpu_stats(self) -> dict[str, float]:
        """The current worker's cgroup counters (nr_throttled, throttled_ms); {} without a cgroup."""
        return self._cgroup.stats() if self._cgroup else {}

    def __enter__(self) -> ExecutionEnvironment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker (if any) and remove its cgroup."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None
        self._peak = None

    def _discard(self) -> None:
        self.close()

    # -- worker start (INIT) -----------------------------------------------------------------

    def _spawn(self) -> WorkerProcess:
        if self.cpu_throttled:
            try:
                self._cgroup = cgroups.create_cpu_cgroup(self.cpu_control, self.memory_mb)
            except OSError as exc:
                raise MlayerError(f"cannot create the worker's CPU cgroup under {self.cpu_control.parent} ({exc.strerror}): pass cpu_throttle=False / --no-cpu-throttle") from None
        argv = [str(self.interpreter), "-I", "-S", "-B", "-u", str(BOOTSTRAP)]
        readonly = [self.layout.opt_dir, self.layout.task_dir, self.runtime_dir] if self.readonly_mounts else []
        command = sandbox.launch_command(argv, cgroup_procs=self._cgroup.procs_file if self._cgroup else None, readonly_dirs=readonly)
        return WorkerProcess(command, self.env, self.layout.task_dir)

    def _memory_tick(self, worker: WorkerProcess):
        limit_kb = self.memory_mb * 1024

        def tick() -> str | None:
            memory = read_memory(worker.pid)
            if memory is None:
                return None
            self._peak = memory
            return _OOM if memory.rss_kb > limit_kb else None

        return tick

    def _start(self) -> tuple[float, list[str], dict[str, Any] | None, str | None]:
        """Start a worker and run INIT: (init_ms, init log lines, error payload, failure status)."""
        self.cold_starts += 1
        self._peak = None
        started = time.monotonic()
        worker = self._spawn()
        self._worker = worker
        ok = worker.send({"type": "configure", "sys_path": self.sys_path, "handler": self.layout.handler, "function": self.function.context_fields()})
        # INIT may overrun Lambda's 10 s; Lambda then re-runs it inside the invoke, bounded by the timeout.
        outcome = worker.receive(started + INIT_LIMIT_S + self.timeout_s, self._memory_tick(worker), self.poll_s) if ok else Exited(worker.process.poll())
        init_ms = (time.monotonic() - started) * 1000.0
        if isinstance(outcome, Reply) and outcome.message.get("type") == "ready":
            logs = worker.logs.take_until("init")
            if init_ms > INIT_LIMIT_S * 1000:
                logs.append(f"mlayer: INIT took {init_ms / 1000:.1f} s, over Lambda's {INIT_LIMIT_S:.0f} s: Lambda would re-run it inside the first invoke (counted against the timeout)")
            return init_ms, logs, None, None
        if isinstance(outcome, Reply):  # init_error
            logs = worker.logs.take_until("init")
            return init_ms, logs, outcome.message["error"], "init_error"
        return init_ms, worker.logs.drain(), *self._runtime_failure(outcome, None, phase="INIT")

    def _runtime_failure(self, outcome, request_id: str | None, phase: str) -> tuple[dict[str, Any], str]:
        prefix = f"RequestId: {request_id} " if request_id else ""
        if isinstance(outcome, TimedOut):
            seconds = self.timeout_s if phase == "INVOKE" else INIT_LIMIT_S + self.timeout_s
            return {"errorType": "Sandbox.Timedout", "errorMessage": f"{prefix}Error: Task timed out after {seconds:.2f} seconds"}, "timeout"
        if isinstance(outcome, Killed):
            return {"errorType": "Runtime.OutOfMemory", "errorMessage": f"{prefix}Error: Runtime exited with error: signal: killed"}, "oom"
        assert isinstance(outcome, Exited)
        return {"errorType": "Runtime.ExitError", "errorMessage": f"{prefix}Error: Runtime exited with error: {outcome.describe()}"}, "crash"

    # -- invoke ------------------------------------------------------------------------------

    def invoke(self, event: Any) -> Invocation:
        """Run the handler on one event; never raises for a function failure (see Invocation.error)."""
        event_text = json.dumps(event)
        if len(event_text.encode("utf-8")) > PAYLOAD_LIMIT_BYTES:
            raise MlayerError(
                f"the event is {len(event_text.encode()):,} bytes, over Lambda's {PAYLOAD_LIMIT_BYTES:,}-byte invoke payload limit: "
                "send fewer or smaller records per batch"
            )
        request_id = str(uuid.uuid4())
        self.invocations += 1
        logs: list[str] = []
        init_ms: float | None = None
        if not self.warm:
            self.close()
            init_ms, init_logs, error, status = self._start()
            logs.extend(init_logs)
            if error is not None:
                return self._finish(request_id, None, error, status, 0.0, init_ms, logs, lost=True)
        worker = self._worker
        assert worker is not None
        logs.append(f"START RequestId: {request_id} Version: {self.function.version}")
        sent_at = time.monotonic()
        deadline_ms = time.time() * 1000 + self.timeout_s * 1000
        ok = worker.send({"type": "invoke", "request_id": request_id, "deadline_ms": deadline_ms, "event": event_text})
        outcome = worker.receive(sent_at + self.timeout_s, self._memory_tick(worker), self.poll_s) if ok else Exited(worker.process.poll())
        elapsed_ms = (time.monotonic() - sent_at) * 1000.0
        if isinstance(outcome, Reply):
            logs.extend(worker.logs.take_until(f"end {request_id}"))
            return self._reply(request_id, outcome.message, init_ms, logs)
        logs.extend(worker.logs.drain())
        error, status = self._runtime_failure(outcome, request_id, "INVOKE")
        if status == "timeout":
            logs.append(f"{_now_iso()} {request_id} Task timed out after {self.timeout_s:.2f} seconds")
            elapsed_ms = self.timeout_s * 1000.0
        else:
            logs.append(f"{error['errorMessage'].removeprefix(f'RequestId: {request_id} ')}")
            logs.append(error["errorType"])
        return self._finish(request_id, None, error, status, elapsed_ms, init_ms, logs, lost=True)

    def _reply(self, request_id: str, message: dict[str, Any], init_ms: float | None, logs: list[str]) -> Invocation:
        duration_ms = float(message.get("duration_ms", 0.0))
        assert self._worker is not None
        peak = read_memory(self._worker.pid) or self._peak
        self._peak = peak
        if peak is not None and peak.hwm_kb > self.memory_mb * 1024:
            # The kernel's peak says the limit was crossed between two polls: Lambda would have
            # killed the sandbox, so the reply is discarded.
            self._worker.kill()
            error, status = self._runtime_failure(Killed(_OOM), request_id, "INVOKE")
            logs.append(error["errorMessage"].removeprefix(f"RequestId: {request_id} "))
            return self._finish(request_id, None, error, status, duration_ms, init_ms, logs, lost=True)
        if message["type"] == "error":
            return self._finish(request_id, None, message["error"], "error", duration_ms, init_ms, logs)
        response_text = message["response"]
        if len(response_text.encode("utf-8")) > PAYLOAD_LIMIT_BYTES:
            error = {
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": f"Response payload size ({len(response_text.encode()):,} bytes) exceeded maximum allowed payload size ({PAYLOAD_LIMIT_BYTES:,} bytes).",
            }
            return self._finish(request_id, None, error, "error", duration_ms, init_ms, logs)
        return self._finish(request_id, json.loads(response_text), None, "success", duration_ms, init_ms, logs)

    def _finish(
        self,
        request_id: str,
        response: Any,
        error: dict[str, Any] | None,
        status: str,
        duration_ms: float,
        init_ms: float | None,
        logs: list[str],
        lost: bool = False,
    ) -> Invocation:
        peak_mb = kb_to_mb(self._peak.hwm_kb) if self._peak else 0
        shown_mb = self.memory_mb if status == "oom" else min(peak_mb, self.memory_mb)
        report = Report(
            request_id=request_id,
            duration_ms=round(duration_ms, 2),
            billed_ms=billed_ms(round(duration_ms, 2), round(init_ms, 2) if init_ms is not None else None),
            memory_size_mb=self.memory_mb,
            max_memory_used_mb=shown_mb,
            init_ms=round(init_ms, 2) if init_ms is not None else None,
            status=status,
            error_type=error.get("errorType") if error and status != "success" else None,
            peak_rss_mb=peak_mb,
            cpu_throttled=self.cpu_throttled,
            cpu_vcpus=self.cpu_vcpus,
        )
        if lost or status in ENVIRONMENT_LOST:
            self._discard()
        logs = [*logs, f"END RequestId: {request_id}", report.line]
        if self.log_stream is not None:
            for line in logs:
                print(line, file=self.log_stream)
            self.log_stream.flush()
        return Invocation(request_id, response, error, report, logs)
