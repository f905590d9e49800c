"""`mlayer invoke` and `mlayer replay` from the command line, on the real worker with a test handler."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from mlayer.cli import main

from test_runtime_support import NO_PYTHON, PYTHON, build_manifest, kinesis_manifest, read_deliveries

pytestmark = pytest.mark.skipif(PYTHON is None, reason=NO_PYTHON)
SAMPLE = Path(__file__).parent / "data" / "kinesis-event.json"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kinesis_manifest(tmp_path_factory.mktemp("cli"))


def test_invoke_prints_the_response_and_logs_the_report(manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    log = tmp_path / "deliveries.log"
    code = main(["invoke", "--event", str(SAMPLE), "--manifest", str(manifest), "--memory", "256", "--env", f"DELIVERY_LOG={log}", "--repeat", "2"])
    out, err = capsys.readouterr()
    assert code == 0
    first, second = (json.loads(line) for line in out.splitlines())
    sample_ids = [r["eventID"] for r in json.loads(SAMPLE.read_text())["Records"]]
    assert first["batchItemFailures"] == [] and [p["eventID"] for p in first["predictions"]] == sample_ids
    assert first == second
    assert read_deliveries(log) == [sample_ids, sample_ids]
    reports = [line for line in err.splitlines() if line.startswith("REPORT RequestId: ")]
    assert len(reports) == 2 and "Init Duration" in reports[0] and "Init Duration" not in reports[1]
    assert "\tMemory Size: 256 MB\t" in reports[0]


def test_invoke_exits_non_zero_on_a_function_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    manifest = build_manifest(tmp_path / "probe")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "raise", "why": "from the cli"}))
    code = main(["invoke", "--event", str(event), "--manifest", str(manifest)])
    out, err = capsys.readouterr()
    assert code == 1
    assert json.loads(out)["errorMessage"] == "boom: from the cli"
    assert "[ERROR] ValueError: boom: from the cli" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--event", "missing.json"], "event file missing.json does not exist"),
        (["--event", str(SAMPLE), "--env", "NOEQUALS"], "--env 'NOEQUALS' is not KEY=VALUE"),
        (["--event", str(SAMPLE), "--model", "Nope/v0"], "model Nope/v0 is not in"),
        (["--event", str(SAMPLE), "--memory", "100"], "argument --memory: 100 is out of range: pass 128 to 10,240"),
    ],
)
def test_invoke_bad_input_is_one_line(manifest: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str):
    assert main(["invoke", "--manifest", str(manifest), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(("mlayer: error: ", "mlayer invoke: error: ")) and message in err and "\n" not in err


def test_replay_bad_records_file_is_one_line(manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    records = tmp_path / "records.jsonl"
    records.write_text('{"data": "ok"}\n{"oops": 1}\n')
    assert main(["replay", "--records", str(records), "--batch-size", "10", "--manifest", str(manifest)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"mlayer: error: {records}:2 has neither or both of data_b64 and data") and "\n" not in err


def test_replay_prints_the_summary_and_writes_on_failure(manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    records = tmp_path / "records.jsonl"
    lines = [{"data": {"n": i}, "partitionKey": f"k{i}"} for i in range(12)]
    lines[3] = {"data_b64": base64.b64encode(json.dumps({"report": True}).encode()).decode()}
    records.write_text("".join(json.dumps(line) + "\n" for line in lines))
    failed = tmp_path / "failed.jsonl"
    code = main([
        "replay", "--records", str(records), "--batch-size", "4", "--max-retries", "1", "--on-failure", str(failed),
        "--manifest", str(manifest), "--memory", "256", "--env", f"DELIVERY_LOG={tmp_path / 'd.log'}", "--sink", "dir",
        "--sink-dir", str(tmp_path / "sink"),
    ])
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert code == 0
    assert (summary["sent"], summary["lost"], summary["reported_failed"], summary["sink"]) == (12, 0, 1, "dir")
    assert summary["written"] + summary["reported_failed"] == 12
    assert len(failed.read_text().splitlines()) == 1
    assert "mlayer: batch 1 replayed (5 records read)" in err
