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
from ..inputs import float_in, input_file, int_in, load_input_json, parse_json_text, plain_text

MAX_EVENT_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit
EVENT_FIX = "pass --event FILE.json holding a Lambda Kinesis event, a JSON object (e.g. tests/data/kinesis-event.json)"


def parse_env(pairs: list[str] | None) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier() or any(not c.isprintable() for c in pair):
            raise MlayerError(f"--env {pair!r} is not KEY=VALUE (a variable name, printable text): write it as --env SINK=none")
        env[key] = value
    return env


def read_event(path: str) -> Any:
    """The event as a JSON object, from a file or stdin ("-"); anything else is one MlayerError."""
    if path != "-":
        return load_input_json(Path(path), "event file", EVENT_FIX, dict, MAX_EVENT_BYTES)
    data = sys.stdin.buffer.read(MAX_EVENT_BYTES + 1)
    if len(data) > MAX_EVENT_BYTES:
        raise MlayerError(f"the event on stdin is over {MAX_EVENT_BYTES:,} bytes, Lambda's payload limit: {EVENT_FIX}")
    try:
        event = parse_json_text(data.decode("utf-8"), "the event on stdin", EVENT_FIX)
    except UnicodeDecodeError:
        raise MlayerError(f"the event on stdin is not UTF-8 text: {EVENT_FIX}") from None
    if not isinstance(event, dict):
        raise MlayerError(f"the event on stdin is not a JSON object: {EVENT_FIX}")
    return event


def add_environment_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `invoke` and `replay` share: which build, and the function's configuration."""
    parser.add_argument("--manifest", type=input_file("manifest", "run `mlayer build all` first, or pass --manifest PATH/manifest.json"), default=Path("dist/manifest.json"), help="the build to run (default: dist/manifest.json)")
    parser.add_argument("--model", type=plain_text("--model", "write it like MyModel/20190104v1"), metavar="NAME/VERSION", help="which model layer (default: the only / first in the manifest)")
    parser.add_argument("--memory", type=int_in(128, 10240), default=1024, metavar="MB", help="memory size, 128-10240 (default 1024, the Terraform module's memory_size default); CPU is throttled in proportion")
    parser.add_argument("--timeout", type=float_in(1, 900), default=30, metavar="SECONDS", help="function timeout, 1-900 (default 30)")
    parser.add_argument("--env", action="append", metavar="KEY=VALUE", help="a function environment variable (repeatable)")
    parser.add_argument("--function-name", type=plain_text("--function-name", "use letters, digits, '-' and '_'", 64), default="mlayer-function", help="AWS_LAMBDA_FUNCTION_NAME (default mlayer-function)")
    parser.add_argument("--no-cpu-throttle", action="store_true", help="run at the host's full CPU instead of memory/1769 vCPU")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("invoke", help="run the function locally on one event", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--event", required=True, metavar="FILE.json", help="the event (a Lambda Kinesis event), or - for stdin")
    add_environment_arguments(parser)
    parser.add_argument("--repeat", type=int_in(1, 100_000), default=1, metavar="N", help="invoke N times in the same (warm) environment")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..runtime.environment import ExecutionEnvironment

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
