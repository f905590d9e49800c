"""checkov over the whole Terraform tree: no failed checks, and every skip is an inline, reviewed one.

checkov runs from its own virtualenv (.venv-checkov): it pins boto3 and replaces python-hcl2's
`hcl2` module with its fork, so it cannot share .venv. `make test` creates it (the Makefile's
$(CHECKOV_STAMP) target); the fixture below creates it too when pytest runs on its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
CHECKOV_VERSION = "3.3.30"  # keep equal to CHECKOV_VERSION in the Makefile
CHECKOV_VENV = REPO / ".venv-checkov"

# Every inline `#checkov:skip` in the tree, as reviewed: check id -> the file holding it.
# A new skip (or one moved elsewhere) fails the test until it is reviewed and listed here.
REVIEWED_SKIPS = {
    ("CKV_AWS_18", "/modules/artifact_bucket/main.tf"),  # access logging: opt-in via access_log_bucket
    ("CKV_AWS_144", "/modules/artifact_bucket/main.tf"),  # cross-region replication: artifacts are reproducible
    ("CKV_AWS_145", "/modules/artifact_bucket/main.tf"),  # SSE-KMS only when a key is given, SSE-S3 otherwise
    ("CKV2_AWS_62", "/modules/artifact_bucket/main.tf"),  # event notifications: nothing consumes uploads
    ("CKV_AWS_50", "/modules/function/main.tf"),  # X-Ray: configurable, default PassThrough
    ("CKV_AWS_115", "/modules/function/main.tf"),  # reserved concurrency: opt-in
    ("CKV_AWS_116", "/modules/function/main.tf"),  # DLQ: async only; the mapping has an on-failure queue
    ("CKV_AWS_117", "/modules/function/main.tf"),  # VPC: opt-in
    ("CKV_AWS_173", "/modules/function/main.tf"),  # env encryption with a CMK: opt-in, no secrets in it
    ("CKV_AWS_272", "/modules/function/main.tf"),  # code signing: needs a signing profile outside the module
    ("CKV_AWS_158", "/modules/function/main.tf"),  # log group CMK: opt-in
    ("CKV_AWS_338", "/modules/function/main.tf"),  # log retention under a year: configurable
    ("CKV_AWS_185", "/modules/kinesis_trigger/main.tf"),  # stream uses alias/aws/kinesis unless a CMK is given
    ("CKV_AWS_185", "/modules/sink/main.tf"),
    ("CKV_AWS_119", "/modules/sink/main.tf"),  # DynamoDB: AWS owned key unless a CMK is given
    ("CKV2_AWS_16", "/modules/sink/main.tf"),  # auto scaling: on-demand table
    ("CKV_AWS_109", "/examples/complete/main.tf"),  # key policy: Resource "*" is the key itself
    ("CKV_AWS_111", "/examples/complete/main.tf"),
    ("CKV_AWS_356", "/examples/complete/main.tf"),
}
MUST_BE_SCANNED = {
    "aws_s3_bucket",
    "aws_s3_bucket_public_access_block",
    "aws_lambda_function",
    "aws_cloudwatch_log_group",
    "aws_iam_role",
    "aws_iam_policy_document",
    "aws_kinesis_stream",
    "aws_sqs_queue",
    "aws_dynamodb_table",
    "aws_kms_key",
}


def installed_version(venv: Path) -> str | None:
    """checkov's version in venv, from its installed metadata (running `checkov --version` takes seconds)."""
    found = sorted(venv.glob("lib/python3*/site-packages/checkov-*.dist-info"))
    if not found or not (venv / "bin" / "checkov").exists():
        return None
    return found[-1].name.removeprefix("checkov-").removesuffix(".dist-info")


@pytest.fixture(scope="module")
def checkov() -> Path:
    if installed_version(CHECKOV_VENV) != CHECKOV_VERSION:
        # Same steps as the Makefile's $(CHECKOV_STAMP) target.
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
        subprocess.run(
            [str(CHECKOV_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", f"checkov=={CHECKOV_VERSION}"],
            check=True,
            timeout=900,
        )
    assert installed_version(CHECKOV_VENV) == CHECKOV_VERSION, f"could not install checkov {CHECKOV_VERSION} into {CHECKOV_VENV}"
    return CHECKOV_VENV / "bin" / "checkov"


@pytest.fixture(scope="module")
def report(checkov: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [
            str(checkov),
            "--directory", str(REPO),
            "--framework", "terraform",
            "--output", "json",
            "--compact",
            "--skip-download",  # offline: no policy metadata from the vendor's API
            "--skip-path", r"\.venv",
            "--skip-path", "dist",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert proc.returncode in (0, 1), f"checkov did not run (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON report (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    reports = data if isinstance(data, list) else [data]
    assert [r.get("check_type") for r in reports] == ["terraform"], data
    result = reports[0]
    result["returncode"] = proc.returncode
    return result


def test_checkov_reports_no_failed_checks(report: dict[str, Any]) -> None:
    failed = [(c["check_id"], c["resource"], c["file_path"], c["check_name"]) for c in report["results"]["failed_checks"]]
    assert failed == [], f"checkov failed checks: {failed}"
    assert report["summary"]["failed"] == 0
    assert report["returncode"] == 0


def test_checkov_parsed_everything(report: dict[str, Any]) -> None:
    summary = report["summary"]
    assert summary["parsing_errors"] == 0, report["results"].get("parsing_errors")
    assert summary["checkov_version"] == CHECKOV_VERSION
    assert summary["passed"] >= 50, summary
    types = {part for c in report["results"]["passed_checks"] + report["results"]["skipped_checks"] for part in c["resource"].split(".")}
    assert MUST_BE_SCANNED <= types, f"checkov did not scan {sorted(MUST_BE_SCANNED - types)}"


def test_every_skip_is_inline_reviewed_and_explained(report: dict[str, Any]) -> None:
    skips = report["results"]["skipped_checks"]
    found = {(c["check_id"], c["file_path"]) for c in skips}
    assert found == REVIEWED_SKIPS, f"unreviewed: {sorted(found - REVIEWED_SKIPS)}; stale: {sorted(REVIEWED_SKIPS - found)}"
    for check in skips:
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason.split()) >= 8, f"{check['check_id']} in {check['file_path']} is skipped without a real reason: {reason!r}"
        source = (REPO / check["file_path"].lstrip("/")).read_text()
        assert f"#checkov:skip={check['check_id']}:" in source  # inline, not a CLI --skip-check


def test_checkov_reports_a_known_violation(checkov: Path, tmp_path: Path) -> None:
    """The run above can fail: an unencrypted queue is reported as a failed check, exit code 1."""
    (tmp_path / "main.tf").write_text('resource "aws_sqs_queue" "plain" {\n  name                    = "plain"\n  sqs_managed_sse_enabled = false\n}\n')
    proc = subprocess.run(
        [str(checkov), "--directory", str(tmp_path), "--framework", "terraform", "--output", "json", "--compact", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    failed = {c["check_id"] for c in json.loads(proc.stdout)["results"]["failed_checks"]}
    assert "CKV_AWS_27" in failed
