"""The lean runtime against scikit-learn, on the same demo model, in the same run (issue 11's table).

- cold INIT of both at 1,769 / 1,024 / 512 / 256 / 128 MB (CPU throttled to the memory's share),
  fresh environments, the two kinds interleaved run by run; a memory where INIT fails or passes
  Lambda's 10 s limit is recorded as such;
- the smallest of those memories whose INIT fits the 10 s limit, per kind;
- warm batch 1 / 100 / 1,000 at a full vCPU, lean and scikit-learn paired, with both floors
  (bare lean transform + predict, bare scikit-learn transforms + predict + predict_proba, in-process)
  in the same rounds;
- the deps layers' sizes;
- the cost per 50,000-record ingest at each kind's cheapest memory (billed ms measured there,
  one INIT billed), at batch 100 and 1,000.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlayer.build_all import build_all
from mlayer.cost import SEED_INGEST_RECORDS, billed_duration_ms, ingest_cost
from mlayer.manifest import deps_entry_for, load_manifest

from . import warm
from .cold import _one as one_cold_start
from .floor import FloorProbe
from .init_floor import measure_init_floor
from .records import kinesis_event, text_of
from .stats import median, ratio, summarize
from .workspace import DEMO_NAME, DEMO_VERSION

LEAN, SKLEARN = "lean", "sklearn"
MEMORIES_MB = (1769, 1024, 512, 256, 128)
INIT_LIMIT_MS = 10_000.0  # Lambda's INIT phase limit
WARM_BATCHES = (1, 100, 1000)
COST_BATCHES = (100, 1000)
FUNCTION_DIR = Path(__file__).resolve().parent.parent / "function"

_LEAN_PROBE = r"""
import json, os, sys, time
import lean_predictor
model_dir = sys.argv[1]
texts = json.loads(sys.stdin.readline())
clock = time.perf_counter
def load():
    return lean_predictor.load_lean_dir(model_dir)
model = load()
def run(batch):
    t = clock(); rows = model.transform(batch); transform = (clock() - t) * 1000.0
    t = clock(); model.estimator.predict_with_proba(rows); predict = (clock() - t) * 1000.0
    return {"transform": transform, "predict_with_proba": predict}
print(json.dumps({"ready": True, "proba": model.estimator.proba is not None, "pickle_bytes": 0}), flush=True)
for line in sys.stdin:
    request = json.loads(line)
    if "n" in request:
        t0 = clock()
        stages = run(texts[: request["n"]])
        print(json.dumps({"ms": (clock() - t0) * 1000.0, "stages": stages}), flush=True)
    elif "load" in request:
        t = clock(); load(); print(json.dumps({"ms": (clock() - t) * 1000.0}), flush=True)
    else:
        break
