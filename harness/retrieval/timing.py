"""Search latency as the harness reports it: one-query searches timed after an untimed
warm-up, and the server's own figures from its Prometheus histogram where there is one."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from harness.metrics.latency import latency_summary
from harness.metrics.prometheus import read_search_histogram

LATENCY_COLUMNS = [
    "collection",
    "n",
    "mean_ms",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "embed_ms_per_probe",
    "probes_from_cache",
    "embed_model",
]
SERVER_LATENCY_COLUMNS = ["server_n", "server_mean_ms", "server_p50_ms", "server_p95_ms"]


def timed_searches(
    search: Callable[[np.ndarray], object],
    vectors: np.ndarray,
    repeats: int,
    metrics_url: str | None = None,
    tick: Callable[[], None] | None = None,
) -> dict:
    """n, mean and p50/p95/p99 (ms) of ``repeats`` one-query searches per vector, and with
    ``metrics_url`` the server's figures over the same searches (``server_*``)."""
    samples: list[float] = []
    server: dict = {}
    if repeats and len(vectors):
        search(vectors[:1])  # warm-up, untimed
        before = read_search_histogram(metrics_url) if metrics_url else None
        for i in range(len(vectors)):
            for _ in range(repeats):
                started = time.perf_counter()
                search(vectors[i : i + 1])
                samples.append((time.perf_counter() - started) * 1000)
                if tick:
                    tick()
        if before is not None and metrics_url:
            server = read_search_histogram(metrics_url).minus(before).summary()
    return {**latency_summary(samples), **server}
