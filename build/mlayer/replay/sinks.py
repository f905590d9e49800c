"""Where the replay looks for what the handler wrote, to account for every record.

- none: the handler runs with SINK=none and returns "predictions"; the replay keeps the latest
  prediction per eventID (an overwrite, like a keyed store), so this sink cannot show
  duplicates by construction: it answers "was every record predicted or sent on?".
- dir:  the handler runs with SINK=none; the replay writes each response's predictions as the
  handler's s3 sink does: one file per run of consecutive predicted records of the delivered
  batch, DIR/<shardId>/<firstSeq>-<lastSeq>.jsonl. A failed record ends a run, so the runs after
  a checkpoint land on the same keys when re-delivered (overwritten); only a record that fails
  once and then succeeds leaves records in two files, which `duplicates` counts.
- s3 / dynamodb: the handler writes for real (moto or AWS through AWS_ENDPOINT_URL and your
  credentials); after the run the replay reads the bucket prefix / table back and counts the
  copies of each of this run's eventIDs (marked in the ledger: nothing is held per record here).

Dead-letter entries (the handler's INVALID_RECORDS=dead-letter) are read apart from predictions:
under `<prefix>/_invalid/` in s3, items with `status = "invalid"` in dynamodb. Only these two
sinks can hold them: with none / dir the handler runs with SINK=none, which refuses dead-letter.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MlayerError
from .kinesis import StreamRecord
from .ledger import DEAD_LETTERED, Ledger

SINK_KINDS = ("none", "dir", "s3", "dynamodb")
INVALID_RECORDS = ("report", "dead-letter")  # the handler's INVALID_RECORDS policies
DEAD_LETTER_SINKS = ("s3", "dynamodb")
INVALID_FOLDER = "_invalid"  # the handler's s3 sink writes dead-letter entries under <prefix>/_invalid/


def default_invalid_records(sink_kind: str) -> str:
    """As the handler defaults (handler_config.default_invalid_records): dead-letter where the sink can
    hold the entries, report where it cannot."""
    return "dead-letter" if sink_kind in DEAD_LETTER_SINKS else "report"


def check_invalid_records(policy: str, sink_kind: str) -> None:
    """A policy the handler knows, on a sink that can hold dead-letter entries when it needs one."""
    if policy not in INVALID_RECORDS:
        raise MlayerError(f"invalid-records policy {policy!r}: use one of {', '.join(INVALID_RECORDS)}")
    if policy == "dead-letter" and sink_kind not in DEAD_LETTER_SINKS:
        raise MlayerError(
            f"--invalid-records dead-letter needs --sink s3 or dynamodb (not {sink_kind}): the handler writes "
            "dead-letter entries to its sink, and --sink none/dir run it with SINK=none"
        )


@dataclass(frozen=True)
class SinkSpec:
    kind: str = "none"
    directory: Path | None = None
    s3_bucket: str | None = None
    s3_prefix: str = ""
    dynamodb_table: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SINK_KINDS:
            raise MlayerError(f"unknown sink {self.kind!r}: use one of {', '.join(SINK_KINDS)}")
        needs = {"dir": ("directory", "--sink-dir DIR"), "s3": ("s3_bucket", "--s3-bucket NAME"), "dynamodb": ("dynamodb_table", "--dynamodb-table NAME")}
        if self.kind in needs and not getattr(self, needs[self.kind][0]):
            raise MlayerError(f"--sink {self.kind} needs {needs[self.kind][1]}")

    def handler_env(self) -> dict[str, str]:
        """The handler's SINK settings for this sink."""
        if self.kind in ("none", "dir"):
            return {"SINK": "none"}
        if self.kind == "s3":
            return {"SINK": "s3", "SINK_S3_BUCKET": str(self.s3_bucket), "SINK_S3_PREFIX": self.s3_prefix}
        return {"SINK": "dynamodb", "SINK_DYNAMODB_TABLE": str(self.dynamodb_table)}


def _event_id(prediction: Any) -> str | None:
    if not isinstance(prediction, dict):
        return None
    if isinstance(prediction.get("eventID"), str):
        return prediction["eventID"]
    if "shardId" in prediction and "sequenceNumber" in prediction:
        return f"{prediction['shardId']}:{prediction['sequenceNumber']}"
    return None


def predictions_of(response: Any) -> list[dict[str, Any]]:
    predictions = response.get("predictions") if isinstance(response, dict) else None
    return [p for p in predictions if isinstance(p, dict)] if isinstance(predictions, list) else []


