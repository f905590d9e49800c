"""Lambda pricing, the seed article's numbers, and the break-even against a SageMaker endpoint.

Prices (us-east-1) as recorded in shared/notes/platform.md on 2026-11-25, from AWS's Lambda
pricing page: x86_64 $0.0000166667 per GB-s, arm64 $0.0000133334 per GB-s, $0.20 per million
requests, billed per 1 ms; since 2025-08-01 the INIT phase is billed too (mlayer's REPORT
"Billed Duration" already includes it on cold starts, see runtime/report.py).

The seed article (January 2019) priced duration at $0.000000313 per 100 ms at 192 MB, billed in
100 ms steps, and left the request charge out. `LambdaPrice` takes the price and the billing
step, so both today's and the seed's arithmetic are reproduced by the same functions.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from .errors import MlayerError

PRICES_TAKEN = "2026-11-25"
PRICES_SOURCE = "shared/notes/platform.md (AWS Lambda pricing, us-east-1)"
MB_PER_GB = 1024  # Lambda's GB-second is 1,024 MB for 1 s


@dataclass(frozen=True)
class LambdaPrice:
    gb_second_usd: float
    request_usd: float  # per request
    billing_step_ms: int  # durations are rounded up to this
    taken: str
    source: str

    @classmethod
    def per_100ms(cls, usd_per_100ms: float, memory_mb: int, *, request_usd: float, taken: str, source: str) -> LambdaPrice:
        """A price quoted per 100 ms at one memory size (as the 2019 pricing page did)."""
        return cls(usd_per_100ms / (0.1 * memory_mb / MB_PER_GB), request_usd, 100, taken, source)


PRICES: dict[str, LambdaPrice] = {
    "x86_64": LambdaPrice(0.0000166667, 0.20 / 1_000_000, 1, PRICES_TAKEN, PRICES_SOURCE),
    "arm64": LambdaPrice(0.0000133334, 0.20 / 1_000_000, 1, PRICES_TAKEN, PRICES_SOURCE),
}
# The seed's own unit price: $0.000000313 per 100 ms at 192 MB (2019, x86 only, 100 ms steps).
SEED_PRICE = LambdaPrice.per_100ms(
    0.000000313, 192, request_usd=0.20 / 1_000_000, taken="2019-01-09", source="seed article (shared/seed)"
)

# SageMaker's smallest real-time endpoint in the seed: ml.t2.medium at $0.07/h, 720 h a month.
SAGEMAKER_T2_MEDIUM_HOURLY_USD = 0.07
HOURS_PER_MONTH = 720
SAGEMAKER_MONTHLY_USD = round(SAGEMAKER_T2_MEDIUM_HOURLY_USD * HOURS_PER_MONTH, 2)  # 50.40

SEED_MEMORY_MB = 192
SEED_INGEST_RECORDS = 50_000
SEED_COST_PER_INVOCATION_USD = 0.0000124  # as the seed states it (its own unit price gives 0.00001252 for 4,000 ms)
SEED_BREAK_EVEN_INGESTS = 8_129
# The seed's measurements (python3.6, 192 MB, model reloaded on every call) per batch size.
SEED_BY_BATCH: dict[int, dict[str, Any]] = {
    1: {"avg_ms": 3803, "billed_ms": 3900, "max_memory_mb": 151, "invocations": 50_000, "cost_per_ingest": 0.62},
    10: {"avg_ms": 3838, "billed_ms": 3900, "max_memory_mb": 151, "invocations": 5_000, "cost_per_ingest": 0.062},
    100: {"avg_ms": 3912, "billed_ms": 4000, "max_memory_mb": 151, "invocations": 500, "cost_per_ingest": 0.0062},
}


def price_for(architecture: str) -> LambdaPrice:
    try:
        return PRICES[architecture]
    except KeyError:
        raise MlayerError(f"no Lambda price for architecture {architecture!r}: use one of {', '.join(PRICES)}") from None


def billed_duration_ms(duration_ms: float, step_ms: int = 1) -> int:
    """Round a duration up to the billing step (1 ms today, 100 ms in 2019)."""
    if duration_ms < 0:
        raise MlayerError(f"duration {duration_ms} ms is negative: pass a measured duration")
    return math.ceil(round(duration_ms, 6) / step_ms) * step_ms


def gb_seconds(billed_ms: float, memory_mb: int) -> float:
    return billed_ms / 1000.0 * memory_mb / MB_PER_GB


def invocation_cost(billed_ms: float, memory_mb: int, architecture: str = "x86_64", *, price: LambdaPrice | None = None, include_request: bool = False) -> float:
    """Compute (duration) cost of one invocation in USD, rounding the duration up to the price's step."""
    price = price or price_for(architecture)
    cost = gb_seconds(billed_duration_ms(billed_ms, price.billing_step_ms), memory_mb) * price.gb_second_usd
    return cost + (price.request_usd if include_request else 0.0)


@dataclass(frozen=True)
class IngestCost:
    requests: int
    billed_ms: int  # total, INIT included
    gb_seconds: float
    compute_usd: float
    request_usd: float
    memory_mb: int
    architecture: str
    price_taken: str

    @property
    def total_usd(self) -> float:
        return self.compute_usd + self.request_usd

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_usd": self.total_usd}


