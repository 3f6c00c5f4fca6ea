"""Probe every collection (and the baselines), time the searches, and measure how far the
results agree, with the configured index search and with exact search over the same
vectors: :mod:`harness.querying.pipeline` (``harness query``), the hit and overlap rows in
:mod:`harness.querying.found`, the cross-model checks and maps in
:mod:`harness.querying.crossmodel`."""

from harness.querying.crossmodel import ALIGNMENT_SAMPLE, cross_model_alignment
from harness.querying.found import HIT_COLUMNS
from harness.querying.pipeline import LITE_LATENCY_NOTE, QueryResult, query, run_query

__all__ = [
    "ALIGNMENT_SAMPLE",
    "HIT_COLUMNS",
    "LITE_LATENCY_NOTE",
    "QueryResult",
    "cross_model_alignment",
    "query",
    "run_query",
]
