"""Interrupted builds (issue 10, item 7): SIGINT or SIGTERM during a real `mlayer build deps` stops
every child process and leaves no staging directory; a SIGKILLed build's staging directory is
removed by the next build, but never a running build's."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import DEFAULT_REQUIREMENTS

DEPS_KIND = "deps"  # mlayer.deps.layer.CACHE_KIND


def process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) for every live process, from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            table[int(entry)] = (int(fields[1]), fields[0])
    return table


def descendants(pid: int) -> set[int]:
    table = process_table()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, (parent, _) in table.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    table = process_table()
    return {pid for pid in pids if pid in table and table[pid][1] != "Z"}


def staging_dirs(cache: Path) -> list[Path]:
    root = cache / DEPS_KIND
    return sorted(root.glob(".*.tmp")) if root.is_dir() else []


def start_build(cache: Path, dist: Path, requirements: Path = DEFAULT_REQUIREMENTS) -> subprocess.Popen:
    # Two parallel pip runs whatever this machine's core count: an interrupt must stop both.
    env = {**os.environ, "MLAYER_CACHE_DIR": str(cache), "MLAYER_PIP_JOBS": "2"}
    command = [sys.executable, "-m", "mlayer.cli", "build", "deps", "--requirements", str(requirements), "--dist", str(dist)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for_children_and_staging(build: subprocess.Popen, cache: Path, timeout_s: float = 120) -> set[int]:
    """Block until the build has child processes (pip) running and its staging directory exists."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert build.poll() is None, f"the build ended before it could be interrupted: {build.stderr.read()}"
        children = descendants(build.pid)
        if children and staging_dirs(cache):
            time.sleep(1.0)  # let pip start its own children too
            return descendants(build.pid) | children
        time.sleep(0.1)
    pytest.fail("the build never started a child process with a staging directory")


@pytest.mark.parametrize(("sig", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_build_stops_every_child_and_leaves_no_staging(tmp_path, sig, exit_code):
    cache = tmp_path / "cache"
    build = start_build(cache, tmp_path / "dist")
    children = wait_for_children_and_staging(build, cache)

    build.send_signal(sig)  # a terminal's Ctrl-C reaches mlayer; its children are in their own group
    code = build.wait(timeout=30)
    err = build.stderr.read()

    assert code == exit_code, err
    assert err.strip().splitlines()[-1].startswith("mlayer: "), err
    assert "Traceback" not in err
    deadline = time.monotonic() + 10
    while alive(children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(children), f"still running after the build exited: {alive(children)}"
    assert staging_dirs(cache) == []
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").glob("*.zip"))


def test_a_killed_builds_staging_is_removed_by_the_next_build(tmp_path):
    cache = tmp_path / "cache"
    build = start_build(cache, tmp_path / "dist")
    children = wait_for_children_and_staging(build, cache)
    build.send_signal(signal.SIGKILL)  # nothing can clean up after SIGKILL
    build.wait(timeout=30)
    for pid in alive(children):  # its orphaned pip: stop it as an operator would
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    left = staging_dirs(cache)
    assert len(left) == 1, "SIGKILL leaves the staging directory behind"

    small = tmp_path / "requirements.txt"  # a quick real build: one pure-Python wheel
    small.write_text("threadpoolctl==3.8.0\n")
    after = start_build(cache, tmp_path / "dist2", small)
    code = after.wait(timeout=300)
    err = after.stderr.read()

    assert code == 0, err
    assert f"removed {left[0]}" in err
    assert staging_dirs(cache) == []


def test_a_running_builds_staging_is_never_swept(tmp_path, monkeypatch):
    from mlayer.cache import key_lock_path, sweep_stale_staging

    monkeypatch.setenv("MLAYER_CACHE_DIR", str(tmp_path))
    live = tmp_path / DEPS_KIND / ".livekey.a1b2.tmp"
    dead = tmp_path / DEPS_KIND / ".deadkey.c3d4.tmp"
    for staging in (live, dead):
        staging.mkdir(parents=True)
        (staging / "python").mkdir()
    with open(key_lock_path(DEPS_KIND, "livekey"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # what a running build of that key holds
        removed = sweep_stale_staging(DEPS_KIND)
    assert removed == [dead]
    assert live.is_dir() and not dead.exists()


def compileall_children(pid: int) -> set[int]:
    found = set()
    for child in descendants(pid):
        try:
            if b"compileall" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.add(child)
        except OSError:
            continue
    return found


def test_an_interrupt_while_bytecode_compiles_beside_other_steps_stops_the_compiler(tmp_path):
    """compileall runs in a worker thread beside strip and the ELF check; SIGTERM lands in the main
    thread, yet the compiler's process group must go too, and promptly (not after it finishes)."""
    cache = tmp_path / "cache"
    build = start_build(cache, tmp_path / "dist")
    deadline = time.monotonic() + 300
    while not (compilers := compileall_children(build.pid)):
        assert build.poll() is None, f"the build ended before compiling: {build.stderr.read()}"
        assert time.monotonic() < deadline, "compileall never started"
        time.sleep(0.05)
    children = descendants(build.pid) | compilers
    try:
        for pid in compilers:  # frozen: if mlayer merely waited for the compiler, it would wait forever
            os.kill(pid, signal.SIGSTOP)
        build.send_signal(signal.SIGTERM)
        code = build.wait(timeout=30)
        deadline = time.monotonic() + 10
        while alive(children) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = alive(children)
    finally:
        for pid in alive(children):  # never leave a frozen process behind, whatever happened
            os.kill(pid, signal.SIGKILL)
        build.kill()
    err = build.stderr.read()

    assert code == 143, err
    assert "Traceback" not in err
    assert not survivors, f"still running after the build exited: {survivors}"
    assert staging_dirs(cache) == []
