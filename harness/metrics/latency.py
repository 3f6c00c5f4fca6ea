"""Latency statistics of timed searches."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def latency_summary(samples_ms: Sequence[float]) -> dict:
    """n, mean and p50/p95/p99 (linear interpolation) in milliseconds."""
    values = np.asarray(samples_ms, dtype=float)
    if values.size == 0:
        return {"n": 0, "mean_ms": math.nan, "p50_ms": math.nan, "p95_ms": math.nan, "p99_ms": math.nan}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {
        "n": int(values.size),
        "mean_ms": float(values.mean()),
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "p99_ms": float(p99),
    }
