"""Build timings, each a fresh `build_all` process as a user's `mlayer build all` would be.

- cold: an empty MLAYER_CACHE_DIR (pip's own cache stays warm), into an empty dist dir; two of
  them are also the reproducibility check (every artifact's sha256 equal);
- cached: the same inputs again into the same dist dir;
- model-only: a second model version registered, then rebuilt: only a new model zip may appear.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlayer.manifest import load_manifest

from .stats import median

_RUNNER = r"""
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from mlayer.build_all import build_all
spec = json.loads(sys.argv[1])
t1 = time.perf_counter()
path = build_all(requirements=Path(spec["requirements"]), artifacts_root=Path(spec["artifacts_root"]),
                 function_dir=Path(spec["function_dir"]), dist_dir=Path(spec["dist_dir"]), runtime=spec["runtime"])
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "build_s": t2 - t1, "manifest": str(path)}))
"""


def run_build(spec: dict[str, str], cache_dir: Path | None = None) -> dict[str, Any]:
    """One `build_all` in a fresh interpreter; wall seconds include start-up, as the CLI's would."""
    env = dict(os.environ)
    if cache_dir is not None:
        env["MLAYER_CACHE_DIR"] = str(cache_dir)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _RUNNER, json.dumps(spec)], capture_output=True, text=True, env=env, timeout=3600)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"build_all failed: {tail}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"wall_s": wall, **result}


def artifact_hashes(manifest_path: Path) -> dict[str, str]:
    manifest = load_manifest(Path(manifest_path))
    hashes = {"deps": manifest["deps"]["sha256"], "function": manifest["function"]["sha256"]}
    hashes.update({f"model {key}": entry["sha256"] for key, entry in manifest["models"].items()})
    return hashes


def _dist_state(dist_dir: Path) -> dict[str, int]:
    """Every zip in dist and its mtime (ns): what a rebuild (re)wrote."""
    return {p.name: p.stat().st_mtime_ns for p in Path(dist_dir).glob("*.zip")}


def measure_cold(spec: dict[str, str], work_dir: Path, count: int) -> dict[str, Any]:
    runs = []
    for i in range(count):
        cache = work_dir / f"cold-cache-{i}"
        dist = work_dir / f"cold-dist-{i}"
        for path in (cache, dist):
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True)
        result = run_build({**spec, "dist_dir": str(dist)}, cache_dir=cache)
        runs.append({"wall_s": result["wall_s"], "hashes": artifact_hashes(Path(result["manifest"]))})
        shutil.rmtree(cache, ignore_errors=True)  # a few hundred MB each
    hashes = [run["hashes"] for run in runs]
    return {
        "runs": runs,
        "wall_s": median([run["wall_s"] for run in runs]) if runs else None,
        "reproducible": (all(h == hashes[0] for h in hashes) if len(hashes) >= 2 else None),
    }


def measure_cached(spec: dict[str, str], repeats: int) -> dict[str, Any]:
    dist = Path(spec["dist_dir"])
    first = run_build(spec)  # brings dist up to date; timed only for the record
    before_hashes = artifact_hashes(Path(first["manifest"]))
    before_state = _dist_state(dist)
    walls, rewritten, changed = [], set(), False
    for _ in range(repeats):
        result = run_build(spec)
        walls.append(result["wall_s"])
        state = _dist_state(dist)
        rewritten |= {name for name, mtime in state.items() if before_state.get(name) != mtime}
        changed |= artifact_hashes(Path(result["manifest"])) != before_hashes
    return {
        "first_wall_s": first["wall_s"],
        "walls_s": walls,
        "wall_s": median(walls),
        "artifacts_changed": changed,
        "files_rewritten": sorted(rewritten),
    }


def measure_model_only(spec: dict[str, str], register_second_version: Callable[[], str]) -> dict[str, Any]:
    """Register a second version, rebuild, and list what changed in the manifest and in dist/."""
    dist = Path(spec["dist_dir"])
    before = artifact_hashes(dist / "manifest.json")
    before_files = set(_dist_state(dist))
    new_key = register_second_version()
    result = run_build(spec)
    after = artifact_hashes(Path(result["manifest"]))
    new_files = sorted(set(_dist_state(dist)) - before_files)
    changed = sorted(k for k in after if before.get(k) != after[k])
    only_model = changed == [f"model {new_key}"] and len(new_files) == 1
    return {
        "wall_s": result["wall_s"],
        "new_model": new_key,
        "changed_artifacts": changed,
        "new_files": new_files,
        "only_model_rebuilt": only_model,
    }
