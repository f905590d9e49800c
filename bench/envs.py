"""Execution environments opened exactly as `mlayer replay` opens them, and strict invokes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mlayer.replay import EnvironmentSettings

# The handler's environment for every run: no sink (predictions come back in the response).
HANDLER_ENVIRONMENT = {"SINK": "none"}


class BenchError(RuntimeError):
    """An invocation failed where the bench needs it to succeed."""


def settings(manifest: Path, memory_mb: int, environment: Mapping[str, str] | None = None) -> EnvironmentSettings:
    """The replay's settings (timeout, CPU throttling, isolation) with only the memory (and extra variables) changed."""
    return EnvironmentSettings(Path(manifest), memory_mb=memory_mb, environment={**HANDLER_ENVIRONMENT, **(environment or {})})


@contextlib.contextmanager
def execution_environment(manifest: Path, memory_mb: int, environment: Mapping[str, str] | None = None) -> Iterator[Any]:
    env = settings(manifest, memory_mb, environment).create()
    try:
        yield env
    finally:
        env.close()


def invoke_ok(env: Any, event: dict[str, Any]) -> Any:
    """Invoke; raise BenchError with the tail of the logs if the invocation failed."""
    invocation = env.invoke(event)
    if invocation.error:
        tail = " | ".join(invocation.logs[-6:])[-600:]
        raise BenchError(f"{invocation.error.get('errorType')}: {invocation.error.get('errorMessage')} [{tail}]")
    return invocation
