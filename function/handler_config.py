"""The handler's settings, read once from the environment at init.

A bad value is a configuration error raised at import (INIT fails loudly) rather than a
surprise on the first record.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

SINKS = ("none", "s3", "dynamodb", "kinesis")
RECORD_FORMATS = ("json", "text")
INVALID_RECORDS = ("report", "dead-letter")  # what becomes of a record that can never be decoded
KINESIS_MAX_RECORD_BYTES = 1024 * 1024  # 1 MiB, Kinesis' own limit for a record's data blob


class ConfigError(ValueError):
    """An environment variable has a value the handler cannot work with."""


# Plain slotted classes, not @dataclass: each @dataclass execs generated code at import. The
# handler's 13 were ~10 ms of INIT's CPU (half of all it adds to `import numpy`), ~70 ms at 256 MB.
class RecordFormat:
    __slots__ = ("kind", "text_field", "field_json_encoded", "max_record_bytes")

    def __init__(self, kind: str, text_field: str, field_json_encoded: bool, max_record_bytes: int) -> None:
        self.kind = kind  # "json" | "text"
        self.text_field = text_field
        self.field_json_encoded = field_json_encoded
        self.max_record_bytes = max_record_bytes  # 0: no limit


class SinkSettings:
    __slots__ = ("kind", "s3_bucket", "s3_prefix", "dynamodb_table", "kinesis_stream", "max_attempts", "connect_timeout", "read_timeout")

    def __init__(
        self,
        kind: str,
        s3_bucket: str,
        s3_prefix: str,
        dynamodb_table: str,
        kinesis_stream: str,
        max_attempts: int,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        self.kind = kind  # one of SINKS
        self.s3_bucket = s3_bucket
        self.s3_prefix = s3_prefix
        self.dynamodb_table = dynamodb_table
        self.kinesis_stream = kinesis_stream
        self.max_attempts = max_attempts
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout


class Settings:
    __slots__ = (
        "model_dir",
        "model_name",
        "model_version",
        "model_self_test",
        "record_format",
        "sink",
        "invalid_records",
        "metrics_namespace",
        "function_name",
    )

    def __init__(
        self,
        model_dir: str,
        model_name: str | None,
        model_version: str | None,
        model_self_test: bool,
        record_format: RecordFormat,
        sink: SinkSettings,
        invalid_records: str,
        metrics_namespace: str,
        function_name: str,
    ) -> None:
        self.model_dir = model_dir
        self.model_name = model_name
        self.model_version = model_version
        self.model_self_test = model_self_test
        self.record_format = record_format
        self.sink = sink
        self.invalid_records = invalid_records  # one of INVALID_RECORDS
        self.metrics_namespace = metrics_namespace
        self.function_name = function_name


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise ConfigError(f"{name}={raw!r}: use true or false")


def _number(env: Mapping[str, str], name: str, default: float, minimum: float, kind: type = int) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: not a{'n integer' if kind is int else ' number'}") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise ConfigError(f"{name}={value!r}: use one of {', '.join(choices)}")
    return value


def _required(env: Mapping[str, str], name: str, sink: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"SINK={sink} needs {name}")
    return value


def default_invalid_records(sink_kind: str) -> str:
    """dead-letter where a sink can hold the entries (a bad record then costs one write, not a retry
    of its whole batch until maximum_retry_attempts), report where there is none."""
    return "report" if sink_kind == "none" else "dead-letter"


def _invalid_records(env: Mapping[str, str], sink_kind: str) -> str:
    policy = _choice(env, "INVALID_RECORDS", default_invalid_records(sink_kind), INVALID_RECORDS)
    if policy == "dead-letter" and sink_kind == "none":
        raise ConfigError(
            "INVALID_RECORDS=dead-letter needs a sink (s3, dynamodb or kinesis) to hold the entries: "
            "set SINK, or use INVALID_RECORDS=report"
        )
    return policy


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    sink_kind = _choice(env, "SINK", "none", SINKS)
    sink = SinkSettings(
        kind=sink_kind,
        s3_bucket=_required(env, "SINK_S3_BUCKET", sink_kind) if sink_kind == "s3" else "",
        s3_prefix=env.get("SINK_S3_PREFIX", "").strip().strip("/"),
        dynamodb_table=_required(env, "SINK_DYNAMODB_TABLE", sink_kind) if sink_kind == "dynamodb" else "",
        kinesis_stream=_required(env, "SINK_KINESIS_STREAM", sink_kind) if sink_kind == "kinesis" else "",
        max_attempts=int(_number(env, "SINK_MAX_ATTEMPTS", 5, 1)),
        connect_timeout=float(_number(env, "SINK_CONNECT_TIMEOUT", 2.0, 0.01, float)),
        read_timeout=float(_number(env, "SINK_READ_TIMEOUT", 10.0, 0.01, float)),
    )
    text_field = env.get("TEXT_FIELD", "").strip() or "textblob"
    record_format = RecordFormat(
        kind=_choice(env, "RECORD_FORMAT", "json", RECORD_FORMATS),
        text_field=text_field,
        field_json_encoded=_bool(env, "TEXT_FIELD_JSON_ENCODED", True),
        max_record_bytes=int(_number(env, "MAX_RECORD_BYTES", KINESIS_MAX_RECORD_BYTES, 0)),
    )
    return Settings(
        model_dir=env.get("MODEL_DIR", "").strip() or "/opt/model",
        model_name=env.get("MODEL_NAME", "").strip() or None,
        model_version=env.get("MODEL_VERSION", "").strip() or None,
        model_self_test=_bool(env, "MODEL_SELF_TEST", True),
        record_format=record_format,
        sink=sink,
        invalid_records=_invalid_records(env, sink_kind),
        metrics_namespace=env.get("METRICS_NAMESPACE", "").strip() or "mlayer",
        function_name=env.get("AWS_LAMBDA_FUNCTION_NAME", "").strip() or "local",
    )
