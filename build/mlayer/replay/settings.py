"""How the replay gets its execution environments: settings it can extend, or a factory."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from ..runtime.environment import ExecutionEnvironment


@dataclass(frozen=True)
class EnvironmentSettings:
    """ExecutionEnvironment's arguments; the replay adds the sink's SINK_* variables to `environment`."""

    manifest_path: Path
    model_key: str | None = None
    memory_mb: int = 512
    timeout_s: float = 30
    environment: Mapping[str, str] = field(default_factory=dict)
    cpu_throttle: bool = True
    function_name: str = "mlayer-function"
    log_stream: TextIO | None = None

    def with_environment(self, extra: Mapping[str, str]) -> EnvironmentSettings:
        """`extra` first, so a value the caller set explicitly wins."""
        return replace(self, environment={**extra, **self.environment})

    def create(self) -> ExecutionEnvironment:
        return ExecutionEnvironment(
            self.manifest_path,
            self.model_key,
            memory_mb=self.memory_mb,
            timeout_s=self.timeout_s,
            environment=dict(self.environment),
            cpu_throttle=self.cpu_throttle,
            function_name=self.function_name,
            log_stream=self.log_stream,
        )


EnvironmentFactory = Callable[[], ExecutionEnvironment]


def as_factory(env: EnvironmentSettings | EnvironmentFactory, sink_env: Mapping[str, str]) -> EnvironmentFactory:
    if isinstance(env, EnvironmentSettings):
        return env.with_environment(sink_env).create
    if callable(env):
        return env
    raise TypeError(f"env must be EnvironmentSettings or a callable returning an ExecutionEnvironment, not {type(env).__name__}")
