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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MlayerError
from ..runtimes import host_can_run, require_interpreter
from .corpus import Ticket, make_corpus, split, with_long_tail
from .naming import validate_name, validate_version
from .registry import add_model
from .scriptrun import run_script

SEED = 20190104
N_SAMPLES = 20


@dataclass(frozen=True)
class Scale:
    """How big a demo model to train. "demo" is the default (59 KB of pickles); "seed" is seed-sized."""

    per_class: int = 300
    long_tail_tokens: int = 0  # seeded random product codes / ticket ids / names per ticket (0: none)
    min_df: int = 2


SCALES = {
    "demo": Scale(),
    # ~12,000 tickets with a long tail of rare identifiers, every term kept: ~7 MB of pickles, as the
    # seed article's model (its handler spent seconds per call reloading them)
    "seed": Scale(per_class=3000, long_tail_tokens=4, min_df=1),
}


def scaled_corpus(scale: Scale) -> list[Ticket]:
    tickets = make_corpus(per_class=scale.per_class, seed=SEED)
    return with_long_tail(tickets, SEED + 1, scale.long_tail_tokens) if scale.long_tail_tokens else tickets


def _script_options(scale: Scale) -> dict[str, Any]:
    """Extra request keys for _train_script.py; none for the default, whose request stays as it was."""
    return {} if scale == SCALES["demo"] else {"min_df": scale.min_df}


def training_interpreter(deps: Any) -> Path:
    if not host_can_run(deps.architecture):
        raise MlayerError(
            f"the deps layer is built for {deps.architecture}, which this host cannot run, so the demo cannot be trained with it: "
            "train on a matching host or build an x86_64 layer for training"
        )
    interpreter = getattr(deps, "interpreter", None)
    return Path(interpreter) if interpreter else require_interpreter(deps.runtime.python_version, "train the demo model")


def train_demo(deps: Any, artifacts_root: Path, name: str = "MyModel", version: str = "20190104v1", scale: str = "demo") -> Path:
    """Train PreProc1_<name>, PreProc2_<name>, <name> (.joblib) and register them as name/version.

    scale: a key of SCALES ("demo", the default, or "seed" for a seed-sized model of the same shape).
    """
    validate_name(name)
    validate_version(version)
    if scale not in SCALES:
        raise MlayerError(f"unknown demo model scale {scale!r}: choose one of {', '.join(SCALES)}")
    python = training_interpreter(deps)
    train, test = split(scaled_corpus(SCALES[scale]))
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
                **_script_options(SCALES[scale]),
            },
            what="training the demo model",
            fix=f"check that the deps layer ({deps.python_dir}) holds scikit-learn, numpy, scipy and joblib",
        )
        seconds = time.perf_counter() - started
        versions = result["versions"]
        metrics = {**result["metrics"], "training_seconds": round(seconds, 2), "seed": SEED}
        if scale != "demo":
            metrics["scale"] = scale
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
