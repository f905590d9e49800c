"""`mlayer train-demo`: train the seed-shaped demo model with exactly the deps layer's libraries.

Training runs in the target runtime's interpreter (runtimes.find_interpreter) with ONLY the built
deps layer on sys.path (mlayer.isolated), so the pickles are made by the very scikit-learn, numpy
and Python minor version the Lambda will load them with. The corpus (mlayer.model.corpus) is
generated here from a fixed seed and sent to the script as JSON: nothing is downloaded.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import MlayerError
from ..runtimes import host_can_run, require_interpreter
from .corpus import make_corpus, split
from .naming import validate_name, validate_version
from .registry import add_model
from .scriptrun import run_script

SEED = 20190104
N_SAMPLES = 20


def training_interpreter(deps: Any) -> Path:
    if not host_can_run(deps.architecture):
        raise MlayerError(
            f"the deps layer is built for {deps.architecture}, which this host cannot run, so the demo cannot be trained with it: "
            "train on a matching host or build an x86_64 layer for training"
        )
    interpreter = getattr(deps, "interpreter", None)
    return Path(interpreter) if interpreter else require_interpreter(deps.runtime.python_version, "train the demo model")


def train_demo(deps: Any, artifacts_root: Path, name: str = "MyModel", version: str = "20190104v1") -> Path:
    """Train PreProc1_<name>, PreProc2_<name>, <name> (.joblib) and register them as name/version."""
    validate_name(name)
    validate_version(version)
    python = training_interpreter(deps)
    train, test = split(make_corpus(seed=SEED))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mlayer-train-") as out_dir:
        result = run_script(
            python,
            [Path(deps.python_dir)],
            "_train_script.py",
            {
                "out_dir": out_dir,
                "name": name,
                "train": [[t.text, t.label] for t in train],
                "test": [[t.text, t.label] for t in test],
                "n_samples": N_SAMPLES,
            },
            what="training the demo model",
            fix=f"check that the deps layer ({deps.python_dir}) holds scikit-learn, numpy, scipy and joblib",
        )
        seconds = time.perf_counter() - started
        versions = result["versions"]
        metrics = {**result["metrics"], "training_seconds": round(seconds, 2), "seed": SEED}
        print(
            f"mlayer: trained {name} in {seconds:.1f} s with Python {versions['python_full']}, scikit-learn {versions['scikit-learn']}, "
            f"numpy {versions['numpy']}: held-out accuracy {metrics['accuracy']:.3f} on {metrics['n_test']} tickets "
            f"(majority baseline {metrics['majority_baseline_accuracy']:.3f})",
            file=sys.stderr,
        )
        return add_model(
            name,
            version,
            [Path(out_dir) / file for file in result["files"]],
            Path(artifacts_root),
            samples=result["samples"],
            pickled_with_overrides={key: versions[key] for key in ("python", "scikit-learn", "numpy", "scipy")},
            override_source="environment",
            metrics=metrics,
        )
