"""The whole run: prepare the artifacts, measure each thing, evaluate the targets; one dict out."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mlayer.deps.layer import DepsBuild
from mlayer.manifest import load_manifest

from . import builds, cold, costs, head_to_head, floor, ingest, lean, machine, memory, replay_scale, seed_scale, sizes, targets, warm
from .profile import profile_handler
from .config import BenchConfig
from .records import ingest as make_records
from .records import kinesis_event, text_of
from .stats import ratio
from .variants import NOPYC, OURS, SEED, build_variants
from .workspace import copy_artifacts, prepare, register_second_version, terraform_memory_default

SCHEMA_VERSION = 1


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _timed(label: str, fn, *args: Any, **kwargs: Any) -> Any:
    _log(f"{label} ...")
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    _log(f"{label}: {time.perf_counter() - started:.1f} s")
    return result


def run_suite(
    config: BenchConfig,
    *,
    deps: DepsBuild | None = None,
    artifacts_root: Path | None = None,
    manifest: Path | None = None,
    work_dir: Path | None = None,
) -> dict[str, Any]:
    own_work = work_dir is None
    work = Path(work_dir or tempfile.mkdtemp(prefix="mlayer-bench-"))
    try:
        return _run(config, work, deps, artifacts_root, manifest)
    finally:
        if own_work and not config.keep_work_dir:
            shutil.rmtree(work, ignore_errors=True)


def _run(config: BenchConfig, work: Path, deps: DepsBuild | None, artifacts_root: Path | None, manifest: Path | None) -> dict[str, Any]:
    started = dt.datetime.now(dt.timezone.utc)
    configured_mb = config.configured_memory_mb or terraform_memory_default()
    full_mb = config.full_vcpu_memory_mb
    space = _timed("preparing the deps layer, demo model and manifest", prepare, config, work, deps, artifacts_root, manifest)
    variants, nopyc_deps = _timed("building the no-.pyc and seed-style variants", build_variants,
                                  space.manifest, config.requirements, config.runtime, config.seed_function_dir, work / "variants")  # fmt: skip
    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "date": started.date().isoformat(),
        "started": started.isoformat(timespec="seconds"),
        "quick": config.quick,
        "machine": machine.describe(space.interpreter),
        "config": {
            "runtime": config.runtime,
            "full_vcpu_memory_mb": full_mb,
            "configured_memory_mb": configured_mb,
            "configured_memory_source": "--memory" if config.configured_memory_mb else "Terraform memory_size default (variables.tf)",
            "records": config.records,
            "repeats": config.repeats,
            "cold_repeats": config.cold_repeats,
            "cost_sample_invocations": config.cost_sample_invocations,
            "build_repeats": config.build_repeats,
            "cold_builds": config.cold_builds,
            "batch_sizes": list(config.batch_sizes),
        },
        "variants": {key: _provenance(v.label, v.manifest) for key, v in variants.items()},
        "notes": list(config.notes),
    }
    records = make_records(max(config.records, max(config.batch_sizes) * 2))
    first_event = kinesis_event(records[:1])

    # 1. cold starts, at a full vCPU (the targets) and at the configured memory (what INIT bills)
    tiers = {"full_vcpu": full_mb, "configured": configured_mb}
    manifests = {key: v.manifest for key, v in variants.items()}
    results["cold"] = {}
    for tier, memory_mb in tiers.items():
        if tier == "configured" and configured_mb == full_mb:
            results["cold"][tier] = {key: results["cold"]["full_vcpu"][key] for key in (OURS, SEED)}
            continue
        chosen = manifests if tier == "full_vcpu" else {key: manifests[key] for key in (OURS, SEED)}
        results["cold"][tier] = _timed(f"cold starts: {', '.join(chosen)} at {memory_mb} MB, {config.cold_repeats} each",
                                       cold.measure_cold, chosen, first_event, memory_mb, config.cold_repeats)  # fmt: skip

    # 2. warm invocations, ours and seed-style paired, and (at a full vCPU) the floor in the same rounds
    texts = [text_of(r) for r in records[: max(config.batch_sizes)]]
    pair = {OURS: manifests[OURS], SEED: manifests[SEED]}
    results["warm"] = {}
    for tier, memory_mb in tiers.items():
        if tier == "configured" and configured_mb == full_mb:
            results["warm"][tier] = results["warm"]["full_vcpu"]
            continue
        with contextlib.ExitStack() as stack:
            probe = stack.enter_context(floor.FloorProbe(space.interpreter, space.deps.python_dir, space.model_zip, texts)) if tier == "full_vcpu" else None
            measured = _timed(f"warm: ours + seed-style{' + floor' if probe else ''} at {memory_mb} MB, {config.repeats} rounds per batch size",
                              warm.measure_warm, pair, records, memory_mb, config.batch_sizes, config.repeats, floor=probe)  # fmt: skip
        results["warm"][tier] = {
            "memory_mb": memory_mb,
            "repeats": measured["repeats"],
            "cpu": "full vCPU (1,769 MB)" if tier == "full_vcpu" else f"throttled to {memory_mb / 1769:.2f} vCPU",
            **measured["variants"],
        }
        if "floor" in measured:
            results["floor"] = measured["floor"]
    results["ratios"] = _ratios(results, config.batch_sizes)
    results["seed_scale"] = _seed_scale(config, space, work, records, full_mb, results["notes"])
    results["lean"] = _timed("lean vs scikit-learn: build, cold INIT per memory, warm with the lean floor, cost at the cheapest memory",
                             lean.measure, config, space, work / "lean", records, full_mb)  # fmt: skip
    results["lean_targets"] = lean.targets(results["lean"], results["ratios"]["handler_over_floor"])
    results["profile"] = _timed("profile: -X importtime of INIT, cProfile of batch 100", profile_handler,
                                variants[OURS].manifest, 100, max(3, config.repeats))  # fmt: skip

    # 3. the ingest replay
    results["ingest"] = _timed(f"replay: {config.records:,} records at batch 100, {configured_mb} MB", ingest.measure_ingest,
                               variants[OURS].manifest, records[: config.records], 100, configured_mb)  # fmt: skip

    results["replay_scale"] = _replay_scale(config, variants[OURS].manifest, work, results["notes"])

    # 4. sizes
    results["sizes"] = sizes.measure_sizes(space.manifest, variants[SEED].manifest, nopyc_deps.sizes)

    # 6. cost (from billed durations at the configured memory, INIT billed)
    results["cost"] = _timed("cost: billed durations per batch size", costs.measure_costs,
                             variants[OURS].manifest, records, configured_mb, config.cost_batch_sizes, config.cost_sample_invocations,
                             results["ingest"], results["warm"]["configured"][SEED], results["cold"]["configured"][SEED])  # fmt: skip

    # 7. memory
    smallest = _timed("memory: smallest memory_size that runs", memory.smallest_memory,
                      variants[OURS].manifest, records, config.memory_candidates_mb, (1, 100, max(config.batch_sizes)), config.memory_trials)  # fmt: skip
    results["memory"] = {
        **smallest,
        "max_memory_used_mb": {
            key: max(results["warm"][tier][key]["max_memory_used_mb"] for tier in ("full_vcpu", "configured")) for key in (OURS, SEED)
        },
    }

    # 5. builds
    results["builds"] = _timed("builds: cold, cached, model-only", _builds, config, space, work / "builds")

    results["machine"]["load_avg_end"] = machine.load_average()
    results["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    results["targets"] = targets.as_dicts(targets.evaluate(results))
    return results


def _seed_scale(config: BenchConfig, space: Any, work: Path, records: list[bytes], memory_mb: int, notes: list[str]) -> dict[str, Any] | None:
    """Ours vs seed-style on the seed-sized model (section 2b), or None with a note when skipped."""
    if not config.seed_scale:
        notes.append("seed-scale model (SeedScale, ~7 MB of pickles) skipped (--quick): its target row is n/a")
        return None
    return _timed(f"seed-scale model: train, build, cold + warm ours vs seed-style at {memory_mb} MB, {config.seed_scale_repeats} rounds",
                  seed_scale.measure, config, space.deps, work / "seed_scale", records, memory_mb)  # fmt: skip


def _replay_scale(config: BenchConfig, manifest: Path, work: Path, notes: list[str]) -> dict[str, Any] | None:
    """The replay's own peak RSS and wall time at 50,000 and 1,000,000 records (section 3b)."""
    if not config.replay_scale:
        notes.append("replay scaling (50,000 vs 1,000,000 records) skipped (--quick)")
        return None
    return _timed("replay scaling: 50,000 and 1,000,000 records at batch 1,000", replay_scale.measure_scale, manifest, work / "replay_scale")


