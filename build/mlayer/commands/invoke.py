"""`mlayer invoke`: run the built function once (or --repeat times, warm) on an event, like `sam local invoke`.

stdout: the handler's response JSON (or Lambda's error payload); stderr: the function's log
lines, START/END and the REPORT line. Exit status 1 on a function error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import MlayerError


def parse_env(pairs: list[str] | None) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise MlayerError(f"--env {pair!r} is not KEY=VALUE: write it as --env SINK=none")
        env[key] = value
    return env


def read_event(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except FileNotFoundError:
        raise MlayerError(f"event file {path} does not exist: pass --event FILE.json (e.g. tests/data/kinesis-event.json)") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MlayerError(f"event file {path} is not valid JSON ({exc.msg} at line {exc.lineno}): fix the event") from None


def add_environment_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `invoke` and `replay` share: which build, and the function's configuration."""
    parser.add_argument("--manifest", type=Path, default=Path("dist/manifest.json"), help="the build to run (default: dist/manifest.json)")
    parser.add_argument("--model", metavar="NAME/VERSION", help="which model layer (default: the only / first in the manifest)")
    parser.add_argument("--memory", type=int, default=1024, metavar="MB", help="memory size, 128-10240 (default 1024, the Terraform module's memory_size default); CPU is throttled in proportion")
    parser.add_argument("--timeout", type=float, default=30, metavar="SECONDS", help="function timeout, 1-900 (default 30)")
    parser.add_argument("--env", action="append", metavar="KEY=VALUE", help="a function environment variable (repeatable)")
    parser.add_argument("--function-name", default="mlayer-function", help="AWS_LAMBDA_FUNCTION_NAME (default mlayer-function)")
    parser.add_argument("--no-cpu-throttle", action="store_true", help="run at the host's full CPU instead of memory/1769 vCPU")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("invoke", help="run the function locally on one event", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--event", required=True, metavar="FILE.json", help="the event (a Lambda Kinesis event), or - for stdin")
    add_environment_arguments(parser)
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="invoke N times in the same (warm) environment")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..runtime.environment import ExecutionEnvironment

    if args.repeat < 1:
        raise MlayerError(f"--repeat {args.repeat}: pass 1 or more")
    event = read_event(args.event)
    environment = parse_env(args.env)
    failed = False
    with ExecutionEnvironment(
        args.manifest, args.model, memory_mb=args.memory, timeout_s=args.timeout, environment=environment,
        cpu_throttle=not args.no_cpu_throttle, function_name=args.function_name, log_stream=sys.stderr,
    ) as env:
        for _ in range(args.repeat):
            invocation = env.invoke(event)
            print(json.dumps(invocation.response if invocation.ok else invocation.error), flush=True)
            failed = failed or not invocation.ok
    return 1 if failed else 0
