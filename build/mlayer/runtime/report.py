"""What one invocation cost: Lambda's REPORT line, and the Invocation result that carries it.

Billing follows Lambda today: 1 ms granularity (rounded up), and since 2025-08-01 the INIT
phase of zip functions on managed runtimes is billed too, so a cold invocation's billed
duration is ceil(init + duration) (the REPORT line's "Billed Duration" includes it).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("success", "error", "timeout", "oom", "crash", "init_error")
# Statuses after which the execution environment is gone (the next invoke is a cold start).
ENVIRONMENT_LOST = ("timeout", "oom", "crash", "init_error")


def billed_ms(duration_ms: float, init_ms: float | None = None) -> int:
    return math.ceil(round(duration_ms + (init_ms or 0.0), 6))


@dataclass(frozen=True)
class Report:
    request_id: str
    duration_ms: float
    billed_ms: int  # includes the INIT phase on a cold start (billed since 2025-08-01)
    memory_size_mb: int
    max_memory_used_mb: int  # as Lambda shows it: the memory size when the function ran out
    init_ms: float | None  # only on a cold start
    status: str  # one of STATUSES
    error_type: str | None = None
    peak_rss_mb: int = 0  # what we measured (VmHWM); can exceed the limit by what one poll let through
    cpu_throttled: bool = False
    cpu_vcpus: float | None = None  # the quota applied, in vCPUs

    @property
    def line(self) -> str:
        parts = [
            f"REPORT RequestId: {self.request_id}",
            f"Duration: {self.duration_ms:.2f} ms",
            f"Billed Duration: {self.billed_ms} ms",
            f"Memory Size: {self.memory_size_mb} MB",
            f"Max Memory Used: {self.max_memory_used_mb} MB",
        ]
        if self.init_ms is not None:
            parts.append(f"Init Duration: {self.init_ms:.2f} ms")
        if self.status not in ("success", "error"):  # Lambda adds Status only when the runtime failed
            parts.append(f"Status: {self.status}")
            if self.error_type:
                parts.append(f"Error Type: {self.error_type}")
        return "\t".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Invocation:
    """One invoke's outcome: the response (or Lambda's error payload), its log lines and REPORT."""

    request_id: str
    response: Any  # the handler's return value (parsed JSON); None on error
    error: dict[str, Any] | None  # {"errorMessage", "errorType", ...} as Lambda returns it
    report: Report
    logs: list[str] = field(default_factory=list)  # START, the handler's lines, END, REPORT

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def status(self) -> str:
        return self.report.status

    def to_dict(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "response": self.response, "error": self.error, "report": self.report.to_dict(), "logs": self.logs}