def _provenance(label: str, manifest_path: Path) -> dict[str, Any]:
    """What a variant ran: its artifacts' sha256 (the temporary paths are gone after the run)."""
    manifest = load_manifest(manifest_path)
    return {
        "label": label,
        "deps_sha256": manifest["deps"]["sha256"],
        "deps_bytecode": manifest["deps"].get("bytecode"),
        "function_sha256": manifest["function"]["sha256"],
        "models": {key: entry["sha256"] for key, entry in manifest["models"].items()},
    }


def _ratios(results: dict[str, Any], batch_sizes: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"handler_over_floor": {}, "seed_over_ours": {}}
    full = results["warm"]["full_vcpu"]
    for size in map(str, batch_sizes):
        ours = full[OURS]["batches"].get(size, {}).get("duration_ms", {}).get("p50")
        floor_p50 = results["floor"]["batches"].get(size, {}).get("p50")
        seed_p50 = full[SEED]["batches"].get(size, {}).get("duration_ms", {}).get("p50")
        if ours is not None and floor_p50 is not None:
            out["handler_over_floor"][size] = ratio(ours, floor_p50)
        if ours is not None and seed_p50 is not None:
            out["seed_over_ours"][size] = ratio(seed_p50, ours)
    init = results["cold"]["full_vcpu"]
    out["init_ours_over_nopyc"] = ratio(init[OURS]["init_ms"]["p50"], init[NOPYC]["init_ms"]["p50"])
    out["init_ours_over_seed"] = ratio(init[OURS]["init_ms"]["p50"], init[SEED]["init_ms"]["p50"])
    return out


def _builds(config: BenchConfig, space: Any, work: Path) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    artifacts = copy_artifacts(space.artifacts_root, work / "model_artifacts")
    spec = {
        "requirements": str(config.requirements),
        "artifacts_root": str(artifacts),
        "function_dir": str(config.function_dir),
        "dist_dir": str(work / "dist"),
        "runtime": config.runtime,
    }
    out: dict[str, Any] = {}
    out["cold"] = builds.measure_cold(spec, work, config.cold_builds) if config.cold_builds else {"skipped": "--quick"}
    out["cached"] = builds.measure_cached(spec, config.build_repeats)
    out["model_only"] = builds.measure_model_only(spec, lambda: register_second_version(artifacts))
    out["head_to_head"] = (head_to_head.compare(config.requirements, config.runtime, work / "head-to-head", cold_builds=config.cold_builds)
                           if config.cold_builds else {"skipped": "not run: --quick"})  # fmt: skip
    return out
