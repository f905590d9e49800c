"""Prove a registered model works with a deps layer: load it and run its samples, as Lambda would.

Runs _verify_script.py in an interpreter of the runtime's Python version with ONLY the deps layer
on sys.path. A pass is cached under ~/.cache/mlayer/model-verify/<key>, the key covering
metadata.json's bytes (so every file's sha256 and the samples), the deps layer's identity (its
content-addressed zip name and packages), the interpreter and the script itself: an unchanged
rebuild does not start Python at all.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cache import cache_dir, cache_key
from ..errors import MlayerError
from ..fsutil import write_json_atomic
from ..hashing import sha256_file
from ..runtimes import find_interpreter, host_can_run
from .metadata import METADATA_NAME
from .scriptrun import HERE, run_script

CACHE_KIND = "model-verify"
RESULT_NAME = "verified.json"
_STAGE_FIX = {
    "import": "the deps layer cannot import joblib: add joblib==X to the requirements file",
    "load": "make sure every module the pickle needs is in the deps layer (add it to the requirements file) "
    "and that the file was saved with joblib.dump, then register it again",
    "version": "retrain with the layer's scikit-learn, or pin the layer to the version the model was pickled with",
    "transform": "check that the preprocessors are listed in the order they are applied and accept the sample inputs",
    "predict": "check that the estimator is listed last and accepts the preprocessors' output",
}


@dataclass
class Verification:
    status: str  # "passed", "skipped: <why>"
    cache_hit: bool = False
    samples: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _same(expected: Any, got: Any) -> bool:
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected == got
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        return math.isclose(expected, got, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(expected, list) and isinstance(got, list):
        return len(expected) == len(got) and all(_same(a, b) for a, b in zip(expected, got))
    return expected == got


def compare_predictions(model: str, samples: Mapping[str, list[Any]], predictions: list[Any]) -> None:
    """MlayerError naming how many samples disagree and the first one."""
    inputs, expected = samples["inputs"], samples["expected"]
    if len(predictions) != len(expected):
        raise MlayerError(
            f"{model}: predict() returned {len(predictions)} outputs for {len(inputs)} sample inputs: "
            "check that the preprocessors take one row per input"
        )
    wrong = [i for i, (want, got) in enumerate(zip(expected, predictions)) if not _same(want, got)]
    if wrong:
        first = wrong[0]
        shown = json.dumps(inputs[first])
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise MlayerError(
            f"{model}: {len(wrong)} of {len(expected)} samples disagree with metadata.json's expected outputs "
            f"(first: #{first} {shown} expected {json.dumps(expected[first])}, got {json.dumps(predictions[first])}): "
            "the files do not behave as registered with this layer's libraries; retrain with the layer's versions, "
            "or register the model again with samples produced by it"
        )


def _deps_identity(deps: Any, python: Path) -> dict[str, Any]:
    return {
        "zip": Path(deps.zip_path).name,  # content-addressed: the layer's sha256 is in the name
        "packages": dict(deps.packages),
        "runtime": deps.runtime.name,
        "architecture": deps.architecture,
        "python": str(python),
    }


def verify_model(model_dir: Path, metadata: Mapping[str, Any], deps: Any) -> Verification:
    """Load the model in the runtime's Python with only the deps layer, and check the samples."""
    model = f"{metadata['name']}/{metadata['version']}"
    if not host_can_run(deps.architecture):
        return Verification(f"skipped: this host cannot run {deps.architecture} code, so {model} was not loaded against the layer")
    python = getattr(deps, "interpreter", None) or find_interpreter(deps.runtime.python_version)
    if python is None:  # degrade like the deps layer's import check: say so, loudly
        version = deps.runtime.python_version
        return Verification(
            f"skipped: no Python {version} interpreter on this host, so {model} was not loaded against the layer "
            f"(the handler still checks it at INIT); install it (pyenv install {version}) or set MLAYER_PYTHON_{version.replace('.', '_')}"
        )
    key = cache_key(
        CACHE_KIND,
        metadata=sha256_file(Path(model_dir) / METADATA_NAME),
        deps=_deps_identity(deps, Path(python)),
        script=sha256_file(HERE / "_verify_script.py"),
    )
    record_path = cache_dir(CACHE_KIND, key) / RESULT_NAME
    try:
        record = json.loads(record_path.read_text())
        return Verification("passed", cache_hit=True, samples=record["samples"], timings=record["timings"], warnings=record["warnings"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        pass

    samples = metadata.get("samples")
    started = time.perf_counter()
    result = run_script(
        Path(python),
        [Path(deps.python_dir)],
        "_verify_script.py",
        {
            "model_dir": str(Path(model_dir).resolve()),
            "kind": metadata["kind"],
            "files": [{"file": e["file"], "role": e["role"]} for e in metadata["files"]],
            "samples": samples,
        },
        what=f"loading {model}",
        fix="check the deps layer and the model files",
    )
    if not result["ok"]:
        culprit = f"{Path(model_dir) / result['file']}" if result.get("file") else model
        verb = {"load": "failed to load", "version": "was pickled by another scikit-learn"}.get(result["stage"], f"failed in {result['stage']}()")
        raise MlayerError(
            f"{culprit} {verb} in Python {deps.runtime.python_version} with only the deps layer ({result['error']}): {_STAGE_FIX[result['stage']]}"
        )
    if samples:
        compare_predictions(model, samples, result["predictions"])
    timings = {**result["timings"], "wall_seconds": round(time.perf_counter() - started, 3)}
    warnings = [f"{model}: {w}" for w in result["warnings"]]
    verification = Verification("passed", samples=len(samples["inputs"]) if samples else 0, timings=timings, warnings=warnings)
    write_json_atomic(record_path, {"samples": verification.samples, "timings": timings, "warnings": warnings})
    return verification
