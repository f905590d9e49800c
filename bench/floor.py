"""The floor: the model's own work on the same texts, in-process, with nothing around it.

A long-lived probe process in an isolated interpreter of the target version (`-I -S`, only the
layer on sys.path, like the runtime's worker) loads the model layer's files once, then on each
request times pre1.transform -> pre2.transform -> clf.predict (and predict_proba when the
handler computes it) on exactly the texts the handler is given. No base64, no JSON, no event,
no IPC inside the timing: whatever the handler spends above this is overhead. Being a separate
process it can be interleaved with the handler's invocations, so both see the same machine.

It also times what the seed-style handler adds to every call: joblib.load of the model files.
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

# BLAS/OpenMP knobs the host may set for its processor (e.g. OPENBLAS_CORETYPE): passed through
# unchanged, as the runtime passes them to its worker.
PASS_THROUGH_PREFIXES = ("OPENBLAS_", "OMP_", "MKL_")

_PROBE = r"""
import json, os, sys, time
import joblib
model_dir = sys.argv[1]
texts = json.loads(sys.stdin.readline())
meta = json.load(open(os.path.join(model_dir, "metadata.json")))
paths = [os.path.join(model_dir, f["file"]) for f in meta["files"]]
*pres, clf = [joblib.load(p) for p in paths]
proba = meta.get("kind") == "steps" and hasattr(clf, "predict_proba") and json.loads(sys.argv[2])
clock = time.perf_counter
def run(batch):
    stages = {}
    x = batch
    for i, pre in enumerate(pres):
        t = clock(); x = pre.transform(x); stages[f"transform{i + 1}"] = (clock() - t) * 1000.0
    t = clock(); clf.predict(x); stages["predict"] = (clock() - t) * 1000.0
    if proba:
        t = clock(); clf.predict_proba(x); stages["predict_proba"] = (clock() - t) * 1000.0
    return stages
def load():
    t = clock()
    for p in paths:
        joblib.load(p)
    return (clock() - t) * 1000.0
print(json.dumps({"ready": True, "proba": proba, "pickle_bytes": sum(os.path.getsize(p) for p in paths)}), flush=True)
for line in sys.stdin:
    request = json.loads(line)
    if "n" in request:
        batch = texts[: request["n"]]
        t0 = clock()
        stages = run(batch)
        print(json.dumps({"ms": (clock() - t0) * 1000.0, "stages": stages}), flush=True)
    elif "load" in request:
        print(json.dumps({"ms": load()}), flush=True)
    else:
        break
"""


def _probe_env() -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    env.update({k: v for k, v in os.environ.items() if k.startswith(PASS_THROUGH_PREFIXES)})
    return env


class FloorProbe:
    """`with FloorProbe(python, layer_python_dir, model_zip, texts) as probe: probe.time(100)`."""

    def __init__(
        self, python: Path, layer_python_dir: Path, model_zip: Path, texts: Sequence[str], *, proba: bool = True,
        script: str = _PROBE, extra_paths: Sequence[Path] = (),
    ) -> None:
        """script/extra_paths: another probe speaking the same protocol (bench.lean's, for lean models)."""
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-floor-")
        extract_zip(model_zip, Path(self._tmp.name))
        command = isolated_command(python, [layer_python_dir, *extra_paths], script)
        command += [str(Path(self._tmp.name) / "model"), json.dumps(proba)]
        self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_probe_env())
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(list(texts)) + "\n")
        self._proc.stdin.flush()
        hello = self._read()
        self.proba: bool = hello["proba"]
        self.pickle_bytes: int = hello["pickle_bytes"]

    def _read(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            err = self._proc.stderr.read() if self._proc.stderr else ""
            raise RuntimeError(f"floor probe died: {(err.strip().splitlines() or ['(no output)'])[-1]}")
        return json.loads(line)

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        return self._read()

    def time(self, batch_size: int) -> tuple[float, dict[str, float]]:
        """(total ms, per-stage ms) of one bare transform+predict on the first batch_size texts."""
        reply = self._ask({"n": batch_size})
        return reply["ms"], reply["stages"]

    def load_ms(self) -> float:
        """joblib.load of every model file once (modules already imported)."""
        return self._ask({"load": True})["ms"]

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._ask({"quit": True})
            except (RuntimeError, BrokenPipeError, ValueError):
                pass
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._tmp.cleanup()

    def __enter__(self) -> FloorProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
