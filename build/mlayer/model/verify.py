"""Prove a registered model works with a deps layer by running the handler's own start-up on it.

Runs _verify_script.py, which calls function/'s load_model and self_test, in an interpreter of
the runtime's Python version with ONLY the deps layer and function/ on sys.path, contained
(runtime/sandbox.py: no network, read-only host, scratch tmpfs, empty environment, memory/CPU
limits): "the build passed" means "INIT will pass". A pass is cached under
~/.cache/mlayer/model-verify/<key>, the key covering metadata.json's bytes (so every file's sha256
and the samples), the deps layer's identity (its content-addressed zip name and packages), the
interpreter, the script and the handler's files: an unchanged rebuild does not start Python at all.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cache import cache_dir, cache_key
from ..errors import MlayerError
from ..fsutil import write_json_atomic
from ..hashing import sha256_file
from ..runtime.sandbox import Limits, containment
from ..runtimes import find_interpreter, host_can_run
from .metadata import METADATA_NAME
from .scriptrun import HERE, run_script

CACHE_KIND = "model-verify"
RESULT_NAME = "verified.json"
VERIFY_LIMITS = Limits()  # 2 GiB address space, 120 s CPU, 64 MiB scratch (runtime/sandbox.py)
# The handler's own start-up (function/), run by _verify_script.py: a change to any of them is a new check.
HANDLER_FILES = ("model_store.py", "predictor.py")
_STAGE_FIX = {
    "import": "check --function-dir (it must hold the handler's model_store.py and predictor.py)",
    "load": "make sure every module the pickle needs is in the deps layer and that its libraries match pickled_with, "
    "then register the files again (or retrain with the layer's versions)",
    "self-test": "retrain with the layer's versions, or register the model again with samples produced by it",
}


@dataclass
class Verification:
    status: str  # "passed", "skipped: <why>"
    cache_hit: bool = False
    samples: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _deps_identity(deps: Any, python: Path) -> dict[str, Any]:
    return {
        "zip": Path(deps.zip_path).name,  # content-addressed: the layer's sha256 is in the name
        "packages": dict(deps.packages),
        "runtime": deps.runtime.name,
        "architecture": deps.architecture,
        "python": str(python),
    }


def verify_model(model_dir: Path, metadata: Mapping[str, Any], deps: Any, function_dir: Path) -> Verification:
    """Run the handler's load_model + self_test on this model with only the deps layer, contained."""
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
    function_dir = Path(function_dir).resolve()
    missing = [name for name in HANDLER_FILES if not (function_dir / name).is_file()]
    if missing:
        raise MlayerError(f"{function_dir / missing[0]} not found: pass --function-dir pointing at the handler's source (function/)")
    sandbox = containment()
    if not sandbox.available:  # never unpickle uncontained: skip, loudly
        return Verification(f"skipped: {model} was not loaded because this host cannot sandbox it ({sandbox.reason}); the handler still checks it at INIT")
    key = cache_key(
        CACHE_KIND,
        metadata=sha256_file(Path(model_dir) / METADATA_NAME),
        deps=_deps_identity(deps, Path(python)),
        script=sha256_file(HERE / "_verify_script.py"),
        handler={name: sha256_file(function_dir / name) for name in HANDLER_FILES},
        limits=dataclasses.asdict(VERIFY_LIMITS),
    )
    record_path = cache_dir(CACHE_KIND, key) / RESULT_NAME
    try:
        record = json.loads(record_path.read_text())
        return Verification("passed", cache_hit=True, samples=record["samples"], timings=record["timings"], warnings=record["warnings"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        pass

    started = time.perf_counter()
    result = run_script(
        Path(python),
        [Path(deps.python_dir)],
        "_verify_script.py",
        {"function_dir": str(function_dir), "model_dir": str(Path(model_dir).resolve()), "name": metadata["name"], "version": metadata["version"]},
        what=f"the handler's start-up on {model}",
        fix="check the deps layer and the model files",
        timeout=VERIFY_LIMITS.cpu_seconds * 2,
        limits=VERIFY_LIMITS,
    )
    if not result["ok"]:
        raise MlayerError(
            f"{model} fails the handler's start-up ({result['stage']}) in Python {deps.runtime.python_version} with only the deps layer "
            f"({result['error']}): {_STAGE_FIX.get(result['stage'], _STAGE_FIX['load'])}"
        )
    timings = {**result["timings"], "wall_seconds": round(time.perf_counter() - started, 3)}
    warnings = [f"{model}: {w}" for w in result["warnings"]]
    verification = Verification("passed", samples=result["samples"], timings=timings, warnings=warnings)
    write_json_atomic(record_path, {"samples": verification.samples, "timings": timings, "warnings": warnings})
    return verification