"""


def _log(message: str) -> None:
    print(f"bench: lean: {message}", file=sys.stderr, flush=True)


def build_lean_manifest(config: Any, artifacts_root: Path, work: Path) -> Path:
    return build_all(config.requirements, artifacts_root, config.function_dir, work / "dist", runtime=config.runtime, predictor="lean")


def _cold_at(manifests: dict[str, Path], event: dict[str, Any], memory_mb: int, repeats: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, float]]] = {key: [] for key in manifests}
    errors: dict[str, str] = {}
    for i in range(repeats):
        for key in list(manifests) if i % 2 == 0 else list(reversed(manifests)):
            if key in errors:
                continue
            try:
                runs[key].append(one_cold_start(manifests[key], event, memory_mb))
            except Exception as exc:  # out of memory, INIT timeout: "does not run at this memory"
                errors[key] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    out = {}
    for key, rows in runs.items():
        init = summarize([r["init_ms"] for r in rows]) if rows else None
        fits = key not in errors and bool(rows) and max(r["init_ms"] for r in rows) < INIT_LIMIT_MS
        out[key] = {"memory_mb": memory_mb, "runs": len(rows), "init_ms": init, "error": errors.get(key), "fits_init_limit": fits,
                    "first_billed_ms": summarize([r["first_billed_ms"] for r in rows]) if rows else None}  # fmt: skip
    return out


def _cost_at(manifest: Path, records: Sequence[bytes], memory_mb: int, init_ms: float, repeats: int) -> dict[str, Any]:
    """$ per 50,000-record ingest at memory_mb: warm billed p50 per batch size x invocations + one INIT + requests."""
    measured = warm.measure_warm({"k": manifest}, records, memory_mb, COST_BATCHES, repeats, warmup=1)["variants"]["k"]["batches"]
    out = {}
    for size in COST_BATCHES:
        billed = measured[str(size)]["billed_ms"]["p50"]
        invocations = math.ceil(SEED_INGEST_RECORDS / size)
        cost = ingest_cost(billed * invocations + billed_duration_ms(init_ms), memory_mb, requests=invocations)
        out[str(size)] = {"billed_ms_p50": billed, "invocations": invocations, "usd": cost.total_usd, "request_usd": cost.request_usd}
    return out


def measure(config: Any, space: Any, work: Path, records: Sequence[bytes], full_mb: int) -> dict[str, Any]:
    lean_manifest = build_lean_manifest(config, space.artifacts_root, work)
    manifests = {LEAN: lean_manifest, SKLEARN: space.manifest}
    lean_doc = load_manifest(lean_manifest)
    model_key = f"{DEMO_NAME}/{DEMO_VERSION}"
    proof = lean_doc["models"][model_key].get("lean_proof")
    first = kinesis_event(records[:1])
    memories = (full_mb,) if config.quick else MEMORIES_MB
    repeats = config.cold_repeats

    _, lean_deps = deps_entry_for(lean_doc, model_key)
    lean_python = Path(space.deps.interpreter)
    lean_layer = _layer_python_dir(lean_manifest, lean_deps)
    cold: dict[str, dict[str, Any]] = {LEAN: {}, SKLEARN: {}}
    init_floor: dict[str, dict[str, Any]] = {}
    for memory_mb in memories:
        _log(f"cold starts at {memory_mb} MB, {repeats} each, and the INIT floor (interpreter, import numpy)")
        for key, value in _cold_at(manifests, first, memory_mb, repeats).items():
            cold[key][str(memory_mb)] = value
        init_floor[str(memory_mb)] = measure_init_floor(lean_python, lean_layer, memory_mb, repeats)
    smallest = {
        key: min((int(m) for m, v in by_memory.items() if v["fits_init_limit"]), default=None) for key, by_memory in cold.items()
    }
    init_ratio = {
        m: ratio(cold[LEAN][m]["init_ms"]["p50"], cold[SKLEARN][m]["init_ms"]["p50"])
        for m in cold[LEAN]
        if cold[LEAN][m]["init_ms"] and cold[SKLEARN][m]["init_ms"]
    }

    texts = [text_of(r) for r in records[: max(WARM_BATCHES)]]
    lean_zip = lean_manifest.parent / lean_doc["models"][model_key]["file"]
    _log(f"warm batches {WARM_BATCHES} at {full_mb} MB, lean + scikit-learn + lean floor, {config.repeats} rounds")
    with FloorProbe(lean_python, lean_layer, lean_zip, texts, script=_LEAN_PROBE, extra_paths=[FUNCTION_DIR]) as lean_probe, \
            FloorProbe(space.interpreter, space.deps.python_dir, space.model_zip, texts) as sklearn_probe:  # fmt: skip
        probe = BothFloors(lean_probe, sklearn_probe)
        warm_result = warm.measure_warm(manifests, records, full_mb, WARM_BATCHES, config.repeats, floor=probe)
    batches = {key: warm_result["variants"][key]["batches"] for key in manifests}
    floor_p50 = {size: warm_result["floor"]["batches"][size]["p50"] for size in warm_result["floor"]["batches"]}
    sklearn_floor_p50 = {str(size): median(probe.second_ms[size][-config.repeats :]) for size in WARM_BATCHES}

    costs = {}
    for key in manifests:
        memory_mb = smallest[key]
        if memory_mb is None:
            costs[key] = None
            continue
        _log(f"cost: {key} at its cheapest memory, {memory_mb} MB")
        costs[key] = {"memory_mb": memory_mb, "batches": _cost_at(manifests[key], records, memory_mb, cold[key][str(memory_mb)]["init_ms"]["p50"], max(3, config.repeats // 10))}

    sklearn_doc = load_manifest(space.manifest)
    return {
        "memories_mb": list(memories),
        "proof": proof,
        "cold": cold,
        "init_lean_over_sklearn": init_ratio,
        "init_floor": init_floor,
        "smallest_memory_mb_init_under_10s": smallest,
        "warm": {
            "memory_mb": full_mb,
            "repeats": warm_result["repeats"],
            "p50_ms": {key: {size: b["duration_ms"]["p50"] for size, b in batches[key].items()} for key in manifests},
            "floor_p50_ms": floor_p50,
            "lean_over_floor_paired_p50": warm_result["floor"]["paired_ratio_p50"],
            "lean_over_sklearn": {size: ratio(batches[LEAN][size]["duration_ms"]["p50"], batches[SKLEARN][size]["duration_ms"]["p50"]) for size in batches[LEAN]},
            "sklearn_floor_p50_ms": sklearn_floor_p50,
            # decode / predict / sink / in_handler from the handler's log line; around_handler = the runtime's
            # json.loads of the event and json.dumps of the response (it carries the predictions with SINK=none)
            "breakdown_ms_p50": {key: {size: b["breakdown_ms_p50"] for size, b in batches[key].items()} for key in manifests},
            "sklearn_over_floor_p50": {size: ratio(batches[SKLEARN][size]["duration_ms"]["p50"], sklearn_floor_p50[size]) for size in batches[SKLEARN]},
        },
        "sizes": {
            LEAN: {"unzipped_bytes": lean_deps["unzipped_bytes"], "zipped_bytes": lean_deps["zipped_bytes"], "packages": lean_deps["packages"]},
            SKLEARN: {"unzipped_bytes": sklearn_doc["deps"]["unzipped_bytes"], "zipped_bytes": sklearn_doc["deps"]["zipped_bytes"]},
            "model_unzipped_bytes": {LEAN: lean_doc["models"][model_key]["unzipped_bytes"], SKLEARN: sklearn_doc["models"][model_key]["unzipped_bytes"]},
        },
        "cost_at_cheapest_memory": costs,
    }


class BothFloors:
    """Two floor probes timed in the same rounds: measure_warm pairs the first (lean's) with the first
    variant; the second's times (scikit-learn's bare transform + predict + predict_proba) are kept per batch size."""

    def __init__(self, first: FloorProbe, second: FloorProbe) -> None:
        self.first, self.second = first, second
        self.proba, self.pickle_bytes = first.proba, first.pickle_bytes
        self.second_ms: dict[int, list[float]] = {}

    def time(self, batch_size: int) -> tuple[float, dict[str, float]]:
        self.second_ms.setdefault(batch_size, []).append(self.second.time(batch_size)[0])
        return self.first.time(batch_size)

    def load_ms(self) -> float:
        return self.first.load_ms()


def _layer_python_dir(manifest: Path, deps_entry: dict[str, Any]) -> Path:
    """The lean deps layer's python/ dir, extracted once by the local runtime's own cache."""
    from mlayer.runtime.layout import LayerZip, layer_dir

    zip_path = (manifest.parent / deps_entry["file"]).resolve()
    return layer_dir(LayerZip("deps_lean", zip_path, deps_entry["sha256"])) / "python"


def _least_ratio(warm_section: dict[str, Any], kind: str, size: str, floor_ms: float | None) -> float | None:
    """The least handler / floor ratio the runtime leaves reachable: (floor + the runtime's JSON around
    the handler) / floor, as if decoding the records and building the documents cost nothing."""
    parts = ((warm_section.get("breakdown_ms_p50") or {}).get(kind) or {}).get(size)
    if not parts or not floor_ms:
        return None
    return (floor_ms + parts["around_handler"]) / floor_ms


def targets(lean: dict[str, Any] | None, sklearn_floor_ratio: dict[str, float] | None) -> list[dict[str, Any]]:
    """Issue 11's targets, PASS / MISS / n/a, from this section (and the suite's scikit-learn floor ratios).

    `least` is, where it is measured, the best any handler could reach on this runtime in this run: INIT
    can be no shorter than the interpreter importing numpy, and a handler no faster than the floor plus
    the runtime's own JSON around it. A target below its `least` cannot be met by changing the handler."""
    if not lean:
        return []
    full = str(lean["memories_mb"][0])
    init = lean["init_lean_over_sklearn"].get(full)
    cold256 = (lean["cold"]["lean"].get("256") or {}).get("init_ms") or {}
    numpy256 = ((lean.get("init_floor") or {}).get("256") or {}).get("numpy") or {}
    warm_ratio = lean["warm"]["lean_over_sklearn"].get("100")
    cost = ((lean["cost_at_cheapest_memory"].get("lean") or {}).get("batches") or {}).get("1000", {}).get("usd")
    w = lean["warm"]
    rows = [
        ("lean_init_vs_sklearn", f"lean cold INIT / scikit-learn's, p50, {full} MB", init, 0.15, "x", None),
        ("lean_deps_unzipped_mb", "lean deps layer, unzipped", lean["sizes"]["lean"]["unzipped_bytes"] / 1e6, 50.0, "MB", None),
        ("lean_init_256mb_ms", "lean cold INIT at 256 MB, p50", cold256.get("p50"), 1000.0, "ms", numpy256.get("p50")),
        ("lean_warm_b100_vs_sklearn", "warm batch-100 handler: lean / scikit-learn", warm_ratio, 1.0, "x", None),
        ("lean_cost_b1000_usd", "lean $ per 50,000-record ingest at batch 1,000, cheapest memory", cost, 0.000062, "USD", None),
    ]
    for size in ("100", "1000"):
        rows.append((f"lean_b{size}_vs_floor", f"lean handler / lean floor, batch {size} (paired p50)", w["lean_over_floor_paired_p50"].get(size), 1.3, "x",
                     _least_ratio(w, LEAN, size, w["floor_p50_ms"].get(size))))  # fmt: skip
        sklearn_ratio = (sklearn_floor_ratio or w.get("sklearn_over_floor_p50") or {}).get(size)
        rows.append((f"sklearn_b{size}_vs_floor", f"scikit-learn handler / its floor, batch {size}", sklearn_ratio, 1.3, "x",
                     _least_ratio(w, SKLEARN, size, (w.get("sklearn_floor_p50_ms") or {}).get(size))))  # fmt: skip
    out = []
    for key, what, measured, limit, unit, least in rows:
        ok = None if measured is None or (isinstance(measured, float) and math.isnan(measured)) else measured <= limit
        out.append({"key": key, "what": what, "measured": measured, "limit": limit, "unit": unit, "least": least,
                    "verdict": "n/a" if ok is None else ("PASS" if ok else "MISS")})  # fmt: skip
    return out


