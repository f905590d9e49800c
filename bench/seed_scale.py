"""Ours vs the seed-style handler on a seed-sized model: load once vs joblib.load per call at ~7 MB.

The demo model's pickles are 59 KB, so reloading them per call costs ~2 ms and the seed-style
handler is barely slower than ours. The seed article's model was far larger (3.8 s per call). Here
the same trainer (`train_demo(..., scale="seed")`: same shape, a long tail of rare identifiers in
the corpus) registers SeedScale/20190104v1 in the bench's own work directory (never the repo's
model_artifacts/), `build_all` builds its manifest, `build_variants` its seed-style variant, and
the same cold and warm machinery measures both handlers with it (MODEL_NAME tells them its name).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlayer.build_all import build_all
from mlayer.manifest import load_manifest

from . import cold, floor, warm
from .config import BenchConfig
from .records import kinesis_event, text_of
from .stats import ratio
from .variants import OURS, SEED, build_variants

NAME = "SeedScale"
VERSION = "20190104v1"
ENVIRONMENT = {"MODEL_NAME": NAME}


def prepare(config: BenchConfig, deps: Any, work: Path) -> tuple[dict[str, Path], Path]:
    """Train and register the seed-scale model, build its manifests: ({ours, seed}: manifest, model zip)."""
    from mlayer.model.train_demo import train_demo

    artifacts = work / "model_artifacts"
    if not (artifacts / NAME / VERSION).exists():
        train_demo(deps, artifacts, name=NAME, version=VERSION, scale="seed")
    # scikit-learn: the seed-style variant unpickles the .joblib files (a lean zip has none); the lean
    # runtime is compared on its own in bench/lean.py
    manifest = build_all(config.requirements, artifacts, config.function_dir, work / "dist", runtime=config.runtime, predictor="sklearn")
    variants, _ = build_variants(manifest, config.requirements, config.runtime, config.seed_function_dir, work / "variants")
    entry = load_manifest(manifest)["models"][f"{NAME}/{VERSION}"]
    return {OURS: variants[OURS].manifest, SEED: variants[SEED].manifest}, manifest.parent / entry["file"]


def measure(config: BenchConfig, deps: Any, work: Path, records: Sequence[bytes], memory_mb: int) -> dict[str, Any]:
    """Cold INIT, warm p50/p99 at config.seed_scale_batch_sizes, per-call joblib.load time and pickle bytes."""
    manifests, model_zip = prepare(config, deps, work)
    cold_runs = cold.measure_cold(manifests, kinesis_event(records[:1]), memory_mb, config.cold_repeats, environment=ENVIRONMENT)
    texts = [text_of(r) for r in records[: max(config.seed_scale_batch_sizes)]]
    with floor.FloorProbe(Path(deps.interpreter), deps.python_dir, model_zip, texts) as probe:
        measured = warm.measure_warm(manifests, records, memory_mb, config.seed_scale_batch_sizes, config.seed_scale_repeats,
                                     floor=probe, environment=ENVIRONMENT)  # fmt: skip
    variants = measured["variants"]
    return {
        "model": f"{NAME}/{VERSION}",
        "memory_mb": memory_mb,
        "repeats": measured["repeats"],
        "pickle_bytes": measured["floor"]["pickle_bytes"],
        "model_zip_bytes": model_zip.stat().st_size,
        "load_ms": measured["floor"]["load_ms"],
        "cold": cold_runs,
        "warm": variants,
        "floor": measured["floor"]["batches"],
        "seed_over_ours": _seed_over_ours(variants),
    }


def _seed_over_ours(variants: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for size, batch in variants[OURS]["batches"].items():
        seed_p50 = variants[SEED]["batches"].get(size, {}).get("duration_ms", {}).get("p50")
        if seed_p50 is not None:
            out[size] = ratio(seed_p50, batch["duration_ms"]["p50"])
    return out
