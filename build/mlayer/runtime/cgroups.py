"""CPU throttling proportional to memory, as Lambda does (1,769 MB = 1 vCPU), through a cgroup.

Lambda gives a function CPU in proportion to its memory: 1,769 MB is one full vCPU, 512 MB is
0.29 of one. Locally the worker is put in its own cgroup with a CFS quota of
`period * memory_mb / 1769`:

- cgroup v2 (`cpu.max`) when the unified hierarchy has the cpu controller and we may enable it
  for a child of our cgroup;
- else cgroup v1 (`cpu.cfs_quota_us` / `cpu.cfs_period_us`) in the cpu hierarchy, under the
  cgroup this process is in;
- else nothing: `probe_cpu_control().reason` says why, the environment warns once, and every
  result carries `cpu_throttled: false`.

On a hybrid host (v1 controllers + an empty v2 tree, as on these machines) the v1 path is used.
We only create, configure and remove our own child cgroups (`mlayer-<pid>-<n>`); empty ones
left by a process that died are removed the next time (rmdir only succeeds on an empty cgroup).
Memory is NOT limited through a cgroup (see `environment.py`): the memory hierarchy here
belongs to whatever started us, and moving the worker out of it would escape its limit.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

LAMBDA_MB_PER_VCPU = 1769
PERIOD_US = 100_000
MIN_QUOTA_US = 1_000  # the kernel's floor for a CFS quota
_PREFIX = "mlayer-"
_counter = itertools.count()


def vcpus_for(memory_mb: int) -> float:
    return memory_mb / LAMBDA_MB_PER_VCPU


def quota_us_for(memory_mb: int, period_us: int = PERIOD_US) -> int:
    return max(MIN_QUOTA_US, round(period_us * vcpus_for(memory_mb)))


@dataclass(frozen=True)
class CpuControl:
    """What this host lets us do: mode "cgroup2", "cgroup1" or None (with the reason)."""

    mode: str | None
    parent: Path | None
    reason: str = ""


@dataclass(frozen=True)
class _Mount:
    root: str
    mountpoint: Path
    fstype: str
    super_options: tuple[str, ...]


def _mounts(mountinfo: str) -> list[_Mount]:
    mounts = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        mounts.append(_Mount(fields[3], Path(fields[4]), tail[0], tuple(tail[2].split(","))))
    return mounts


def _own_cgroups(proc_cgroup: str) -> dict[str, str]:
    """controller (or "" for the unified tree) -> this process's cgroup path."""
    found: dict[str, str] = {}
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        controllers = parts[1].split(",") if parts[1] else [""]
        for controller in controllers:
            found[controller] = parts[2]
    return found


def _join(mount: _Mount, cgroup_path: str) -> Path:
    relative = os.path.relpath(cgroup_path, mount.root) if mount.root != "/" else cgroup_path.lstrip("/")
    return mount.mountpoint / ("" if relative == "." else relative)


def _try_child(parent: Path, configure) -> str:
    """Create a probe child under parent and configure it; '' on success, else the reason."""
    probe = parent / f"{_PREFIX}probe-{os.getpid()}"
    try:
        probe.mkdir(exist_ok=True)
    except OSError as exc:
        return f"cannot create a cgroup under {parent} ({exc.strerror})"
    try:
        configure(probe)
        return ""
    except OSError as exc:
        return f"cannot set a CPU quota in {probe} ({exc.strerror})"
    finally:
        try:
            probe.rmdir()
        except OSError:
            pass


def _probe_v2(mounts: list[_Mount], own: dict[str, str]) -> CpuControl | str:
    mount = next((m for m in mounts if m.fstype == "cgroup2"), None)
    if mount is None or "" not in own:
        return "no cgroup v2 hierarchy"
    parent = _join(mount, own[""])
    try:
        controllers = (parent / "cgroup.controllers").read_text().split()
    except OSError:
        return f"cannot read {parent}/cgroup.controllers"
    if "cpu" not in controllers:
        return f"the cgroup v2 tree at {mount.mountpoint} has no cpu controller (hybrid host: cpu is bound to v1)"
    try:
        if "cpu" not in (parent / "cgroup.subtree_control").read_text().split():
            (parent / "cgroup.subtree_control").write_text("+cpu")
    except OSError as exc:
        return f"cannot enable the cpu controller for children of {parent} ({exc.strerror})"
    reason = _try_child(parent, lambda child: (child / "cpu.max").write_text(f"{MIN_QUOTA_US * 10} {PERIOD_US}"))
    return CpuControl("cgroup2", parent) if not reason else reason


