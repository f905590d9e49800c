"""Why a number is what it is: -X importtime of INIT and cProfile of a warm invocation.

Runs the real handler from the manifest's layout with the worker's exact environment and
sys.path (taken from the runtime's own ExecutionEnvironment), in the target interpreter, but
in-process and unthrottled, so the profile shows where the time goes rather than how long it
takes under a quota. Standard library only (cProfile, -X importtime).

    python -m bench.profile --manifest dist/manifest.json [--batch 100]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .envs import settings
from .records import ingest, kinesis_event

_SCRIPT = r"""
import sys, json, time, cProfile, pstats, io, contextlib, os
sys.path[:0] = json.loads(sys.argv[1])
event_text = open(sys.argv[2]).read()
rounds = int(sys.argv[3])
started = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    import lambda_function as handler_module
init_ms = (time.perf_counter() - started) * 1000.0
def once():
    json.dumps(handler_module.lambda_handler(json.loads(event_text), None))
profile = cProfile.Profile()
with contextlib.redirect_stdout(io.StringIO()):
    for _ in range(20):
        once()
    profile.enable()
    for _ in range(rounds):
        once()
    profile.disable()
out = io.StringIO()
stats = pstats.Stats(profile, stream=out)
stats.sort_stats("tottime").print_stats(20)
print(json.dumps({"init_ms": init_ms, "modules": len(sys.modules), "cprofile": out.getvalue()}))
"""


def _importtime_top(stderr: str, top: int) -> list[dict[str, Any]]:
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|", 2)
        rows.append({"module": name.strip(), "self_ms": int(self_us) / 1000.0, "cumulative_ms": int(cumulative_us) / 1000.0, "depth": (len(name) - len(name.lstrip()) - 1) // 2})
    rows.sort(key=lambda r: -r["cumulative_ms"])
    return rows[:top]


def profile_handler(manifest: Path, batch_size: int = 100, rounds: int = 200, top: int = 25) -> dict[str, Any]:
    env = settings(manifest, 1769).create()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
            event_file = Path(tmp) / "event.json"
            event_file.write_text(json.dumps(kinesis_event(ingest(batch_size))))
            script = Path(tmp) / "profile_handler.py"
            script.write_text(_SCRIPT)
            base = [str(env.interpreter), "-I", "-S", "-B"]
            args = [str(script), json.dumps(env.sys_path), str(event_file), str(rounds)]
            timed = subprocess.run([*base, "-X", "importtime", *args], capture_output=True, text=True, env=env.env, timeout=600)
            if timed.returncode != 0:
                raise RuntimeError(f"profiling the handler failed: {(timed.stderr.strip().splitlines() or ['?'])[-1]}")
            result = json.loads(timed.stdout.strip().splitlines()[-1])
            cprofile = result["cprofile"].replace(str(env.layout.opt_dir), "/opt").replace(str(env.layout.task_dir), "/var/task")
            return {
                "batch_size": batch_size,
                "rounds": rounds,
                "init_ms_with_importtime": result["init_ms"],
                "modules_imported": result["modules"],
                "importtime_top": _importtime_top(timed.stderr, top),
                "cprofile_top": cprofile,
            }
    finally:
        env.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args(argv)
    result = profile_handler(args.manifest, args.batch, args.rounds)
    print(f"INIT (with -X importtime overhead): {result['init_ms_with_importtime']:.0f} ms, {result['modules_imported']} modules")
    for row in result["importtime_top"]:
        print(f"{row['cumulative_ms']:9.1f} ms  {'  ' * row['depth']}{row['module']}")
    print(result["cprofile_top"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
