"""How the worker is launched: into its CPU cgroup, and with /opt and the task dir read-only.

`chmod a-w` does not stop root. Where the kernel lets us (root, or a user namespace that allows
it), the worker is started in its own mount namespace (`unshare --mount --propagation private`)
in which the layout's directories are bind-mounted onto themselves read-only: a write there
fails with EROFS even for root, as on Lambda. The host's mounts are untouched (the namespace
is private and dies with the worker). Where that is not possible the worker still cannot leave
bytecode behind (`-B`, sys.dont_write_bytecode) and the files are chmod a-w; `readonly_mounts()`
says which applies.

A tiny /bin/sh shim does both steps and then execs the interpreter, so the worker's pid is the
one we started (unshare without --fork and `exec` keep it): the memory monitor and the cgroup
see the real worker from its first instruction. The mounts come first and the cgroup join last:
the mount(8) runs are this emulator's set-up, which Lambda's INIT does not include, so they must
not spend the memory's CPU share (at 256 MB they were ~50 ms of a cold start).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SHELL = "/bin/sh"
# $1: cgroup.procs file or "", $2: how many read-only dirs follow, then the dirs, then the command.
_SHIM = r"""
set -e
unset PWD OLDPWD
procs=$1; count=$2; shift 2
while [ "$count" -gt 0 ]; do
  mount --bind "$1" "$1"
  mount -o remount,bind,ro "$1"
  shift; count=$((count - 1))
done
if [ -n "$procs" ]; then echo $$ > "$procs"; fi
exec "$@"
"""


@dataclass(frozen=True)
class ReadOnlyMounts:
    available: bool
    reason: str  # why not, when unavailable


@lru_cache(maxsize=1)
def readonly_mounts() -> ReadOnlyMounts:
    """Can we give the worker read-only bind mounts in a private mount namespace? (cached)"""
    unshare = shutil.which("unshare")
    mount = shutil.which("mount")
    if not unshare or not mount:
        return ReadOnlyMounts(False, "unshare/mount not found (util-linux)")
    with tempfile.TemporaryDirectory(prefix="mlayer-ro-probe-") as probe:
        command = [unshare, "--mount", "--propagation", "private", SHELL, "-c", _SHIM + "", "probe", "", "1", probe,
                   SHELL, "-c", 'touch "$0/written" 2>/dev/null && exit 3; exit 0', probe]
        return _probe(command, Path(probe, "written"), "a read-only bind mount did not stop writes", "no private mount namespace for the worker")


def _probe(command: list[str], written: Path, leaked: str, unavailable: str, timeout: float = 20) -> ReadOnlyMounts:
    """Run a probe that exits 3 (or leaves `written`) when a write got through, non-zero when the namespaces failed."""
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ReadOnlyMounts(False, f"unshare failed ({exc})")
    if proc.returncode == 3 or written.exists():
        return ReadOnlyMounts(False, leaked)
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        return ReadOnlyMounts(False, f"{unavailable} ({detail})")
    return ReadOnlyMounts(True, "")


def launch_command(argv: Sequence[str], *, cgroup_procs: Path | None, readonly_dirs: Sequence[Path]) -> list[str]:
    """argv wrapped so it starts inside its cgroup and (if any dirs given) a read-only mount namespace."""
    if cgroup_procs is None and not readonly_dirs:
        return list(argv)
    shim = [SHELL, "-c", _SHIM, "mlayer-worker", str(cgroup_procs or ""), str(len(readonly_dirs)), *map(str, readonly_dirs), *argv]
    if not readonly_dirs:
        return shim
    unshare = shutil.which("unshare")
    assert unshare is not None
    return [unshare, "--mount", "--propagation", "private", *shim]


# --- Containment for code mlayer runs but does not trust (the build-time model check) ---------------
# In new mount, network and pid namespaces: every mount is remounted read-only (in this namespace
# only), a size-limited tmpfs is mounted on the scratch dir, and the command runs under prlimit.
# $1: scratch dir, $2: its size in bytes, then the command.
_CONTAIN_SHIM = r"""
set -e
scratch=$1; size=$2; shift 2
awk '{print $5}' /proc/self/mountinfo | while read -r target; do
  mount -o remount,bind,ro "$target" 2>/dev/null || true
done
mount -t tmpfs -o "size=$size,mode=0700" mlayer-scratch "$scratch"
cd "$scratch"
unset PWD OLDPWD
exec "$@"
"""


@dataclass(frozen=True)
class Limits:
    """What contained code may use. Memory is address space (RLIMIT_AS), so it bounds every allocation."""

    memory_bytes: int = 2 << 30
    cpu_seconds: int = 120
    scratch_bytes: int = 64 << 20
    open_files: int = 256
    processes: int = 64


def contained_command(argv: Sequence[str], scratch: Path, limits: Limits = Limits()) -> list[str]:
    """argv run with no network, a read-only view of the host but `scratch` (a fresh tmpfs), and `limits`."""
    unshare, prlimit = shutil.which("unshare"), shutil.which("prlimit")
    assert unshare and prlimit
    user = [] if os.geteuid() == 0 else ["--map-root-user"]
    rlimits = [
        f"--as={limits.memory_bytes}", f"--cpu={limits.cpu_seconds}", f"--fsize={limits.scratch_bytes}",
        f"--nofile={limits.open_files}", f"--nproc={limits.processes}", "--core=0",
    ]  # fmt: skip
    return [
        unshare, *user, "--mount", "--propagation", "private", "--net", "--pid", "--fork", "--kill-child", "--mount-proc",
        SHELL, "-c", _CONTAIN_SHIM, "mlayer-sandbox", str(scratch), str(limits.scratch_bytes),
        prlimit, *rlimits, "--", *argv,
    ]  # fmt: skip


@lru_cache(maxsize=1)
def containment() -> ReadOnlyMounts:
    """Can this host contain code as contained_command says? Probed once: a write outside scratch must fail."""
    if not shutil.which("unshare") or not shutil.which("prlimit") or not shutil.which("mount"):
        return ReadOnlyMounts(False, "unshare, prlimit or mount not found (util-linux)")
    with tempfile.TemporaryDirectory(prefix="mlayer-sandbox-probe-") as probe:
        scratch = Path(probe, "scratch")
        scratch.mkdir()
        script = 'touch "$0/outside" 2>/dev/null && exit 3; touch "$1/inside" || exit 4; exit 0'
        command = contained_command([SHELL, "-c", script, probe, str(scratch)], scratch)
        return _probe(command, Path(probe, "outside"), "a read-only remount did not stop writes", "no private mount/network/pid namespaces here")
