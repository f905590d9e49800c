"""Order statistics and ratios: the only arithmetic the suite does on timings."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    if not values:
        return math.nan
    return float(statistics.median(values))


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default method), pct in [0, 100]."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def ratio(numerator: float, denominator: float) -> float:
    if not denominator or math.isnan(numerator) or math.isnan(denominator):
        return math.nan
    return numerator / denominator


def summarize(values: Sequence[float]) -> dict[str, float | int]:
    """n, median (p50), p99, min and max of a sample."""
    return {
        "n": len(values),
        "p50": median(values),
        "p99": percentile(values, 99),
        "min": float(min(values)) if values else math.nan,
        "max": float(max(values)) if values else math.nan,
    }
