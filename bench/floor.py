"""The floor: the model's own work on the same texts, in-process, with nothing around it.

Runs in an isolated interpreter of the target version (`-I -S`, only the layer and the model on
sys.path, like the runtime's worker) and times pre1.transform -> pre2.transform -> clf.predict
(and predict_proba when the handler computes it) on exactly the texts the handler is given.
No base64, no JSON, no event, no IPC: whatever the handler spends above this is overhead.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlayer.isolated import isolated_command
from mlayer.zipper import extract_zip

from .stats import summarize

# BLAS/OpenMP knobs the host may set for its processor (e.g. OPENBLAS_CORETYPE): passed through
# unchanged, as the runtime passes them to its worker.
PASS_THROUGH_PREFIXES = ("OPENBLAS_", "OMP_", "MKL_")

_PROBE = r"""
import json, os, sys, time
import joblib
spec = json.loads(sys.stdin.read())
meta = json.load(open(os.path.join(spec["model_dir"], "metadata.json")))
steps = [joblib.load(os.path.join(spec["model_dir"], f["file"])) for f in meta["files"]]
*pres, clf = steps
proba = spec["proba"] and hasattr(clf, "predict_proba")
def run(batch):
    x = batch
    for pre in pres:
        x = pre.transform(x)
    y = clf.predict(x)
    if proba:
        clf.predict_proba(x)
    return y
texts = spec["texts"]
out = {}
for n in spec["batch_sizes"]:
    batch = texts[:n]
    for _ in range(spec["warmup"]):
        run(batch)
    times = []
    for _ in range(spec["repeats"]):
        t0 = time.perf_counter()
        run(batch)
        times.append((time.perf_counter() - t0) * 1000.0)
    out[str(n)] = times
print(json.dumps({"times_ms": out, "proba": proba}))
"""


def _probe_env() -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    env.update({k: v for k, v in os.environ.items() if k.startswith(PASS_THROUGH_PREFIXES)})
    return env


def measure_floor(
    python: Path,
    layer_python_dir: Path,
    model_zip: Path,
    texts: Sequence[str],
    batch_sizes: Sequence[int],
    repeats: int,
    *,
    proba: bool,
    warmup: int = 5,
) -> dict[str, Any]:
    """Median and p99 ms of the bare transform+predict per batch size, from the model layer's zip."""
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        extract_zip(model_zip, Path(tmp))
        spec = {
            "model_dir": str(Path(tmp) / "model"),
            "texts": list(texts[: max(batch_sizes)]),
            "batch_sizes": list(batch_sizes),
            "repeats": repeats,
            "warmup": warmup,
            "proba": proba,
        }
        result = _run(python, layer_python_dir, spec)
    return {
        "proba": result["proba"],
        "batches": {str(n): summarize(times) for n, times in result["times_ms"].items()},
    }


def _run(python: Path, layer_python_dir: Path, spec: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        isolated_command(python, [layer_python_dir], _PROBE),
        input=json.dumps(spec), capture_output=True, text=True, timeout=1800, env=_probe_env(),
    )  # fmt: skip
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"floor probe failed in {python}: {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
