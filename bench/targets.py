"""The project's performance targets, each checked against this run's measurements (PASS/MISS)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from .head_to_head import MLAYER, PACKAGE_PY
from .sizes import DEPS_UNZIPPED_TARGET, TOTAL_UNZIPPED_TARGET

SEED_COST_BATCH_100 = 0.0062  # USD per 50,000-record ingest, from the seed article
MB = 1024 * 1024


@dataclass(frozen=True)
class Target:
    key: str
    what: str
    measured: float | bool | None
    limit: float | bool
    unit: str
    ok: bool | None  # None: not measured in this run
    conditions: str

    @property
    def verdict(self) -> str:
        return "n/a" if self.ok is None else ("PASS" if self.ok else "MISS")


def _get(results: dict[str, Any], *path: str) -> Any:
    node: Any = results
    for part in path:
        if not isinstance(node, dict) or part not in node or node[part] is None:
            return None
        node = node[part]
    return node


def _check(measured: Any, compare: Callable[[Any], bool]) -> bool | None:
    if measured is None or (isinstance(measured, float) and math.isnan(measured)):
        return None
    return bool(compare(measured))


def _at_most(key: str, what: str, measured: Any, limit: float, unit: str, conditions: str) -> Target:
    return Target(key, what, measured, limit, unit, _check(measured, lambda m: m <= limit), conditions)


def _at_least(key: str, what: str, measured: Any, limit: float, unit: str, conditions: str) -> Target:
    return Target(key, what, measured, limit, unit, _check(measured, lambda m: m >= limit), conditions)


def evaluate(results: dict[str, Any]) -> list[Target]:
    full = _get(results, "warm", "full_vcpu", "memory_mb")
    b100 = _get(results, "warm", "full_vcpu", "ours", "batches", "100", "duration_ms", "p50")
    floor100 = _get(results, "floor", "batches", "100", "p50")
    seed100 = _get(results, "warm", "full_vcpu", "seed", "batches", "100", "duration_ms", "p50")
    init_ours = _get(results, "cold", "full_vcpu", "ours", "init_ms", "p50")
    init_nopyc = _get(results, "cold", "full_vcpu", "ours_nopyc", "init_ms", "p50")
    cost100 = _get(results, "cost", "batches", "100", "ours_usd")
    cost_memory = _get(results, "cost", "memory_mb")
    full_note = f"handler REPORT duration, p50, {full} MB (a full vCPU)"
    scale_b100 = _get(results, "seed_scale", "seed_over_ours", "100")
    scale_mb = _get(results, "seed_scale", "pickle_bytes")
    h2h = _get(results, "builds", "head_to_head", "builders") or {}
    ours_cold, theirs_cold = (_get(h2h, name, "cold_s") for name in (MLAYER, PACKAGE_PY))
    return [
        _at_most("warm_b100_vs_floor", "warm batch-100 handler / floor (bare transform+predict)",
                 None if b100 is None or floor100 is None else b100 / floor100, 1.5, "x", full_note),
        _at_most("warm_b100_ms", "warm batch-100 handler duration", b100, 5.0, "ms", full_note),
        _at_most("cold_init_ms", "cold init to ready, python3.12 with .pyc", init_ours, 1200.0, "ms",
                 f"runtime REPORT init, p50, {full} MB"),
        _at_most("cold_init_vs_nopyc", "cold init with .pyc / same layer without .pyc",
                 None if init_ours is None or not init_nopyc else init_ours / init_nopyc, 0.45, "x", f"p50, {full} MB"),
        _at_least("seed_speedup_b100", "warm batch-100: seed-style / ours",
                  None if b100 is None or seed100 is None or not b100 else seed100 / b100, 50.0, "x", full_note),
        _at_least("seed_scale_speedup_b100",
                  f"warm batch-100: seed-style / ours (seed-scale model, {'not measured' if scale_mb is None else f'{scale_mb / MB:.1f} MB'})",
                  scale_b100, 50.0, "x", f"{full_note}; SeedScale/20190104v1, {_get(results, 'seed_scale', 'repeats')} rounds"),
        _at_most("replay_wall_s", f"{_get(results, 'ingest', 'records') or 0:,}-record replay at batch 100, wall incl. cold start",
                 _get(results, "ingest", "wall_s"), 15.0, "s",
                 f"mlayer.replay, one shard, {_get(results, 'ingest', 'memory_mb')} MB, CPU throttled"),
        _at_most("deps_unzipped_mb", "slimmed deps layer, unzipped",
                 None if _get(results, "sizes", "deps_unzipped_bytes") is None else results["sizes"]["deps_unzipped_bytes"] / MB,
                 DEPS_UNZIPPED_TARGET / MB, "MB", "from the manifest"),
        _at_most("total_unzipped_mb", "scikit-learn deps + largest model + function, unzipped",
                 None if _get(results, "sizes", "total_unzipped_bytes") is None else results["sizes"]["total_unzipped_bytes"] / MB,
                 TOTAL_UNZIPPED_TARGET / MB, "MB", "Lambda's limit: 262,144,000 bytes"),
        _at_most("cached_rebuild_s", "cached rebuild, no change", _get(results, "builds", "cached", "wall_s"), 3.0, "s",
                 "fresh `build_all` process, p50"),
        Target("model_only_rebuild", "model-only change rebuilds only the model zip",
               _get(results, "builds", "model_only", "only_model_rebuilt"), True, "",
               _get(results, "builds", "model_only", "only_model_rebuilt"), "second model version registered"),
        _at_most("deps_cold_build_vs_package_py", "deps layer cold build: mlayer / terraform-aws-lambda's package.py",
                 None if ours_cold is None or not theirs_cold else ours_cold / theirs_cold, 1.0, "x",
                 "same pins, fresh caches, builds interleaved, median of each (head-to-head below)"),
        _at_most("cost_b100_usd", "cost per 50,000-record ingest at batch 100", cost100, SEED_COST_BATCH_100 / 20, "USD",
                 f"measured billed ms incl. INIT, {cost_memory} MB, CPU throttled; seed $0.0062 / 20"),
    ]  # fmt: skip


def as_dicts(targets: list[Target]) -> list[dict[str, Any]]:
    return [{**asdict(t), "verdict": t.verdict} for t in targets]
