"""Load a model and run its samples. Runs INSIDE the target interpreter with only the deps layer on sys.path.

Run by path (mlayer.model.verify), never imported by mlayer. Does what the Lambda handler does:
joblib.load every file, apply the preprocessors' transform() in file order, then the estimator's
predict() (or the pipeline's predict()). Reads on stdin:
    {"model_dir", "kind", "files": [{"file", "role"}], "samples": null | {"inputs", "expected"}}
prints one JSON line: {"ok": true, "predictions", "timings", "warnings"} or
{"ok": false, "stage": "import|load|version|transform|predict", "file", "error"}.
"""

import json
import os
import sys
import time
import warnings


def _describe(exc):
    text = str(exc).strip().splitlines()
    return type(exc).__name__ + (": " + text[0][:300] if text else "")


def _fail(stage, file, error):
    print(json.dumps({"ok": False, "stage": stage, "file": file, "error": error}))
    return 0


def _jsonable(values):
    values = values.tolist() if hasattr(values, "tolist") else list(values)
    return json.loads(json.dumps(values, default=str))


def main():
    request = json.load(sys.stdin)
    started = time.perf_counter()
    try:
        import joblib
    except Exception as exc:
        return _fail("import", None, _describe(exc))
    imported = time.perf_counter()
    notes = []
    steps = []
    for entry in request["files"]:
        path = os.path.join(request["model_dir"], entry["file"])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                obj = joblib.load(path)
            except BaseException as exc:  # a pickle can raise anything, SystemExit included
                return _fail("load", entry["file"], _describe(exc))
        for warning in caught:
            if warning.category.__name__ == "InconsistentVersionWarning":
                return _fail("version", entry["file"], str(warning.message).splitlines()[0])
            message = "%s: %s" % (warning.category.__name__, str(warning.message).splitlines()[0][:200])
            if message not in notes:
                notes.append(message)
        steps.append((entry["file"], entry["role"], obj))
    loaded = time.perf_counter()

    *preprocessors, (final_file, _, final) = steps
    for file, _, obj in preprocessors:
        if not hasattr(obj, "transform"):
            return _fail("transform", file, "%s has no transform(), so it cannot be a preprocessor" % type(obj).__name__)
    if not hasattr(final, "predict"):
        return _fail("predict", final_file, "%s has no predict(), so it cannot be the estimator" % type(final).__name__)

    predictions = None
    samples = request.get("samples")
    if samples:
        data = samples["inputs"]
        for file, _, obj in preprocessors:
            try:
                data = obj.transform(data)
            except Exception as exc:
                return _fail("transform", file, _describe(exc))
        try:
            predictions = _jsonable(final.predict(data))
        except Exception as exc:
            return _fail("predict", final_file, _describe(exc))
    predicted = time.perf_counter()
    print(json.dumps({
        "ok": True,
        "predictions": predictions,
        "warnings": notes,
        "timings": {
            "import_joblib_seconds": round(imported - started, 3),
            "load_seconds": round(loaded - imported, 3),
            "predict_seconds": round(predicted - loaded, 4),
        },
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    main()
