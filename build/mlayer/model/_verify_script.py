"""Run the Lambda handler's own model start-up. Runs INSIDE the target interpreter, contained.

Run by path (mlayer.model.verify), never imported by mlayer. sys.path holds only the deps layer;
this script puts the function directory first, as Lambda does (/var/task before /opt/python),
then calls function/model_store.load_model and function/predictor.self_test: the same code, the
same integrity checks and the same rule for comparing samples as the handler's INIT. Reads on stdin:
    {"function_dir", "model_dir", "name", "version"}
prints one JSON line: {"ok": true, "samples", "warnings", "timings"} or {"ok": false, "stage", "error"}.
"""

import json
import sys
import time


def main():
    request = json.load(sys.stdin)
    sys.path.insert(0, request["function_dir"])
    started = time.perf_counter()
    stage = "import"
    try:
        from model_store import load_model
        from predictor import self_test

        stage = "load"
        model = load_model(request["model_dir"], request["name"], request["version"])
        loaded = time.perf_counter()
        stage = "self-test"
        samples = self_test(model)
    except BaseException as exc:  # a pickle can raise anything, SystemExit included
        text = (str(exc).strip().splitlines() or [""])[0][:600]
        own = type(exc).__name__ == "ModelInitError"  # the handler's own message names the file and the problem
        print(json.dumps({"ok": False, "stage": stage, "error": text if own else type(exc).__name__ + (": " + text if text else "")}))
        return
    print(json.dumps({
        "ok": True,
        "samples": samples,
        "warnings": model.warnings,
        "timings": {
            "verify_ms": round(model.verify_ms, 2),
            "load_ms": round(model.load_ms, 2),
            "init_seconds": round(loaded - started, 3),
            "self_test_seconds": round(time.perf_counter() - loaded, 4),
        },
    }))  # fmt: skip


if __name__ == "__main__":
    main()
