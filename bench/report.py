"""The results as markdown tables: targets first, then one table per measurement."""

from __future__ import annotations

import math
from typing import Any

from . import head_to_head
from .lean import section as lean_section
from .variants import OURS, SEED

MB = 1024 * 1024


def _n(value: Any, digits: int = 1, suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    if isinstance(value, int):
        return f"{value:,}{suffix}"
    return f"{value:,.{digits}f}{suffix}"


def _usd(value: Any) -> str:
    if value is None:
        return "–"
    return f"${value:.6f}" if value < 0.01 else f"${value:,.4f}"


def _mb(value: Any) -> str:
    return "–" if value is None else f"{value / MB:,.1f} MB"


def _table(header: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    align = align or "l" + "r" * (len(header) - 1)
    marks = ["---:" if a == "r" else "---" for a in align]
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |", *("| " + " | ".join(r) + " |" for r in rows), ""]


def _target_value(t: dict[str, Any]) -> tuple[str, str]:
    unit = t["unit"]
    if unit == "USD":
        return _usd(t["measured"]), f"≤ {_usd(t['limit'])}"
    if isinstance(t["limit"], bool):
        return _n(t["measured"]), "yes"
    digits = 2 if unit == "x" else 1
    sign = "≥" if t["key"] in ("seed_speedup_b100", "seed_scale_speedup_b100") else "≤"
    return _n(t["measured"], digits, f" {unit}" if unit else ""), f"{sign} {_n(float(t['limit']), digits, f' {unit}')}"


def targets_section(results: dict[str, Any]) -> list[str]:
    rows = []
    for t in results["targets"]:
        measured, limit = _target_value(t)
        rows.append([t["what"], measured, limit, f"**{t['verdict']}**", t["conditions"] or ""])
    return ["## Targets", "", *_table(["target", "measured", "target", "result", "how measured"], rows, "lrrcl")]


def cold_section(results: dict[str, Any]) -> list[str]:
    rows = []
    labels = results["variants"]
    for tier, cold in results["cold"].items():
        base = cold[OURS]["init_ms"]["p50"]
        for key, c in cold.items():
            rows.append([
                labels[key]["label"], f"{c['memory_mb']:,} MB" + (" (full vCPU)" if tier == "full_vcpu" else " (configured, throttled)"),
                _n(c["init_ms"]["p50"], 0), _n(c["first_invoke_ms"]["p50"], 1), _n(c["ready_wall_ms"]["p50"], 0),
                _n(c["init_ms"]["p50"] / base if base else None, 2, "x"), _n(c["max_memory_used_mb"]), str(c["init_ms"]["n"]),
            ])  # fmt: skip
    return [
        "## 1. Cold start",
        "",
        "INIT = the runtime's Init Duration (worker process start to handler module imported, model loaded); "
        "first invoke = the first invocation's Duration (batch of 1); ready = wall time from creating the "
        "environment to the first response. Medians over fresh execution environments.",
        "",
        *_table(["variant", "memory", "INIT ms", "first invoke ms", "ready (wall) ms", "INIT / ours", "max MB", "runs"], rows),
    ]


def warm_section(results: dict[str, Any]) -> list[str]:
    out = ["## 2. Warm invocations", ""]
    floor = results["floor"]["batches"]
    for tier, warm in results["warm"].items():
        ours, seed = warm[OURS]["batches"], warm[SEED]["batches"]
        rows = []
        for size, b in ours.items():
            s = seed.get(size)
            f = floor.get(size) if tier == "full_vcpu" else None
            rows.append([
                size, _n(b["duration_ms"]["p50"], 2), _n(b["duration_ms"]["p99"], 2), _n(f["p50"], 2) if f else "–",
                _n(b["duration_ms"]["p50"] / f["p50"], 2, "x") if f else "–",
                _n(s["duration_ms"]["p50"], 1) if s else "–", _n(s["duration_ms"]["p50"] / b["duration_ms"]["p50"], 0, "x") if s else "–",
                _n(b["records_per_s"], 0), _n(b["records_per_s_wall"], 0), _n(b["billed_ms"]["p50"], 0),
            ])  # fmt: skip
        kind = "for the handler targets" if tier == "full_vcpu" else "what a deployed function gets; used for cost"
        out += [
            f"### {warm['memory_mb']:,} MB, {warm['cpu']} ({kind})",
            "",
            f"Handler Duration from the REPORT line; {warm['repeats']} rounds per batch size, each invoking ours and the seed-style "
            "handler with the same event (order alternating)"
            + (", and timing the floor (bare pre1.transform -> pre2.transform -> predict + predict_proba on the same texts, "
               "in the target interpreter with the layer, unthrottled, in-process)." if tier == "full_vcpu" else "."),
            "",
            *_table(["batch", "ours p50 ms", "ours p99 ms", "floor p50 ms", "ours / floor", "seed-style p50 ms", "seed / ours",
                     "records/s (handler)", "records/s (incl. runtime IPC)", "billed ms p50"], rows),  # fmt: skip
        ]
    return out


def ingest_section(results: dict[str, Any]) -> list[str]:
    i = results["ingest"]
    s = i["summary"]
    rows = [[
        f"{i['records']:,}", str(i["batch_size"]), f"{i['memory_mb']:,} MB", _n(i["wall_s"], 2), _n(s["wall_s"], 2),
        _n(s["init_ms"], 0), f"{s['invocations']:,}", _n(s["p50_ms"], 2), _n(s["p99_ms"], 2), f"{s['written']:,}", str(s["lost"]),
        _n(i["records_per_s"], 0),
    ]]  # fmt: skip
    return [
        "## 3. Ingest replay (mlayer.replay, one shard, CPU throttled to the configured memory)",
        "",
        *_table(["records", "batch", "memory", "wall s (call to return)", "replay wall s", "INIT ms", "invocations",
                 "p50 ms", "p99 ms", "written", "lost", "records/s"], rows),  # fmt: skip
    ]


def replay_scale_section(results: dict[str, Any]) -> list[str]:
    scale = results.get("replay_scale")
    if not scale:
        return []
    rows = [[f"{r['records']:,}", str(r["batch_size"]), _n(r["replay_peak_rss_mb"], 1), _n(r["wall_s"], 1), f"{r['records_per_s']:,}",
             f"{r['invocations']:,}", f"{r['written']:,}", str(r["lost"])] for r in scale["rows"]]  # fmt: skip
    return [
        "## 3b. Replay memory against stream length (the replay process alone, SINK=none, CPU not throttled)",
        "",
        *_table(["records", "batch", "replay peak RSS MB", "wall s", "records/s", "invocations", "written", "lost"], rows),
        "",
        f"Peak RSS at the largest size / the smallest: {scale['rss_ratio']}x (flat means ~1x; the records are streamed).",
    ]


def sizes_section(results: dict[str, Any]) -> list[str]:
    s = results["sizes"]
    rows = [[r["artifact"], _mb(r["unzipped_bytes"]), _mb(r["zipped_bytes"]), _n(r["direct_upload_ok"])] for r in s["rows"]]
    return [
        "## 4. Artifact sizes",
        "",
        f"Lambda: {s['limits']['unzipped_bytes']:,} bytes (250 MB) unzipped for function + layers; "
        f"{s['limits']['direct_upload_zipped_bytes']:,} bytes (50 MB) zipped for a direct upload. "
        f"Headroom left under 250 MB: {_mb(s['headroom_bytes'])}. (MB = 2^20 bytes.)",
        "",
        *_table(["artifact", "unzipped", "zipped", "direct upload ≤ 50 MB"], rows),
    ]


def builds_section(results: dict[str, Any]) -> list[str]:
    b = results["builds"]
    cold = b["cold"]
    rows = []
    if "skipped" in cold:
        rows.append(["cold (empty MLAYER_CACHE_DIR, warm pip cache)", "not run (" + cold["skipped"] + ")", "–"])
    else:
        rows.append(["cold (empty MLAYER_CACHE_DIR, warm pip cache)", _n(cold["wall_s"], 1),
                     f"{len(cold['runs'])} builds from clean directories; identical sha256: {_n(cold['reproducible'])}"])  # fmt: skip
    cached = b["cached"]
    rows.append(["cached rebuild, no change", _n(cached["wall_s"], 2),
                 f"{len(cached['walls_s'])} runs; artifacts changed: {_n(cached['artifacts_changed'])}; "
                 f"zips rewritten: {', '.join(cached['files_rewritten']) or 'none'}"])  # fmt: skip
    mo = b["model_only"]
    rows.append(["model-only (second version registered)", _n(mo["wall_s"], 2),
                 f"changed: {', '.join(mo['changed_artifacts']) or 'none'}; new files: {', '.join(mo['new_files']) or 'none'}; "
                 f"only the model zip: {_n(mo['only_model_rebuilt'])}"])  # fmt: skip
    out = ["## 5. Build", "", "Each build is a fresh `build_all` process (interpreter start-up included).", "",
           *_table(["build", "wall s (p50)", "details"], rows, "lrl")]  # fmt: skip
    if "runs" in cold and cold["runs"]:
        hashes = cold["runs"][0]["hashes"]
        out += ["sha256 of the cold builds:", ""]
        for key in hashes:
            values = {run["hashes"].get(key, "?")[:16] for run in cold["runs"]}
            out.append(f"- {key}: {', '.join(sorted(values))}")
        out.append("")
    if "head_to_head" in b:  # results from before the head-to-head existed have none
        out += ["### Head-to-head: the deps layer alone", "", *head_to_head.table(b["head_to_head"])]
    return out


def cost_section(results: dict[str, Any]) -> list[str]:
    c = results["cost"]
    rows = []
    for size, r in c["batches"].items():
        seed_m = r["seed_measured"]
        scaled = f"{r['records_replayed']:,} replayed, scaled" if r["scaled"] else f"{r['records_replayed']:,} replayed"
        rows.append([
            size, scaled, _n(r["mean_billed_ms"], 1), _usd(r["ours_usd"]), _usd(r["ours_compute_usd"]),
            _usd(seed_m["usd"]) if seed_m else "–", _usd(r["seed_article_usd"]), _n(r["seed_over_ours"], 0, "x"),
            _n(r["break_even_ingests_per_month"], 0),
        ])  # fmt: skip
    return [
        f"## 6. Cost per 50,000-record ingest ({c['memory_mb']:,} MB {c['architecture']}, CPU throttled, INIT billed)",
        "",
        f"Prices as of {c['prices_taken']}: ${c['price_gb_s_usd']} per GB-s, ${c['price_request_usd'] * 1e6:.2f} per million requests, 1 ms billing. "
        "'ours' includes the request charge; 'compute only' is comparable to the seed article, which left requests out. "
        f"Break-even against SageMaker ml.t2.medium (${c['sagemaker_monthly_usd']}/month; the seed's was {c['seed_break_even_ingests']:,} ingests/month at batch 100). "
        "'seed-style (this run)' is the baseline handler's billed duration measured here at the same memory.",
        "",
        *_table(["batch", "records", "mean billed ms", "ours $/ingest", "ours compute only", "seed-style (this run)",
                 "seed article", "article / ours", "break-even ingests/month"], rows),  # fmt: skip
    ]


def memory_section(results: dict[str, Any]) -> list[str]:
    m = results["memory"]
    rows = [
        [f"{t['memory_mb']} MB", f"ok ({t['trials']}/{t['trials']})" if t["ok"] else f"fails (trial {t['trials']})", _n(t["peak_rss_mb"]), _n(t["init_ms"], 0), (t["error"] or "")[:120]]
        for t in m["tried"]
    ]
    peak = m["max_memory_used_mb"]
    return [
        "## 7. Memory",
        "",
        f"Max memory used per execution environment (peak RSS, INIT included): ours {_n(peak.get(OURS))} MB, "
        f"seed-style {_n(peak.get(SEED))} MB (the seed article: 151 MB). "
        f"Smallest memory_size of {', '.join(map(str, m['candidates_mb']))} MB that runs the demo model "
        f"(each candidate: {m['trials']} fresh environments, cold start + batches {', '.join(map(str, m['batch_sizes']))}, memory enforced, "
        f"CPU throttled to its share): **{_n(m['smallest_mb'])} MB**. An INIT over 10 s is re-run by Lambda inside the first invoke "
        "(counted against the timeout), as the runtime does here.",
        "",
        *_table(["memory", "result", "peak RSS MB", "INIT ms", "error"], rows, "lrrrl"),
    ]


def breakdown_section(results: dict[str, Any]) -> list[str]:
    """Where the warm time goes (handler log fields) next to the floor's stages, at a full vCPU."""
    full = results["warm"]["full_vcpu"]
    floor = results["floor"]
    rows = []
    for size, b in full[OURS]["batches"].items():
        parts = b.get("breakdown_ms_p50")
        stages = floor["batches"].get(size, {}).get("stages_ms_p50", {})
        if not parts:
            continue
        rows.append([
            size, _n(parts["duration"], 2), _n(parts["decode"], 2), _n(parts["predict"], 2), _n(parts["sink"], 2),
            _n(parts["around_handler"], 2), _n(floor["batches"][size]["p50"], 2),
            " / ".join(f"{k} {_n(v, 2)}" for k, v in stages.items()) or "–",
        ])  # fmt: skip
    if not rows:
        return []
    load = floor.get("load_ms", {})
    seed_note = ""
    b100 = full[OURS]["batches"].get("100", {}).get("duration_ms", {}).get("p50")
    if b100 and load.get("p50") and floor.get("pickle_bytes"):
        needed_ms = 49 * b100
        needed_mb = needed_ms / load["p50"] * floor["pickle_bytes"] / MB
        seed_note = (
            f" So at batch 100 the seed-style / ours ratio is bounded near (ours + load) / ours = "
            f"{_n((b100 + load['p50']) / b100, 1)}x plus the seed's print and its cold first call; 50x would need a per-call "
            f"load of ~{_n(needed_ms, 0)} ms, i.e. roughly {_n(needed_mb, 0)} MB of pickles at this load rate."
        )
    return [
        f"### Where the warm time goes ({full['memory_mb']:,} MB)",
        "",
        "From the handler's own `batch processed` log line (medians): decode = base64 + JSON + validation of every record; "
        "predict = transforms + predict + predict_proba + building each record's JSON-safe prediction; around the handler = "
        "the runtime's json.loads of the event and json.dumps of the response. Floor stages are the bare model calls.",
        "",
        *_table(["batch", "Duration ms", "decode", "predict", "sink", "around handler", "floor", "floor stages ms"], rows),
        f"The seed-style handler adds joblib.load of the model files to every call: {_n(load.get('p50'), 2)} ms (median, modules "
        f"already imported) for {_n(floor.get('pickle_bytes'))} bytes of pickles.{seed_note}",
        "",
    ]


def seed_scale_section(results: dict[str, Any]) -> list[str]:
    """Ours vs seed-style on the seed-sized model: cold INIT, warm p50/p99, the per-call reload."""
    scale = results.get("seed_scale")
    if not scale:
        return []
    labels = results["variants"]
    cold_rows = [[labels[key]["label"], _n(c["init_ms"]["p50"], 0), _n(c["first_invoke_ms"]["p50"], 1), _n(c["ready_wall_ms"]["p50"], 0),
                  _n(c["max_memory_used_mb"]), str(c["init_ms"]["n"])] for key, c in scale["cold"].items()]  # fmt: skip
    warm_rows = []
    for size, ours in scale["warm"][OURS]["batches"].items():
        seed = scale["warm"][SEED]["batches"][size]
        warm_rows.append([
            size, _n(ours["duration_ms"]["p50"], 2), _n(ours["duration_ms"]["p99"], 2), _n(scale["floor"].get(size, {}).get("p50"), 2),
            _n(seed["duration_ms"]["p50"], 1), _n(seed["duration_ms"]["p99"], 1), _n(scale["seed_over_ours"].get(size), 1, "x"),
        ])  # fmt: skip
    memory = {key: scale["warm"][key]["max_memory_used_mb"] for key in (OURS, SEED)}
    return [
        f"### Seed-scale model ({scale['model']}, {_mb(scale['pickle_bytes'])} of pickles, {scale['memory_mb']:,} MB)",
        "",
        f"The same trainer with `scale=\"seed\"` (12,000 tickets with seeded product codes, ticket ids and customer names; "
        f"1–2-grams, every term kept): {_n(scale['pickle_bytes'])} bytes of pickles, model layer zip {_n(scale['model_zip_bytes'])} bytes. "
        f"joblib.load of its three files, as the seed-style handler does on every call: {_n(scale['load_ms'].get('p50'), 1)} ms "
        f"(median, modules already imported). Max memory used: ours {memory[OURS]} MB, seed-style {memory[SEED]} MB.",
        "",
        *_table(["variant", "INIT ms", "first invoke ms", "ready (wall) ms", "max MB", "runs"], cold_rows),
        f"Warm: {scale['repeats']} rounds per batch size, ours and seed-style with the same event (order alternating), and the floor.",
        "",
        *_table(["batch", "ours p50 ms", "ours p99 ms", "floor p50 ms", "seed-style p50 ms", "seed-style p99 ms", "seed / ours"], warm_rows),
    ]


def profile_section(results: dict[str, Any]) -> list[str]:
    prof = results.get("profile")
    if not prof:
        return []
    imports = [f"{row['cumulative_ms']:8.1f} ms  {'  ' * max(0, row['depth'])}{row['module']}" for row in prof["importtime_top"][:18]]
    cprofile = [line for line in prof["cprofile_top"].splitlines() if line.strip()][:24]
    return [
        "## Profile (ours, unthrottled, in-process in the target interpreter)",
        "",
        f"`python -X importtime` of INIT ({_n(prof['init_ms_with_importtime'], 0)} ms with importtime's overhead, "
        f"{prof['modules_imported']:,} modules), cumulative, largest first:",
        "",
        "```",
        *imports,
        "```",
        "",
        f"cProfile of {prof['rounds']} warm invocations at batch {prof['batch_size']} (handler + event/response JSON):",
        "",
        "```",
        *cprofile,
        "```",
        "",
    ]


def render(results: dict[str, Any]) -> str:
    machine = results["machine"]
    config = results["config"]
    head = [
        f"# mlayer benchmark, {results['date']}" + (" (--quick: tiny sizes, not a measurement)" if results["quick"] else ""),
        "",
        f"{machine['cpus']} CPUs ({machine['cpu_model']}), load average {machine.get('load_avg_start')} at start and "
        f"{machine.get('load_avg_end')} at the end; target Python {machine['target_python']} ({config['runtime']}); "
        f"local Lambda runtime with memory enforcement and CPU quota = memory / 1,769 MB. Configured memory "
        f"({config.get('configured_memory_source', 'configured')}): {config['configured_memory_mb']:,} MB. All timings are medians unless marked p99; "
        "every ratio compares two numbers from this run.",
        "",
    ]
    sections = [targets_section, cold_section, warm_section, breakdown_section, seed_scale_section, lean_section, ingest_section, replay_scale_section, sizes_section, builds_section, cost_section, memory_section, profile_section]
    body: list[str] = []
    for section in sections:
        body += section(results)
    notes = results.get("notes") or []
    if notes:
        body += ["## Notes", "", *(f"- {n}" for n in notes), ""]
    return "\n".join(head + body)


def targets_text(results: dict[str, Any]) -> str:
    return "\n".join(targets_section(results)[2:])


