"""`python -m bench.skops_cost [--repeats N] [--work DIR]`: what the .skops format costs next to joblib.

Same model, both formats, on the demo and the seed-scale model: the deps layer's size with and
without skops, the model files' bytes, and INIT's model start-up (a fresh interpreter of the
runtime's Python, only the deps layer and function/ on sys.path, running the handler's own
load_model: imports, integrity checks and unpickling/loading), median of N runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

from mlayer.deps.layer import build_deps_layer
from mlayer.isolated import isolated_command, run_isolated
from mlayer.model.registry import add_model
from mlayer.model.train_demo import train_demo

REPO = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO / "requirements" / "python3.12.txt"
SKOPS_PINS = "skops==0.16.0\nprettytable==3.18.0\nwcwidth==0.9.4\npackaging==26.4\n"
FILES = ["PreProc1_MyModel", "PreProc2_MyModel", "MyModel"]
ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def _init_ms(deps, model_dir: Path, repeats: int) -> float:
    code = (
        f"import sys, time\nstart = time.perf_counter()\nsys.path.insert(0, {str(REPO / 'function')!r})\n"
        f"from model_store import load_model\nload_model({str(model_dir)!r})\nprint((time.perf_counter() - start) * 1000)\n"
    )
    times = []
    for _ in range(repeats):
        proc = subprocess.run(isolated_command(deps.interpreter, [deps.python_dir], code), capture_output=True, text=True, env=ENV)
        assert proc.returncode == 0, proc.stderr
        times.append(float(proc.stdout.strip().splitlines()[-1]))
    return round(statistics.median(times), 1)


def to_skops(deps, source: Path, out: Path) -> list[Path]:
    """The three joblib files in `source` re-saved as .skops (deflated) by the deps layer's own skops."""
    out.mkdir(parents=True, exist_ok=True)
    code = (
        "import joblib, zipfile\nfrom skops.io import dump\n"
        f"for name in {FILES!r}:\n"
        f"    dump(joblib.load({str(source)!r} + '/' + name + '.joblib'), {str(out)!r} + '/' + name + '.skops', compression=zipfile.ZIP_DEFLATED)\n"
    )
    proc = run_isolated(deps.interpreter, [deps.python_dir], code)
    assert proc.returncode == 0, proc.stderr
    return [out / f"{name}.skops" for name in FILES]


def measure(work: Path, repeats: int) -> dict:
    plain = build_deps_layer(REQUIREMENTS, work / "dist")
    requirements = work / "requirements-skops.txt"
    requirements.write_text(REQUIREMENTS.read_text() + SKOPS_PINS)
    with_skops = build_deps_layer(requirements, work / "dist")
    result: dict = {
        "layer_unzipped_mib": {"joblib": round(plain.sizes["unzipped_bytes"] / 2**20, 1), "skops": round(with_skops.sizes["unzipped_bytes"] / 2**20, 1)},
        "layer_zipped_mib": {"joblib": round(plain.sizes["zipped_bytes"] / 2**20, 1), "skops": round(with_skops.sizes["zipped_bytes"] / 2**20, 1)},
        "models": {},
    }
    for scale in ("demo", "seed"):
        joblib_dir = train_demo(with_skops, work / f"reg-{scale}", scale=scale)
        samples = json.loads((joblib_dir / "metadata.json").read_text())["samples"]
        skops_dir = add_model("MyModel", "skops", to_skops(with_skops, joblib_dir, work / f"skops-{scale}"), work / f"reg-{scale}", samples=samples)
        result["models"][scale] = {
            "files_bytes": {
                "joblib": sum((joblib_dir / f"{n}.joblib").stat().st_size for n in FILES),
                "skops": sum((skops_dir / f"{n}.skops").stat().st_size for n in FILES),
            },
            "init_model_ms": {"joblib": _init_ms(with_skops, joblib_dir, repeats), "skops": _init_ms(with_skops, skops_dir, repeats)},
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.skops_cost", description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--work", type=Path, default=None, help="work directory (default: a temporary one)")
    args = parser.parse_args()
    if args.work:
        print(json.dumps(measure(args.work, args.repeats), indent=2))
        return
    with tempfile.TemporaryDirectory(prefix="mlayer-skops-bench-") as work:
        print(json.dumps(measure(Path(work), args.repeats), indent=2))


if __name__ == "__main__":
    main()
