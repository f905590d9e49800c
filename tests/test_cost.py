"""Lambda cost arithmetic, checked against hand-computed values and the seed article's numbers."""

from __future__ import annotations

import math

import pytest

from mlayer import cost
from mlayer.errors import MlayerError


def test_todays_price_for_the_seeds_invocation():
    # 4,000 ms at 192 MB = 4 s x 0.1875 GB = 0.75 GB-s; x $0.0000166667 = $0.000012500025 (~$0.0000125)
    assert cost.invocation_cost(4000, 192, "x86_64") == pytest.approx(0.000012500025, rel=1e-9)
    assert round(cost.invocation_cost(4000, 192, "x86_64"), 7) == 0.0000125
    # arm64: 0.75 GB-s x $0.0000133334 = $0.00001000005
    assert cost.invocation_cost(4000, 192, "arm64") == pytest.approx(0.00001000005, rel=1e-9)


def test_the_seeds_own_unit_price_and_100ms_steps():
    # $0.000000313 per 100 ms at 192 MB is $0.0000166933 per GB-s
    assert cost.SEED_PRICE.gb_second_usd == pytest.approx(0.000000313 / (0.1 * 192 / 1024))
    # 3,912 ms (the seed's batch-100 average) bills as 4,000 ms in 2019's 100 ms steps: 40 x $0.000000313
    assert cost.invocation_cost(3912, 192, price=cost.SEED_PRICE) == pytest.approx(40 * 0.000000313)
    assert cost.invocation_cost(3803, 192, price=cost.SEED_PRICE) == pytest.approx(39 * 0.000000313)
    # The seed rounds its per-invocation figure to $0.0000124; its own unit price gives 0.00001252.
    assert round(cost.invocation_cost(4000, 192, price=cost.SEED_PRICE), 7) == 0.0000125


def test_billing_steps():
    assert cost.billed_duration_ms(12.01) == 13
    assert cost.billed_duration_ms(12.0) == 12
    assert cost.billed_duration_ms(3801, step_ms=100) == 3900
    assert cost.billed_duration_ms(3800, step_ms=100) == 3800
    with pytest.raises(MlayerError, match="negative"):
        cost.billed_duration_ms(-1)


def test_seed_ingest_costs_and_break_even():
    assert cost.seed_ingest_cost(1) == pytest.approx(0.62)
    assert cost.seed_ingest_cost(10) == pytest.approx(0.062)
    assert cost.seed_ingest_cost(100) == pytest.approx(0.0062)
    for batch, row in cost.SEED_BY_BATCH.items():
        assert cost.seed_ingest_cost(batch) == pytest.approx(row["cost_per_ingest"])
        assert row["invocations"] == cost.SEED_INGEST_RECORDS // batch
    assert cost.SAGEMAKER_MONTHLY_USD == 50.40
    assert math.floor(cost.break_even_ingests(0.0062)) == cost.SEED_BREAK_EVEN_INGESTS == 8129
    assert cost.break_even_ingests(0) == math.inf


def test_ingest_cost_with_requests_and_init():
    # 500 invocations of 40 ms billed at 512 MB plus one 900 ms INIT:
    # (500*40 + 900) ms = 20.9 s x 0.5 GB = 10.45 GB-s x $0.0000166667 = $0.000174167; requests 500 x $0.2/M = $0.0001
    result = cost.ingest_cost(500 * 40, 512, "x86_64", requests=500, init_billed_ms=900)
    assert result.billed_ms == 20_900
    assert result.gb_seconds == pytest.approx(10.45)
    assert result.compute_usd == pytest.approx(10.45 * 0.0000166667)
    assert result.request_usd == pytest.approx(0.0001)
    assert result.total_usd == pytest.approx(0.000174167 + 0.0001, rel=1e-5)
    assert result.to_dict()["total_usd"] == result.total_usd


def test_summary_cost_reads_a_replay_summary():
    class Summary:
        billed_ms, memory_mb, architecture, invocations = 10_000, 1024, "arm64", 100

    result = cost.summary_cost(Summary())
    assert result.total_usd == pytest.approx(10 * 0.0000133334 + 100 * 0.2e-6)


def test_unknown_architecture_is_a_one_line_error():
    with pytest.raises(MlayerError, match="architecture 'mips'.*use one of x86_64, arm64"):
        cost.invocation_cost(1, 128, "mips")


def test_sink_costs_per_50000_record_ingest_match_the_published_prices():
    # S3: one object per batch of 100 -> 500 PUTs x $0.005/1,000 = $0.0025
    assert cost.sink_cost("s3", 50_000, 100) == pytest.approx(0.0025)
    assert cost.sink_cost("s3", 50_000, 1_000) == pytest.approx(0.00025)  # 10x fewer, 10x larger objects
    # DynamoDB: one item (<= 1 KB, 1 WRU) per record, whatever the batch: 50,000 x $0.625/M = $0.03125
    assert cost.sink_cost("dynamodb", 50_000, 100) == pytest.approx(0.03125) == cost.sink_cost("dynamodb", 50_000, 1_000)
    assert cost.sink_cost("dynamodb", 50_000, 100, document_bytes=1025) == pytest.approx(0.0625)  # 2 WRU each
    # Kinesis: one 25 KB payload unit per record: 50,000 x $0.014/M = $0.0007, plus shard-hours when given
    assert cost.sink_cost("kinesis", 50_000, 100) == pytest.approx(0.0007)
    assert cost.sink_cost("kinesis", 50_000, 100, kinesis_shard_hours=2) == pytest.approx(0.0007 + 0.03)
    assert cost.sink_cost("none", 50_000, 100) == 0.0
    assert all(price.taken == "2026-11-30" and price.source.startswith("https://aws.amazon.com/") for price in cost.SINK_PRICES.values())


def test_all_in_adds_each_sink_to_the_lambda_cost_and_the_s3_sink_dominates_todays_lambda_cost():
    lambda_usd = 0.00018  # the Lambda-only cost measured today at batch 100 (issue 11)
    costs = cost.all_in_costs(lambda_usd, 50_000, 100)
    assert costs["none"] == lambda_usd
    assert costs["s3"] - lambda_usd == pytest.approx(0.0025) and (costs["s3"] - lambda_usd) / lambda_usd > 13
    assert min(costs, key=costs.get) == "none" and max(costs, key=costs.get) == "dynamodb"


@pytest.mark.parametrize(("sink", "records", "batch"), [("ftp", 1, 1), ("s3", -1, 1), ("s3", 1, 0)])
def test_sink_cost_refuses_bad_input(sink, records, batch):
    with pytest.raises(MlayerError):
        cost.sink_cost(sink, records, batch)
