"""The demo, end to end: model, artifacts, a seed-like 50,000-record ingest at batch 1, 10 and 100.

Predictions go to the handler's real S3 sink on a local moto server; the replay then reads the
bucket back and accounts for every record (written, dead-lettered, reported and sent on, or lost).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..build_all import build_all
from ..cost import SEED_INGEST_RECORDS, billed_duration_ms, ingest_cost
from ..errors import MlayerError
from ..fsutil import write_json_atomic
from ..manifest import deps_entry_for, load_manifest
from ..replay.sinks import DEAD_LETTER_SINKS, check_invalid_records
from ..runtimes import DEFAULT_RUNTIME
from .records import ingest_records, write_records_jsonl
from .report import DemoRow, markdown_table, write_chart

DEMO_MODEL = ("MyModel", "20190104v1")
BUCKET = "mlayer-demo-predictions"
REGION = "us-east-1"


@dataclass
class DemoSettings:
    repo: Path = Path(".")
    dist: Path = Path("dist")
    records: int = SEED_INGEST_RECORDS
    batch_sizes: tuple[int, ...] = (1, 10, 100)
    # Batch 1 means one invocation per record: 50,000 round trips take minutes on 2 cores, so by
    # default it replays this many records and scales the cost to the full ingest (`--full` to not).
    batch1_sample: int | None = 5_000
    # The Terraform module's defaults, so the demo's numbers are what a default deploy costs.
    memory_mb: int = 1024
    max_retries: int = 3
    malformed_fraction: float = 0.01
    sink: str = "s3"
    # The handler's INVALID_RECORDS, one replay per mode: None runs both where the sink can hold
    # dead-letter entries (s3), so the table shows what each costs; "report" or "dead-letter" one.
    invalid_records: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    # When the demo model is served lean, replay the largest batch once more with the scikit-learn
    # build of the same model, so the table compares the two runtimes on the same records.
    compare_sklearn: bool = True

    @property
    def modes(self) -> tuple[str, ...]:
        if self.invalid_records is not None:
            return (self.invalid_records,)
        return ("dead-letter", "report") if self.sink in DEAD_LETTER_SINKS else ("report",)

    @property
    def suffix(self) -> str:
        """Told apart in file names, so a run of one mode keeps the default run's report beside it."""
        return f"-{self.invalid_records}" if self.invalid_records is not None else ""


def say(message: str) -> None:
    print(f"mlayer demo: {message}", file=sys.stderr, flush=True)


def ensure_demo_model(settings: DemoSettings, deps) -> None:
    from ..model.registry import list_models
    from ..model.train_demo import train_demo

    root = settings.repo / "model_artifacts"
    if DEMO_MODEL in {(ref.name, ref.version) for ref in list_models(root)} if root.is_dir() else False:
        say(f"demo model {DEMO_MODEL[0]}/{DEMO_MODEL[1]} already registered")
        return
    say("training the demo model (seeded ticket classifier)")
    train_demo(deps, root, name=DEMO_MODEL[0], version=DEMO_MODEL[1])


def build_artifacts(settings: DemoSettings, predictor: str = "auto", dist: Path | None = None) -> Path:
    from ..deps.layer import build_deps_layer

    requirements = settings.repo / "requirements" / f"{DEFAULT_RUNTIME}.txt"
    deps = build_deps_layer(requirements, settings.dist, runtime=DEFAULT_RUNTIME)
    ensure_demo_model(settings, deps)
    return build_all(
        requirements=requirements,
        artifacts_root=settings.repo / "model_artifacts",
        function_dir=settings.repo / "function",
        dist_dir=dist or settings.dist,
        runtime=DEFAULT_RUNTIME,
        models=[f"{DEMO_MODEL[0]}/{DEMO_MODEL[1]}"],
        predictor=predictor,
    )


def served_by(manifest: dict, model_key: str) -> str:
    """Which runtime serves the model, and why (the lean proof or the fallback's reason)."""
    model = manifest["models"][model_key]
    _, deps = deps_entry_for(manifest, model_key)
    proof = model.get("lean_proof") or {}
    size = f"deps layer {deps['unzipped_bytes'] / 1e6:.0f} MB unzipped" if deps else "no deps layer"
    if model.get("predictor") == "lean":
        return f"{model_key} is served by the LEAN runtime (numpy only, bit-identical to scikit-learn on {proof.get('corpus_texts', 0):,} texts; {size})"
    return f"{model_key} is served by scikit-learn ({proof.get('reason') or 'built with --predictor sklearn'}; {size})"


def scaled_ingest_cost(summary) -> float:
    """The cost of a full 50,000-record ingest from a replay of `summary.sent` records.

    Warm invocations scale with the record count; the cold starts (INIT billed) happen once per
    execution environment whatever the ingest's size, so they are not scaled.
    """
    scale = SEED_INGEST_RECORDS / summary.sent
    init_billed = summary.cold_starts * billed_duration_ms(summary.init_ms)
    warm_billed = (summary.billed_ms - init_billed) * scale
    requests = round(summary.invocations * scale)
    return ingest_cost(warm_billed + init_billed, summary.memory_mb, summary.architecture, requests=requests).total_usd


