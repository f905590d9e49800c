"""Child processes a build starts, and what an interrupt does to them.

`run` starts a command in its own process group (a new session) and, if the build is interrupted
(SIGINT/KeyboardInterrupt, or SIGTERM turned into `Terminated` by `terminate_on_sigterm`) or
fails in any other way while it runs, kills that whole group: pip and its resolver, compileall
and its -j workers all go with it, none keeps running after mlayer exits. The exception then
unwinds through the build's `finally` blocks, which remove its staging directories.

A new session is what lets mlayer kill the group it started (and nothing else), and keeps a
terminal's Ctrl-C from reaching the children half-way: mlayer alone receives it and stops them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

KILL_GRACE_S = 3.0  # SIGTERM, then this long for the group to exit, then SIGKILL


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every `finally` and cleanup runs (exit status 143)."""

    exit_code = 143


def terminate_on_sigterm() -> None:
    """Make SIGTERM unwind the stack (Python's default dies at once, leaving staging behind)."""

    def handler(signum: int, frame: Any) -> None:
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)


def kill_group(proc: subprocess.Popen) -> None:
    """Stop the process group `proc` leads: SIGTERM, a grace period, then SIGKILL."""
    for sig, wait_s in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, KILL_GRACE_S)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
        try:  # the leader exited; workers of the group may still be finishing
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        break


_running: set[subprocess.Popen] = set()  # groups `run` started that have not ended, from any thread
_running_lock = threading.Lock()


def run(command: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """subprocess.run(command, capture_output=True, text=True, **kwargs) in its own process group,
    killed as a group if this process is interrupted while it runs (`input` goes to its stdin)."""
    timeout = kwargs.pop("timeout", None)
    stdin_text = kwargs.pop("input", None)
    if stdin_text is not None:
        kwargs["stdin"] = subprocess.PIPE
    with subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True, **kwargs) as proc:  # fmt: skip
        with _running_lock:
            _running.add(proc)
        try:
            stdout, stderr = proc.communicate(input=stdin_text, timeout=timeout)
        except BaseException:
            kill_group(proc)
            raise
        finally:
            with _running_lock:
                _running.discard(proc)
        return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def kill_running() -> None:
    """Stop every group `run` started that still runs: those of a worker thread, which an interrupt
    raised in the main thread does not reach (the thread's own `run` then returns a failure)."""
    with _running_lock:
        procs = list(_running)
    for proc in procs:
        kill_group(proc)


def kill_until_done(futures: Sequence[Future[Any]]) -> None:
    """After an interrupt or a failure: stop every group `run` started until these worker threads end
    (a process a thread starts just now is caught on the next round)."""
    while not all(future.done() for future in futures):
        kill_running()
        wait(futures, timeout=1.0)


def run_all(commands: Sequence[Sequence[str]], **kwargs: Any) -> list[subprocess.CompletedProcess[str]]:
    """`run` every command at once (one thread each) and return their results in order.

    An interrupt while they run stops every group at once, not one after the other.
    """
    with ThreadPoolExecutor(max_workers=max(1, len(commands)), thread_name_prefix="run_all") as pool:
        futures = [pool.submit(run, command, **kwargs) for command in commands]
        try:
            wait(futures)  # interruptible, unlike the pool's shutdown
        except BaseException:
            kill_until_done(futures)
            raise
        return [future.result() for future in futures]