def section(results: dict[str, Any]) -> list[str]:
    lean = results.get("lean")
    if not lean:
        return []
    lines = ["", "## Lean runtime (numpy only) vs scikit-learn, same model, same run", ""]
    proof = lean.get("proof") or {}
    lines.append(f"Proof at build: exact={proof.get('exact')} on {proof.get('corpus_texts')} texts (labels, probabilities, decision values as float64 bits).")
    floor = lean.get("init_floor") or {}
    lines += ["", "| memory MB | lean INIT p50 ms | scikit-learn INIT p50 ms | lean / sklearn | floor: interpreter | floor: interpreter + import numpy |",
              "|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for memory in lean["memories_mb"]:
        m = str(memory)
        cells = []
        for key in ("lean", "sklearn"):
            entry = lean["cold"][key][m]
            cells.append(f"{entry['init_ms']['p50']:,.0f}" if entry["init_ms"] and entry["fits_init_limit"] else (f"fails: {entry['error'][:60]}" if entry["error"] else f"{entry['init_ms']['p50']:,.0f} (over 10 s)"))
        r = lean["init_lean_over_sklearn"].get(m)
        f = floor.get(m) or {}
        floors = [f"{f[name]['p50']:,.0f}" if name in f else "" for name in ("interpreter", "numpy")]
        lines.append(f"| {memory} | {cells[0]} | {cells[1]} | {'' if r is None else f'{r:.3f}x'} | {floors[0]} | {floors[1]} |")
    if floor:
        lines += ["", "The floor columns: the runtime's interpreter started like the worker (same cgroup share), doing nothing, "
                  "then only `import numpy` from the lean layer. No numpy-based handler's INIT can be below the last column."]  # fmt: skip
    smallest = lean["smallest_memory_mb_init_under_10s"]
    lines += ["", f"Smallest memory with INIT under 10 s: lean {smallest['lean']} MB, scikit-learn {smallest['sklearn']} MB.", ""]
    lines += ["| batch | lean p50 ms | scikit-learn p50 ms | lean floor p50 ms | lean / floor | scikit-learn floor p50 ms | scikit-learn / floor | lean / sklearn |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    w = lean["warm"]
    for size in w["p50_ms"]["lean"]:
        lines.append(f"| {size} | {w['p50_ms']['lean'][size]:.2f} | {w['p50_ms']['sklearn'][size]:.2f} | {w['floor_p50_ms'][size]:.2f} "
                     f"| {w['lean_over_floor_paired_p50'][size]:.2f}x | {w['sklearn_floor_p50_ms'][size]:.2f} | {w['sklearn_over_floor_p50'][size]:.2f}x "
                     f"| {w['lean_over_sklearn'][size]:.2f}x |")  # fmt: skip
    parts_by_kind = w.get("breakdown_ms_p50") or {}
    if parts_by_kind:
        lines += ["", "Where the handler's time goes (p50 ms): decode, predict (model + prediction documents), and around the handler "
                  "(the runtime's json.loads of the event and json.dumps of the response, which carries every prediction with SINK=none).", "",
                  "| kind | batch | duration | decode | predict | around handler | floor |", "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        floors = {LEAN: w["floor_p50_ms"], SKLEARN: w.get("sklearn_floor_p50_ms") or {}}
        for key, by_size in parts_by_kind.items():
            for size, parts in by_size.items():
                if parts and size in floors[key]:
                    lines.append(f"| {key} | {size} | {parts['duration']:.2f} | {parts['decode']:.2f} | {parts['predict']:.2f} "
                                 f"| {parts['around_handler']:.2f} | {floors[key][size]:.2f} |")  # fmt: skip
    s = lean["sizes"]
    lines += ["", f"Deps layer: lean {s['lean']['unzipped_bytes'] / 1e6:.1f} MB unzipped / {s['lean']['zipped_bytes'] / 1e6:.1f} MB zipped; "
              f"scikit-learn {s['sklearn']['unzipped_bytes'] / 1e6:.1f} MB / {s['sklearn']['zipped_bytes'] / 1e6:.1f} MB.", ""]  # fmt: skip
    lines += ["| kind | cheapest memory MB | $/ingest batch 100 | $/ingest batch 1,000 |", "|---|---:|---:|---:|"]
    for key, cost in lean["cost_at_cheapest_memory"].items():
        if cost is None:
            lines.append(f"| {key} | none fits | | |")
            continue
        b = cost["batches"]
        lines.append(f"| {key} | {cost['memory_mb']} | ${b['100']['usd']:.6f} | ${b['1000']['usd']:.6f} |")
    lines += ["", "| target | measured | limit | least reachable here | verdict |", "|---|---:|---:|---:|---|"]
    for t in results.get("lean_targets") or []:
        value = "n/a" if t["measured"] is None else f"{t['measured']:.4g} {t['unit']}"
        least = "" if t.get("least") is None else f"{t['least']:.4g} {t['unit']}"
        lines.append(f"| {t['what']} | {value} | {t['limit']} {t['unit']} | {least} | {t['verdict']} |")
    lines += ["", "Least reachable here: INIT no shorter than the interpreter importing numpy at that memory; a handler "
              "no faster than its floor plus the runtime's JSON around it (decoding and documents for free).", ""]  # fmt: skip
    return lines
