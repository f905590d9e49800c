"""Helpers for the runtime/replay tests (no tests here): tiny real manifests built with mlayer.zipper.

The test function below is a real handler run by the real target interpreter in the real
worker; it needs no model, so these tests do not wait for the demo build.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from mlayer.manifest import artifact_entry, empty_manifest, write_manifest
from mlayer.runtimes import find_interpreter
from mlayer.zipper import write_zip

RUNTIME = "python3.12"
PYTHON = find_interpreter("3.12")
NO_PYTHON = "no Python 3.12 interpreter (pyenv install 3.12 or set MLAYER_PYTHON_3_12): the worker must run the target version"

# One handler, several behaviours chosen by the event, so one warm environment can show them all.
PROBE_HANDLER = textwrap.dedent(
    '''
    import json, os, sys, time

    import which_layer  # from the deps layer: proves /opt/python is on sys.path
    INIT_PID = os.getpid()
    print("init: handler module imported")

    def _try_write(path):
        try:
            with open(path, "w") as handle:
                handle.write("x")
            return "written"
        except OSError as exc:
            return type(exc).__name__ + ":" + str(exc.errno)

    def lambda_handler(event, context):
        action = event.get("action", "probe")
        print("handling", action)
        if action == "probe":
            opt = os.path.dirname(os.environ["MODEL_DIR"])
            return {
                "sys_path": sys.path,
                "env": dict(os.environ),
                "cwd": os.getcwd(),
                "pid": os.getpid(),
                "init_pid": INIT_PID,
                "flags": {"dont_write_bytecode": sys.dont_write_bytecode, "isolated": sys.flags.isolated, "no_site": sys.flags.no_site},
                "which_layer": which_layer.NAME,
                "model_file": open(os.path.join(os.environ["MODEL_DIR"], "metadata.json")).read(),
                "write_opt": _try_write(os.path.join(opt, "python", "new_file.txt")),
                "write_task": _try_write(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "new_file.txt")),
                "pycache_in_opt": any("__pycache__" in dirs for _, dirs, _ in os.walk(opt)),
                "boto3_file": __import__("boto3").__file__,
                "context": {
                    "aws_request_id": context.aws_request_id,
                    "function_name": context.function_name,
                    "function_version": context.function_version,
                    "invoked_function_arn": context.invoked_function_arn,
                    "memory_limit_in_mb": context.memory_limit_in_mb,
                    "log_group_name": context.log_group_name,
                    "log_stream_name": context.log_stream_name,
                    "remaining_ms": context.get_remaining_time_in_millis(),
                },
            }
        if action == "sleep":
            time.sleep(event["seconds"])
            return {"slept": event["seconds"], "pid": os.getpid()}
        if action == "alloc":
            block = bytearray(event["mb"] * 1024 * 1024)
            for i in range(0, len(block), 4096):
                block[i] = 1
            return {"allocated_mb": event["mb"], "pid": os.getpid()}
        if action == "raise":
            raise ValueError("boom: " + event.get("why", "asked to"))
        if action == "exit":
            os._exit(3)
        if action == "unserializable":
            return {"a set": {1, 2}}
        if action == "stderr":
            print("to stderr", file=sys.stderr)
            return {"pid": os.getpid()}
        if action == "no_newline":
            sys.stdout.write("no newline at the end")
            return {"pid": os.getpid()}
        raise KeyError(action)
    '''
)


def build_manifest(
    root: Path,
    *,
    function_files: dict[str, str] | None = None,
    handler: str = "lambda_function.lambda_handler",
    deps_files: dict[str, str] | None = None,
    model_files: dict[str, str] | None = None,
    model_key: str = "TestModel/v1",
) -> Path:
    """dist/manifest.json with a deps layer, one model layer and a function zip, all tiny and real."""
    root.mkdir(parents=True, exist_ok=True)
    dist = root / "dist"
    dist.mkdir(exist_ok=True)

    def zip_of(name: str, files: dict[str, str]) -> Path:
        src = root / f"src-{name}"
        entries = []
        for rel, text in files.items():
            path = src / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            entries.append((rel, path))
        return write_zip(entries, dist / f"{name}.zip")

    deps = zip_of("deps", deps_files if deps_files is not None else {"python/which_layer.py": 'NAME = "deps"\n'})
    model = zip_of("model", model_files if model_files is not None else {"model/metadata.json": '{"name": "TestModel"}\n'})
    function = zip_of("function", function_files if function_files is not None else {"lambda_function.py": PROBE_HANDLER})
    manifest = empty_manifest()
    manifest["deps"] = artifact_entry(deps, dist, runtime=RUNTIME, architecture="x86_64", packages={}, bytecode=False, sizes={})
    manifest["function"] = artifact_entry(function, dist, handler=handler)
    name, version = model_key.split("/")
    manifest["models"] = {model_key: artifact_entry(model, dist, name=name, version=version, files={})}
    path = dist / "manifest.json"
    write_manifest(path, manifest)
    return path


# A Kinesis handler whose records say how to fail, and which logs every delivery to
# $DELIVERY_LOG (one JSON list of eventIDs per invocation) so tests can see what Lambda re-sent.
KINESIS_HANDLER = textwrap.dedent(
    '''
    import base64, json, os

    SEEN_ONCE = set()

    def _spec(record):
        try:
            spec = json.loads(base64.b64decode(record["kinesis"]["data"]))
        except ValueError:
            return {}
        return spec if isinstance(spec, dict) else {}

    def lambda_handler(event, context):
        records = event["Records"]
        with open(os.environ["DELIVERY_LOG"], "a") as log:
            log.write(json.dumps([r["eventID"] for r in records]) + "\\n")
        failures, predictions = [], []
        for record in records:
            spec = _spec(record)
            sequence = record["kinesis"]["sequenceNumber"]
            if spec.get("poison"):
                raise RuntimeError("poison record " + record["eventID"])
            if spec.get("alloc_mb"):
                block = bytearray(spec["alloc_mb"] * 1024 * 1024)
                for i in range(0, len(block), 4096):
                    block[i] = 1
            if spec.get("unknown_id"):
                return {"batchItemFailures": [{"itemIdentifier": "1" + sequence}]}
            if spec.get("empty_id"):
                return {"batchItemFailures": [{"itemIdentifier": ""}]}
            fail = spec.get("report") or (spec.get("report_once") and sequence not in SEEN_ONCE)
            if spec.get("report_once"):
                SEEN_ONCE.add(sequence)
            if fail:
                failures.append({"itemIdentifier": sequence})
                continue
            predictions.append({"eventID": record["eventID"], "shardId": record["eventID"].split(":")[0],
                                "sequenceNumber": sequence, "label": spec.get("label", "ok")})
        return {"batchItemFailures": failures, "predictions": predictions}
    '''
)


def kinesis_manifest(root: Path) -> Path:
    return build_manifest(root, function_files={"lambda_function.py": KINESIS_HANDLER})


def read_deliveries(path: Path) -> list[list[str]]:
    import json

    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
