"""`mlayer demo` end to end at a small size: train, build, replay into moto S3, report."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import REPO

from mlayer.demo.records import MALFORMED_KINDS, ingest_records
from mlayer.demo.run import DemoSettings, run_demo


def test_ingest_records_are_seed_shaped_with_the_requested_share_malformed() -> None:
    records, malformed = ingest_records(1_000, 0.01, seed=7)
    assert len(records) == 1_000 and len(malformed) == 10
    good = [r for i, r in enumerate(records) if i not in set(malformed)]
    texts = [json.loads(json.loads(r)["textblob"]) for r in good]
    assert all(isinstance(t, str) and t.strip() for t in texts)
    assert ingest_records(1_000, 0.01, seed=7) == (records, malformed), "deterministic for a seed"
    assert len(MALFORMED_KINDS) >= 5


def test_demo_replays_into_s3_and_accounts_for_every_record(tmp_path: Path, deps_build, capsys) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    for shared in ("requirements", "function"):
        (repo / shared).symlink_to(REPO / shared)
    dist = tmp_path / "dist"

    report = run_demo(DemoSettings(repo=repo, dist=dist, records=400, batch_sizes=(1, 100), batch1_sample=100))

    assert (repo / "model_artifacts" / "MyModel" / "20190104v1" / "metadata.json").is_file(), "trained when absent"
    assert "MyModel/20190104v1 is served by the LEAN runtime (numpy only, bit-identical to scikit-learn on" in capsys.readouterr().err
    assert report == dist / "report" / "demo.md"
    table = report.read_text()
    assert "| 1 |" in table and "| 100 |" in table and "$0.0062" in table
    assert (dist / "report" / "demo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| dead-letter | 100 |" in table and "| report | 100 |" in table, "both INVALID_RECORDS modes side by side"
    summaries = json.loads((dist / "report" / "demo.json").read_text())["summaries"]
    # both INVALID_RECORDS modes served lean, then the same model's scikit-learn build at the largest batch, on the same records
    assert {key: s["sent"] for key, s in summaries.items()} == {
        "dead-letter/1": 100, "dead-letter/100": 400, "report/1": 100, "report/100": 400, "dead-letter/100-sklearn": 400,
    }
    assert "| dead-letter | 100 | lean |" in table and "| dead-letter | 100 | sklearn |" in table
    assert "| Lambda only | + S3 | + DynamoDB | + Kinesis |" in table
    for key, summary in summaries.items():
        assert summary["sink"] == "s3" and summary["invalid_records"] == key.split("/")[0]
        assert summary["lost"] == 0 and summary["duplicates"] == 0
        assert summary["written"] + summary["reported_failed"] + summary["dead_lettered"] == summary["sent"]
    assert summaries["report/100"]["reported_failed"] == 4, "1% of 400 malformed, each reported, none predicted"
    assert summaries["dead-letter/100"]["dead_lettered"] == 4 and summaries["dead-letter/100"]["sent_to_on_failure"] == 0
    assert summaries["dead-letter/100"]["invocations"] < summaries["report/100"]["invocations"], "no retries for bad records"
    assert (dist / "demo" / "records.jsonl").read_text().count("\n") == 400


def test_demo_dead_letter_needs_the_s3_sink_and_says_so_before_building(tmp_path: Path, capsys) -> None:
    from mlayer.cli import main

    code = main(["demo", "--sink", "dir", "--invalid-records", "dead-letter", "--dist", str(tmp_path / "dist")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("mlayer: error: --invalid-records dead-letter needs --sink s3") and err.count("\n") == 1
    assert not (tmp_path / "dist").exists(), "refused before building anything"