def replay_batch_size(
    settings: DemoSettings, manifest: Path, records: list[bytes], batch_size: int, sink_env: dict[str, str], mode: str, predictor: str = "sklearn"
) -> tuple[DemoRow, dict]:
    from ..replay import EnvironmentSettings, SinkSpec, replay

    out = settings.dist / "demo"
    label = f"batch-{batch_size}" + ("" if predictor == "lean" else f"-{predictor}")
    sink = (
        SinkSpec("s3", s3_bucket=BUCKET, s3_prefix=f"predictions/{mode}/{label}")
        if settings.sink == "s3"
        else SinkSpec("dir", directory=out / f"predictions-{mode}-{label}")
    )
    env = EnvironmentSettings(
        manifest_path=manifest,
        model_key=f"{DEMO_MODEL[0]}/{DEMO_MODEL[1]}",
        memory_mb=settings.memory_mb,
        # Credentials and region reach the function from this process's environment, as they would
        # from the execution role; only the endpoint is the function's own setting.
        environment={**{k: v for k, v in sink_env.items() if k == "AWS_ENDPOINT_URL"}, **settings.extra},
    )
    started = time.monotonic()
    summary = replay(
        records, batch_size=batch_size, env=env, max_retries=settings.max_retries, bisect=True,
        on_failure=out / f"on-failure-{mode}-{label}.jsonl", sink=sink,
        invalid_records=mode, stream_name="mlayer-demo-ingest",
    )
    say(f"{mode}, batch {batch_size} ({predictor}): {summary.sent:,} records in {time.monotonic() - started:.1f} s, "
        f"{summary.invocations:,} invocations, dead-lettered {summary.dead_lettered}, "
        f"sent to on-failure {summary.sent_to_on_failure}, lost {summary.lost}, duplicates {summary.duplicates}")
    row = DemoRow.from_summary(summary, scaled_ingest_cost(summary), mode, predictor)
    return row, summary.to_dict()


def run_demo(settings: DemoSettings) -> Path:
    """Run the demo; returns the markdown report's path (dist/report/demo.md)."""
    started = time.monotonic()
    for mode in settings.modes:
        check_invalid_records(mode, settings.sink)
    say("building artifacts (cached after the first run)")
    manifest = build_artifacts(settings)
    entry = load_manifest(manifest)
    say(f"artifacts ready: deps {entry['deps']['unzipped_bytes'] / 1e6:.0f} MB unzipped, manifest {manifest}")
    model_key = f"{DEMO_MODEL[0]}/{DEMO_MODEL[1]}"
    say(served_by(entry, model_key))
    predictor = entry["models"][model_key].get("predictor", "sklearn")

    records, malformed = ingest_records(settings.records, settings.malformed_fraction)
    write_records_jsonl(records, settings.dist / "demo" / "records.jsonl")
    say(f"{len(records):,} seed-like records, {len(malformed):,} malformed, written to {settings.dist / 'demo' / 'records.jsonl'}")

    rows, summaries = [], {}
    sink_context = _sink_context(settings)
    with sink_context as sink_env:
        for mode in settings.modes:
            for batch_size in settings.batch_sizes:
                chosen = records
                if batch_size == 1 and settings.batch1_sample and settings.batch1_sample < len(records):
                    chosen = records[: settings.batch1_sample]
                row, summary = replay_batch_size(settings, manifest, chosen, batch_size, sink_env, mode, predictor)
                rows.append(row)
                summaries[f"{mode}/{batch_size}"] = summary
        if predictor == "lean" and settings.compare_sklearn:
            largest, mode = max(settings.batch_sizes), settings.modes[0]
            say(f"building the scikit-learn layer of the same model to compare at batch {largest}")
            sklearn_manifest = build_artifacts(settings, predictor="sklearn", dist=settings.dist / "sklearn")
            row, summary = replay_batch_size(settings, sklearn_manifest, records, largest, sink_env, mode, "sklearn")
            rows.append(row)
            summaries[f"{mode}/{largest}-sklearn"] = summary
    bad = [row for row in rows if row.lost or row.unknown or row.written + row.dead_lettered + row.reported_failed < row.sent]
    report_dir = settings.dist / "report"
    stem = f"demo{settings.suffix}"
    cpu_note = "CPU throttled to the memory's vCPU share" if all(s["cpu_throttled"] for s in summaries.values()) else "CPU NOT throttled (faster than Lambda)"
    table = markdown_table(rows, settings.memory_mb, cpu_note)
    report = report_dir / f"{stem}.md"
    write_json_atomic(report_dir / f"{stem}.json", {"settings": {k: str(v) for k, v in asdict(settings).items()}, "summaries": summaries})
    write_chart([row for row in rows if row.predictor == predictor], report_dir / f"{stem}.png")
    from ..fsutil import atomic_path

    with atomic_path(report) as tmp:
        tmp.write_text("# mlayer demo\n\n" + table + f"\n![duration and cost against batch size]({stem}.png)\n")
    print(table)
    say(f"report: {report}, chart: {report_dir / f'{stem}.png'}, summaries: {report_dir / f'{stem}.json'} ({time.monotonic() - started:.0f} s)")
    if bad:
        raise MlayerError(f"the replay at batch {bad[0].batch_size} ({bad[0].mode}) lost records: see {report_dir / f'{stem}.json'}")
    return report


def _sink_context(settings: DemoSettings):
    import contextlib

    if settings.sink == "s3":
        from .moto import local_s3

        return local_s3(BUCKET, REGION)
    return contextlib.nullcontext({})