def _probe_v1(mounts: list[_Mount], own: dict[str, str]) -> CpuControl | str:
    mount = next((m for m in mounts if m.fstype == "cgroup" and "cpu" in m.super_options), None)
    if mount is None or "cpu" not in own:
        return "no cgroup v1 cpu hierarchy"
    parent = _join(mount, own["cpu"])
    reason = _try_child(parent, lambda child: (child / "cpu.cfs_quota_us").write_text(str(MIN_QUOTA_US * 10)))
    return CpuControl("cgroup1", parent) if not reason else reason


@lru_cache(maxsize=1)
def probe_cpu_control() -> CpuControl:
    """Find a way to give a child process a CPU quota on this host (cached per process)."""
    try:
        mounts = _mounts(Path("/proc/self/mountinfo").read_text())
        own = _own_cgroups(Path("/proc/self/cgroup").read_text())
    except OSError as exc:
        return CpuControl(None, None, f"cannot read /proc/self ({exc.strerror})")
    reasons = []
    for probe in (_probe_v2, _probe_v1):
        outcome = probe(mounts, own)
        if isinstance(outcome, CpuControl):
            _remove_stale(outcome.parent)
            return outcome
        reasons.append(outcome)
    return CpuControl(None, None, "; ".join(reasons))


def _pid_alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def _remove_stale(parent: Path | None) -> None:
    """rmdir our cgroups whose creating process is gone (only empty ones can go)."""
    if parent is None:
        return
    try:
        children = list(parent.glob(f"{_PREFIX}*"))
    except OSError:
        return
    for child in children:
        owner = child.name[len(_PREFIX):].split("-", 1)[0]
        if owner.isdigit() and not _pid_alive(int(owner)):
            try:
                child.rmdir()
            except OSError:
                pass


@dataclass
class CpuCgroup:
    """One worker's cgroup with its CPU quota."""

    path: Path
    mode: str
    quota_us: int
    period_us: int = PERIOD_US
    _removed: bool = field(default=False, repr=False)

    @property
    def procs_file(self) -> Path:
        return self.path / "cgroup.procs"

    @property
    def vcpus(self) -> float:
        return self.quota_us / self.period_us

    def stats(self) -> dict[str, float]:
        """nr_periods, nr_throttled and throttled time (ms) so far."""
        values: dict[str, float] = {}
        try:
            for line in (self.path / "cpu.stat").read_text().splitlines():
                key, _, value = line.partition(" ")
                values[key] = float(value)
        except OSError:
            return {}
        throttled_ms = values.get("throttled_time", 0.0) / 1e6 if self.mode == "cgroup1" else values.get("throttled_usec", 0.0) / 1e3
        return {"nr_periods": values.get("nr_periods", 0.0), "nr_throttled": values.get("nr_throttled", 0.0), "throttled_ms": throttled_ms}

    def remove(self, wait_s: float = 2.0) -> None:
        """rmdir once the worker (and anything it forked) has left; retried briefly."""
        if self._removed:
            return
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.path.rmdir()
                self._removed = True
                return
            except FileNotFoundError:
                self._removed = True
                return
            except OSError:
                if time.monotonic() >= deadline:
                    return  # left for _remove_stale once this process is gone
                time.sleep(0.02)


def create_cpu_cgroup(control: CpuControl, memory_mb: int) -> CpuCgroup:
    """A fresh child cgroup with the quota for memory_mb; raises OSError when the host refuses."""
    assert control.mode is not None and control.parent is not None
    path = control.parent / f"{_PREFIX}{os.getpid()}-{next(_counter)}"
    path.mkdir()
    quota = quota_us_for(memory_mb)
    try:
        if control.mode == "cgroup2":
            (path / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        else:
            (path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (path / "cpu.cfs_quota_us").write_text(str(quota))
    except OSError:
        path.rmdir()
        raise
    return CpuCgroup(path, control.mode, quota)