def predicted_runs(batch: Sequence[StreamRecord], predictions: list[dict[str, Any]]) -> list[list[tuple[StreamRecord, dict[str, Any]]]]:
    """Maximal runs of consecutive records of the batch that have a prediction (the s3 sink's objects)."""
    by_event = {_event_id(p): p for p in predictions}
    runs: list[list[tuple[StreamRecord, dict[str, Any]]]] = []
    current: list[tuple[StreamRecord, dict[str, Any]]] = []
    for record in batch:
        prediction = by_event.get(record.event_id)
        if prediction is None:
            if current:
                runs.append(current)
            current = []
            continue
        current.append((record, prediction))
    if current:
        runs.append(current)
    return runs


class SinkReader:
    """Finds what the handler wrote and marks it in the ledger: predictions (with copies) and dead-letter entries.

    Nothing is held per record here: none marks each response's predictions as they come; dir,
    s3 and dynamodb are read back at the end one file / object / page at a time."""

    def __init__(self, spec: SinkSpec, ledger: Ledger) -> None:
        self.spec = spec
        self.ledger = ledger
        if spec.kind == "dir":
            assert spec.directory is not None
            spec.directory.mkdir(parents=True, exist_ok=True)

    def on_response(self, batch: Sequence[StreamRecord], response: Any) -> None:
        """A non-error invocation's response (ignored for s3/dynamodb: read from the sink itself)."""
        if self.spec.kind not in ("none", "dir"):
            return
        predictions = predictions_of(response)
        if self.spec.kind == "none":
            for prediction in predictions:
                event_id = _event_id(prediction)
                if event_id is not None:
                    self.ledger.found_written(event_id, overwrite=True)  # latest prediction per eventID
        elif predictions:
            assert self.spec.directory is not None
            for run in predicted_runs(batch, predictions):
                first, last = run[0][0], run[-1][0]
                path = self.spec.directory / first.shard_id / f"{first.sequence_number}-{last.sequence_number}.jsonl"
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_text("".join(json.dumps(p, separators=(",", ":")) + "\n" for _, p in run))
                tmp.replace(path)  # a re-delivered run overwrites, as a put_object to the same key does

    def read(self) -> str | None:
        """Mark what the sink holds in the ledger; None, or what could not be read (the sink died)."""
        if self.spec.kind == "none":
            return None
        if self.spec.kind == "dir":
            assert self.spec.directory is not None
            for path in sorted(self.spec.directory.rglob("*.jsonl")):
                self._mark_lines(path.read_text(), dead_letters=False)
            return None
        if self.spec.kind == "s3":
            return self._read_s3()
        return self._read_dynamodb()

    def _mark_lines(self, body: str, dead_letters: bool) -> None:
        for line in body.splitlines():
            try:
                event_id = _event_id(json.loads(line))
            except (ValueError, RecursionError):
                continue
            if event_id is None:
                continue
            if dead_letters:
                self.ledger.flag_event(event_id, DEAD_LETTERED)
            else:
                self.ledger.found_written(event_id)

    def _read_s3(self) -> str | None:
        import boto3

        s3 = boto3.client("s3")
        prefix = f"{self.spec.s3_prefix.strip('/')}/" if self.spec.s3_prefix.strip("/") else ""
        invalid_prefix = f"{prefix}{INVALID_FOLDER}/"
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.spec.s3_bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    body = s3.get_object(Bucket=self.spec.s3_bucket, Key=item["Key"])["Body"].read().decode("utf-8", "replace")
                    self._mark_lines(body, dead_letters=item["Key"].startswith(invalid_prefix))
        except Exception as exc:  # the sink died: what was read is marked, say what was not
            return f"cannot read back s3://{self.spec.s3_bucket}/{prefix} ({type(exc).__name__}: {exc})"
        return None

    def _read_dynamodb(self) -> str | None:
        import boto3

        table = boto3.client("dynamodb")
        try:
            pages = table.get_paginator("scan").paginate(
                TableName=self.spec.dynamodb_table, ProjectionExpression="eventID, #status", ExpressionAttributeNames={"#status": "status"}
            )
            for page in pages:
                for item in page.get("Items", []):
                    event_id = item.get("eventID", {}).get("S")
                    if not isinstance(event_id, str):
                        continue
                    if item.get("status", {}).get("S") == "invalid":
                        self.ledger.flag_event(event_id, DEAD_LETTERED)
                    else:
                        self.ledger.found_written(event_id)
        except Exception as exc:  # the sink died: what was read is marked, say what was not
            return f"cannot scan DynamoDB table {self.spec.dynamodb_table} ({type(exc).__name__}: {exc})"
        return None
