"""mlayer's deps layer against terraform-aws-lambda's package.py: same pins, fresh caches, same run.

package.py is third-party code and is not in this repository: point MLAYER_BENCH_PACKAGE_PY at a
copy (github.com/terraform-aws-modules/terraform-aws-lambda, package.py). It is driven the way
Terraform drives it: `package.py prepare` reads the external data source's query (a JSON map of
strings) on stdin and writes a plan file; `package.py build --timestamp T PLAN` builds the zip
unless one with that content hash already exists. It runs `python3.X -m pip install --target`
for the host, so the runtime's interpreter is put on PATH under its Lambda name.

Per builder: cold build (empty MLAYER_CACHE_DIR / empty artifacts dir, pip's own cache warm for
both), no-change rebuild, unzipped size, whether two cold builds gave the same zip, and the cold
import of the same top-level modules from the extracted zip (a fresh target interpreter, -I -B:
/opt is read-only on Lambda, so nothing can be compiled and cached there).

Run alone: `MLAYER_BENCH_PACKAGE_PY=/path/to/package.py .venv/bin/python -m bench.head_to_head`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlayer.deps.importcheck import top_level_modules
from mlayer.hashing import sha256_file
from mlayer.runtimes import find_interpreter, get_runtime
from mlayer.zipper import extract_zip, unzipped_size

from .config import BenchConfig
from .stats import median

PACKAGE_PY_ENV = "MLAYER_BENCH_PACKAGE_PY"
NOT_RUN = f"not run: set {PACKAGE_PY_ENV}"
MLAYER = "mlayer"
PACKAGE_PY = "terraform-aws-lambda's package.py"
_SLUG = {MLAYER: "mlayer", PACKAGE_PY: "package-py"}  # work directory names
_IMPORT_TIMER = """
import importlib, json, sys, time
sys.path.insert(0, sys.argv[1])
start = time.perf_counter()
for name in json.loads(sys.argv[2]):
    importlib.import_module(name)
print(time.perf_counter() - start)
"""

Builder = Callable[[Path], tuple[Path, dict[str, float]]]  # work dir -> (zip, step seconds); its caches live under it


def _mlayer_builder(requirements: Path, runtime: str) -> tuple[Builder, str]:
    def build(work: Path) -> tuple[Path, dict[str, float]]:
        env = {**os.environ, "MLAYER_CACHE_DIR": str(work / "cache")}
        command = [str(Path(sys.executable).parent / "mlayer"), "build", "deps", "--requirements", str(requirements),
                   "--runtime", runtime, "--dist", str(work / "dist"), "--json"]  # fmt: skip
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
        if proc.returncode != 0:
            raise RuntimeError(f"mlayer build deps failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
        result = json.loads(proc.stdout)
        return Path(result["zip"]), ({} if result["cache_hit"] else result["timings_seconds"])

    return build, f"MLAYER_CACHE_DIR=<empty dir> mlayer build deps --requirements {requirements} --runtime {runtime}"


def _package_py_query(requirements: Path, runtime: str, artifacts_dir: Path) -> dict[str, str]:
    """The external data source's query as the Terraform module sends it (every value a string)."""
    return {
        "paths": json.dumps({"module": ".", "root": ".", "cwd": "."}),
        "runtime": runtime,
        "function_name": "bench",
        "artifacts_dir": str(artifacts_dir),
        "source_path": json.dumps([{"pip_requirements": str(requirements), "prefix_in_zip": "python"}]),
        "hash_extra": "",
        "hash_internal": "",
        "recreate_missing_package": "true",
        "quiet": "true",
    }


def _package_py_builder(package_py: Path, requirements: Path, runtime: str, python: Path, bin_dir: Path) -> tuple[Builder, str]:
    # package.py runs `<runtime> -m pip`: the runtime's interpreter under its Lambda name, at one path
    # for every run (pip writes that path into the shebang of bin/ scripts, so it is part of the zip).
    bin_dir.mkdir(parents=True, exist_ok=True)
    if not (bin_dir / runtime).exists():
        (bin_dir / runtime).symlink_to(python)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}

    def build(work: Path) -> tuple[Path, dict[str, float]]:
        work.mkdir(parents=True, exist_ok=True)
        query = _package_py_query(requirements, runtime, work / "builds")
        prepare = subprocess.run([str(python), str(package_py), "prepare"], input=json.dumps(query),
                                 capture_output=True, text=True, cwd=work, env=env, timeout=600, check=True)  # fmt: skip
        plan = json.loads(prepare.stdout)
        subprocess.run([str(python), str(package_py), "build", "--timestamp", plan["timestamp"], plan["build_plan_filename"]],
                       capture_output=True, text=True, cwd=work, env=env, timeout=3600, check=True)  # fmt: skip
        return work / plan["filename"], {}

    return build, f"{runtime} package.py prepare < query.json && {runtime} package.py build --timestamp T PLAN (pip_requirements, prefix_in_zip=python)"


def _timed(build: Builder, work: Path) -> tuple[float, Path, dict[str, float]]:
    start = time.perf_counter()
    zip_path, steps = build(work)
    return time.perf_counter() - start, zip_path, steps


