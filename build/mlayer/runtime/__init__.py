"""A local stand-in for Lambda: /opt and task-dir layout, a warm worker process, REPORT lines.

    from mlayer.runtime import ExecutionEnvironment
    with ExecutionEnvironment(Path("dist/manifest.json"), memory_mb=512) as env:
        invocation = env.invoke(event)      # .response / .error, .logs, .report (REPORT line: .report.line)
"""

from .environment import ExecutionEnvironment
from .layout import Layout, prepare_layout
from .report import Invocation, Report

__all__ = ["ExecutionEnvironment", "Invocation", "Layout", "Report", "prepare_layout"]