def ingest_cost(
    billed_ms: float,
    memory_mb: int,
    architecture: str = "x86_64",
    *,
    requests: int,
    init_billed_ms: float = 0,
    price: LambdaPrice | None = None,
) -> IngestCost:
    """The cost of an ingest from its total billed duration and request count.

    `billed_ms` is the sum of the invocations' billed durations (already rounded per
    invocation). Pass `init_billed_ms` only when those durations do not include the INIT phase
    (mlayer's REPORT lines do include it: leave it 0 for a replay summary).
    """
    if requests < 0 or billed_ms < 0 or init_billed_ms < 0:
        raise MlayerError("requests and billed durations must not be negative: pass the replay's totals")
    price = price or price_for(architecture)
    total_ms = int(round(billed_ms + init_billed_ms))
    seconds = gb_seconds(total_ms, memory_mb)
    return IngestCost(requests, total_ms, seconds, seconds * price.gb_second_usd, requests * price.request_usd, memory_mb, architecture, price.taken)


def summary_cost(summary: Any) -> IngestCost:
    """ingest_cost of a ReplaySummary (anything with billed_ms, invocations, memory_mb, architecture)."""
    return ingest_cost(summary.billed_ms, summary.memory_mb, summary.architecture, requests=summary.invocations)


def break_even_ingests(cost_per_ingest_usd: float, monthly_usd: float = SAGEMAKER_MONTHLY_USD) -> float:
    """Ingests a month until Lambda costs more than an always-on endpoint at monthly_usd."""
    if cost_per_ingest_usd <= 0:
        return math.inf
    return monthly_usd / cost_per_ingest_usd


def seed_ingest_cost(batch_size: int, records: int = SEED_INGEST_RECORDS, per_invocation_usd: float = SEED_COST_PER_INVOCATION_USD) -> float:
    """The seed's arithmetic: invocations (records / batch) times its flat per-invocation cost."""
    return math.ceil(records / batch_size) * per_invocation_usd


# ---------------------------------------------------------------- sinks: the all-in cost
#
# With a sink, the sink's own requests cost more than Lambda does. Published us-east-1 prices,
# checked 2026-11-30 (the date is in every SinkPrice):
# - S3 Standard PUT/COPY/POST/LIST: $0.005 per 1,000 requests (aws.amazon.com/s3/pricing);
# - DynamoDB on-demand: $0.625 per million write request units, since the November 2024 price cut
#   (aws.amazon.com/dynamodb/pricing/on-demand; also airbyte.com's DynamoDB pricing guide, 2025-07-21);
#   one WRU writes an item of up to 1 KB;
# - Kinesis Data Streams, provisioned: $0.014 per million PUT payload units (25 KB chunks of a
#   record) plus $0.015 per shard-hour (aws.amazon.com/kinesis/data-streams/pricing).
# The handler's sinks (function/sinks.py) write one S3 object per batch (per run of consecutive
# predicted records: one without failures), one DynamoDB item per record, one Kinesis record per record.

SINK_PRICES_TAKEN = "2026-11-30"


@dataclass(frozen=True)
class SinkPrice:
    unit: str
    usd_per_unit: float
    taken: str
    source: str


SINK_PRICES: dict[str, SinkPrice] = {
    "s3_put": SinkPrice("PUT request", 0.005 / 1_000, SINK_PRICES_TAKEN, "https://aws.amazon.com/s3/pricing/"),
    "dynamodb_wru": SinkPrice("write request unit (1 KB)", 0.625 / 1_000_000, SINK_PRICES_TAKEN, "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "kinesis_put_payload_unit": SinkPrice("PUT payload unit (25 KB)", 0.014 / 1_000_000, SINK_PRICES_TAKEN, "https://aws.amazon.com/kinesis/data-streams/pricing/"),
    "kinesis_shard_hour": SinkPrice("shard-hour", 0.015, SINK_PRICES_TAKEN, "https://aws.amazon.com/kinesis/data-streams/pricing/"),
}
SINKS = ("none", "s3", "dynamodb", "kinesis")
PREDICTION_BYTES = 400  # one prediction document as JSON (label, score, 4-class probabilities, ids): well under 1 KB


def sink_cost(sink: str, records: int, batch_size: int, *, document_bytes: int = PREDICTION_BYTES, kinesis_shard_hours: float = 0.0) -> float:
    """USD the sink's requests cost for `records` predictions written `batch_size` per invocation.

    Kinesis shard-hours accrue with time, not records: pass the hours the sink stream runs for
    this ingest (0 leaves them out, as a stream shared by many ingests would)."""
    if sink not in SINKS:
        raise MlayerError(f"unknown sink {sink!r}: choose one of {', '.join(SINKS)}")
    if records < 0 or batch_size < 1 or document_bytes < 1:
        raise MlayerError("records must be >= 0, batch_size and document_bytes >= 1")
    if sink == "s3":
        return math.ceil(records / batch_size) * SINK_PRICES["s3_put"].usd_per_unit
    if sink == "dynamodb":
        return records * math.ceil(document_bytes / 1024) * SINK_PRICES["dynamodb_wru"].usd_per_unit
    if sink == "kinesis":
        units = records * math.ceil(document_bytes / (25 * 1024))
        return units * SINK_PRICES["kinesis_put_payload_unit"].usd_per_unit + kinesis_shard_hours * SINK_PRICES["kinesis_shard_hour"].usd_per_unit
    return 0.0


def all_in_costs(lambda_usd: float, records: int, batch_size: int, *, document_bytes: int = PREDICTION_BYTES) -> dict[str, float]:
    """Lambda alone, and Lambda plus each sink's requests, for one ingest."""
    return {sink: lambda_usd + sink_cost(sink, records, batch_size, document_bytes=document_bytes) for sink in SINKS}