def _cold_import_s(python: Path, zip_path: Path, modules: list[str], extract_dir: Path, repeats: int) -> float:
    extract_zip(zip_path, extract_dir)
    python_dir = extract_dir / "python"
    walls = []
    for _ in range(repeats):
        proc = subprocess.run([str(python), "-I", "-B", "-c", _IMPORT_TIMER, str(python_dir), json.dumps(modules)],
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"cold import from {zip_path.name} failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
        walls.append(float(proc.stdout.strip().splitlines()[-1]))
    return median(walls)


def compare(requirements: Path, runtime: str, work: Path, *, cold_builds: int = 2, rebuilds: int = 3, import_repeats: int = 3) -> dict[str, Any]:
    """Both builders, interleaved run by run so machine load hits them alike; or why not."""
    package_py = os.environ.get(PACKAGE_PY_ENV)
    if not package_py:
        return {"skipped": NOT_RUN}
    python = find_interpreter(get_runtime(runtime).python_version)
    if python is None:
        return {"skipped": f"not run: no {runtime} interpreter on this host"}
    builders = {
        MLAYER: _mlayer_builder(Path(requirements).resolve(), runtime),
        PACKAGE_PY: _package_py_builder(Path(package_py).resolve(), Path(requirements).resolve(), runtime, python, work / "bin"),
    }
    cold: dict[str, list[tuple[float, Path, dict[str, float]]]] = {name: [] for name in builders}
    for i in range(cold_builds):
        for name in list(builders) if i % 2 == 0 else list(reversed(builders)):
            cold[name].append(_timed(builders[name][0], work / f"{_SLUG[name]}-{i}"))
    rebuild: dict[str, list[float]] = {name: [] for name in builders}
    for i in range(rebuilds):
        for name in list(builders) if i % 2 == 0 else list(reversed(builders)):
            rebuild[name].append(_timed(builders[name][0], work / f"{_SLUG[name]}-0")[0])
    zips = {name: runs[0][1] for name, runs in cold.items()}
    trees = {}
    for name, zip_path in zips.items():
        trees[name] = work / f"{_SLUG[name]}-extracted"
        extract_zip(zip_path, trees[name])
    modules = sorted(set.intersection(*(set(top_level_modules(tree / "python")) for tree in trees.values())))
    out: dict[str, Any] = {"requirements": str(requirements), "runtime": runtime, "modules": modules, "package_py": str(package_py), "builders": {}}
    for name, (_, command) in builders.items():
        out["builders"][name] = {
            "command": command,
            "cold_s": median([wall for wall, _, _ in cold[name]]),
            "cold_runs_s": [round(wall, 2) for wall, _, _ in cold[name]],
            "cold_steps_s": [steps for _, _, steps in cold[name]],  # mlayer's own per-step record (steps overlap)
            "rebuild_s": median(rebuild[name]),
            "unzipped_mib": unzipped_size(zips[name]) / 2**20,
            "zipped_mib": zips[name].stat().st_size / 2**20,
            "reproducible": len({sha256_file(z) for _, z, _ in cold[name]}) == 1 if cold_builds >= 2 else None,
            "cold_import_s": _cold_import_s(python, zips[name], modules, work / f"{_SLUG[name]}-import", import_repeats),
        }
    return out


def table(result: dict[str, Any]) -> list[str]:
    """Markdown lines: the issue's table, or the reason it was not run."""
    if "skipped" in result:
        return [f"Head-to-head with terraform-aws-lambda's package.py: {result['skipped']}.", ""]
    lines = ["| builder | cold build | no-change rebuild | unzipped | zipped | zip reproducible | cold import |",
             "|---|---:|---:|---:|---:|---|---:|"]  # fmt: skip
    for name, b in result["builders"].items():
        reproducible = "–" if b["reproducible"] is None else ("yes" if b["reproducible"] else "no")
        lines.append(f"| {name} | {b['cold_s']:.1f} s | {b['rebuild_s']:.2f} s | {b['unzipped_mib']:.1f} MiB | "
                     f"{b['zipped_mib']:.1f} MiB | {reproducible} | {b['cold_import_s']:.2f} s |")  # fmt: skip
    lines += ["", f"Same pins ({result['requirements']}, {result['runtime']}); cold import = `import` of "
              f"{', '.join(result['modules'])} from the extracted zip in `python -I -B`. Commands:", ""]  # fmt: skip
    lines += [f"- {name}: `{b['command']}`" for name, b in result["builders"].items()]
    for name, b in result["builders"].items():
        for i, steps in enumerate(b.get("cold_steps_s", [])):
            if steps:
                lines.append(f"- {name} cold build {i + 1} steps (s, some overlap): " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()))
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    defaults = BenchConfig()
    parser = argparse.ArgumentParser(prog="python -m bench.head_to_head", description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=Path, default=defaults.requirements)
    parser.add_argument("--runtime", default=defaults.runtime)
    parser.add_argument("--cold-builds", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the raw result here")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mlayer-h2h-"))
    try:
        result = compare(args.requirements, args.runtime, work, cold_builds=args.cold_builds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(table(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
