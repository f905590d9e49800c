"""A process's memory from /proc/<pid>/status: current RSS (VmRSS) and its peak (VmHWM)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Memory:
    rss_kb: int
    hwm_kb: int  # the peak RSS since the process started (the kernel keeps it: nothing is missed)


def read_memory(pid: int) -> Memory | None:
    """None once the process is gone (or is a zombie without a memory map)."""
    rss = hwm = None
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith(b"VmHWM:"):
                    hwm = int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    if rss is None or hwm is None:
        return None
    return Memory(rss, hwm)


def kb_to_mb(kb: int) -> int:
    """Lambda reports whole MB (MiB), rounded up."""
    return -(-kb // 1024)
