"""The worker process seen from the parent: spawn, framed messages, log capture, kill.

The worker (bootstrap.py) talks on two dedicated pipes; its stdout and stderr are merged into a
third pipe read by a thread, so the handler's prints are log lines and can never corrupt the
protocol. Waiting for a reply polls every `poll_s` and calls `tick()` (the memory watchdog),
so a runaway worker is killed within one poll interval.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
MARKER = "\x1fmlayer:"  # bootstrap.MARKER (bootstrap imports nothing from us, so it is repeated)


@dataclass(frozen=True)
class Reply:
    message: dict[str, Any]


@dataclass(frozen=True)
class TimedOut:
    pass


@dataclass(frozen=True)
class Killed:
    reason: str  # what tick() returned


@dataclass(frozen=True)
class Exited:
    returncode: int | None

    def describe(self) -> str:
        """As Lambda words it: "exit status 1" or "signal: killed"."""
        code = self.returncode
        if code is None:
            return "exit status unknown"
        if code < 0:
            try:
                name = signal.Signals(-code).name.removeprefix("SIG").lower()
            except ValueError:
                name = str(-code)
            return f"signal: {'killed' if name == 'kill' else name}"
        return f"exit status {code}"


Outcome = Reply | TimedOut | Killed | Exited


class LogCollector:
    """Lines from the worker's stdout+stderr, split at the bootstrap's markers."""

    def __init__(self, stream) -> None:
        self._lines: list[str] = []
        self._markers: list[tuple[str, int]] = []  # (marker text, number of lines before it)
        self._eof = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True, name="mlayer-worker-logs")
        self._thread.start()

    def _run(self, stream) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with self._cond:
                at = line.find(MARKER)
                if at < 0:
                    self._lines.append(line)
                else:  # the handler's last output may lack a newline: the marker then ends its line
                    if at:
                        self._lines.append(line[:at])
                    self._markers.append((line[at + len(MARKER):], len(self._lines)))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()
        stream.close()

    def take_until(self, marker: str, timeout_s: float = 2.0) -> list[str]:
        """The lines written before `marker` (and not taken yet); waits briefly for the marker."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not any(text == marker for text, _ in self._markers) and not self._eof:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            for index, (text, count) in enumerate(self._markers):
                if text == marker:
                    taken, self._lines = self._lines[:count], self._lines[count:]
                    self._markers = [(t, c - count) for t, c in self._markers[index + 1:]]
                    return taken
            return self._take_all()

    def drain(self, timeout_s: float = 1.0) -> list[str]:
        """Everything left, after the stream ends (the worker is gone) or timeout_s."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not self._eof:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self._take_all()

    def _take_all(self) -> list[str]:
        taken, self._lines, self._markers = self._lines, [], []
        return taken


class WorkerProcess:
    """One running worker: the process, its protocol pipes and its log collector."""

    def __init__(self, command: Sequence[str], env: dict[str, str], cwd: Path) -> None:
        request_read, self._request_write = os.pipe()
        self._response_read, response_write = os.pipe()
        argv = [*command, str(request_read), str(response_write)]
        try:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(request_read, response_write),
                env=env,
                cwd=cwd,
                start_new_session=True,  # its own process group: a kill takes its children too
            )
        finally:
            os.close(request_read)
            os.close(response_write)
        assert self.process.stdout is not None
        self.logs = LogCollector(self.process.stdout)
        self._buffer = b""
        self._closed = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, message: dict[str, Any]) -> bool:
        """False when the worker is gone (broken pipe)."""
        data = json.dumps(message).encode("utf-8")
        data = len(data).to_bytes(4, "big") + data
        try:
            while data:
                written = os.write(self._request_write, data)
                data = data[written:]
        except (BrokenPipeError, OSError):
            return False
        return True

    def _parse(self) -> dict[str, Any] | None:
        if len(self._buffer) < 4:
            return None
        size = int.from_bytes(self._buffer[:4], "big")
        if len(self._buffer) < 4 + size:
            return None
        body, self._buffer = self._buffer[4:4 + size], self._buffer[4 + size:]
        return json.loads(body.decode("utf-8"))

    def receive(self, deadline: float, tick: Callable[[], str | None], poll_s: float) -> Outcome:
        """Wait for the next message until `deadline` (monotonic), calling tick() every poll."""
        while True:
            message = self._parse()
            if message is not None:
                return Reply(message)
            reason = tick()
            if reason:
                self.kill()
                return Killed(reason)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                return TimedOut()
            ready, _, _ = select.select([self._response_read], [], [], min(poll_s, remaining))
            if ready:
                chunk = os.read(self._response_read, 1 << 20)
                if not chunk:
                    return Exited(self._wait_exit())
                self._buffer += chunk

    def _wait_exit(self, timeout_s: float = 5.0) -> int | None:
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.process.returncode

    def kill(self) -> None:
        """SIGKILL the worker's whole process group and reap it."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def close(self) -> None:
        """Ask the worker to stop, then make sure it has; release the pipes."""
        if self._closed:
            return
        self._closed = True
        if self.alive():
            self.send({"type": "shutdown"})
            try:
                self.process.wait(2)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        for fd in (self._request_write, self._response_read):
            try:
                os.close(fd)
            except OSError:
                pass
