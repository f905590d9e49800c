"""Build progress: a rich spinner on a terminal, nothing when stderr is not a TTY; warnings always."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator

from rich.console import Console


class Progress:
    def __init__(self, enabled: bool | None = None) -> None:
        self.console = Console(stderr=True)
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.warnings: list[str] = []
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, key: str, message: str) -> Iterator[None]:
        """Time a build step (recorded under `key`) and show `message` while it runs."""
        start = time.perf_counter()
        if self.enabled:
            with self.console.status(message):
                yield
            self.console.print(f"[green]✓[/green] {message} ({time.perf_counter() - start:.1f} s)", highlight=False)
        else:
            yield
        self.timings[key] = round(time.perf_counter() - start, 3)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        print(f"mlayer: warning: {message}", file=sys.stderr)
