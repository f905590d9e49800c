"""The sandbox the build-time model check runs in: no network, read-only host, private scratch, empty env, limits."""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mlayer.runtime.sandbox import Limits, contained_command, containment

pytestmark = pytest.mark.skipif(not containment().available, reason=f"this host cannot contain code: {containment().reason}")


def run_contained(code: str, tmp_path: Path, limits: Limits = Limits(), env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    command = contained_command([sys.executable, "-I", "-c", code], scratch, limits)
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env if env is not None else {"PATH": "/usr/bin:/bin"})


def test_host_is_read_only_and_scratch_is_private(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    code = f"""
import ast
import os
try:
    open({str(outside)!r}, "w").write("x")
    print("WROTE-OUTSIDE")
except OSError as exc:
    print("refused", exc.errno)
open(os.path.join(os.getcwd(), "inside.txt"), "w").write("x")
print("scratch ok", os.getcwd())
"""
    proc = run_contained(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "refused 30" in proc.stdout  # EROFS, even for root
    assert "scratch ok" in proc.stdout
    assert not outside.exists()
    assert list((tmp_path / "scratch").iterdir()) == []  # the scratch tmpfs vanished with the namespace


def test_no_network_even_to_the_hosts_loopback(tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted: list[object] = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    control = socket.create_connection(("127.0.0.1", port), timeout=5)  # the listener is reachable from the host
    control.close()
    code = f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3)
    print("CONNECTED")
except OSError as exc:
    print("refused", type(exc).__name__)
"""
    proc = run_contained(code, tmp_path)
    server.close()
    assert proc.returncode == 0 and "refused" in proc.stdout and "CONNECTED" not in proc.stdout, proc.stdout + proc.stderr


def test_environment_is_only_what_the_caller_passes(tmp_path: Path) -> None:
    os.environ["MLAYER_TEST_SECRET"] = "s3cr3t"
    try:
        proc = run_contained("import os; print(sorted(os.environ))", tmp_path)
    finally:
        del os.environ["MLAYER_TEST_SECRET"]
    assert "MLAYER_TEST_SECRET" not in proc.stdout and "AWS" not in proc.stdout
    assert set(ast.literal_eval(proc.stdout)) <= {"PATH", "LC_CTYPE"}, proc.stdout  # LC_CTYPE: Python's own C-locale coercion


def test_memory_limit(tmp_path: Path) -> None:
    code = "b = bytearray(3 << 30)\nprint('ALLOCATED')"
    proc = run_contained(code, tmp_path, Limits(memory_bytes=1 << 30))
    assert proc.returncode != 0 and "ALLOCATED" not in proc.stdout and "MemoryError" in proc.stderr


def test_cpu_limit(tmp_path: Path) -> None:
    proc = run_contained("while True:\n    pass", tmp_path, Limits(cpu_seconds=1))
    assert proc.returncode != 0  # killed by SIGXCPU/SIGKILL after one CPU second, well before the 60 s timeout


def test_children_die_with_the_check(tmp_path: Path) -> None:
    """A payload that leaves a process behind: the pid namespace ends it when the check ends."""
    code = "import subprocess\np = subprocess.Popen(['sleep', '317.25'])\nprint(p.pid)"
    proc = run_contained(code, tmp_path)
    assert proc.returncode == 0
    leftovers = subprocess.run(["pgrep", "-f", "^sleep 317.25$"], capture_output=True, text=True).stdout.split()
    assert leftovers == []


def test_host_processes_are_invisible(tmp_path: Path) -> None:
    """Its own /proc: the host's processes (and their environments) cannot be listed or read."""
    code = "import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"
    proc = run_contained(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    pids = ast.literal_eval(proc.stdout)
    assert os.getpid() not in pids and len(pids) <= 5, pids
