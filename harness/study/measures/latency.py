"""Search latency of each collection: one-probe searches timed after an untimed warm-up, the
server's own figures from its Prometheus histogram where there is one, and the time the
probes took to embed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.records import FULL_TEXT_KINDS
from harness.retrieval import HybridRetriever, Queries
from harness.retrieval.timing import LATENCY_COLUMNS, SERVER_LATENCY_COLUMNS, timed_searches
from harness.study.base import Frames, Measure, Plot, StudyInputs, Table
from harness.study.context import CollectionContext, Context
from harness.study.fulltext import FullTextContext


class Latency(Measure):
    name = "latency"
    tables = (Table("latency", "Search latency (ms, client side) and probe embedding time"),)
    plots = (Plot("latency", "Search latency (query output)", "Cost"),)
    definition = (
        "client-side time of one-probe searches with the configured index setting, --repeats per probe after an "
        "untimed warm-up (p50/p95/p99 by linear interpolation); server_* from the server's Prometheus histogram "
        "milvus_proxy_sq_latency over the same searches; embed_ms_per_probe = probe encode time / probes; "
        "Milvus BM25 and hybrid searches are timed the same way (hybrid: the probe already encoded)"
    )
    on_baselines = frozenset(FULL_TEXT_KINDS)

    def wanted(self, inputs: StudyInputs) -> bool:
        return bool(inputs.probes)

    def plan(self, ctx: Context, inputs: StudyInputs) -> None:
        assert inputs.probes is not None
        ctx.plan_texts([p.text for p in inputs.probes], ctx.settings.top_k)

    def run(self, ctx: Context, inputs: StudyInputs) -> Frames:
        if isinstance(ctx, FullTextContext):
            return self._full_text(ctx, inputs)
        assert inputs.probes is not None and isinstance(ctx, CollectionContext)
        settings = ctx.settings
        texts = [p.text for p in inputs.probes]
        ctx.search_texts(texts, settings.top_k)  # encodes the probes (once, shared with the other measures)
        vectors = ctx.retriever.query_vectors(Queries.of_texts(texts))
        seconds, from_cache = ctx.query_encodes.get(tuple(texts), (float("nan"), 0))
        timed = timed_searches(
            lambda one: ctx.search_hits(one, settings.top_k), vectors, settings.search_repeats, settings.metrics_url
        )
        row = {
            "collection": ctx.name,
            **timed,
            "embed_ms_per_probe": seconds * 1000 / max(1, len(texts)),
            "probes_from_cache": from_cache,
            "embed_model": ctx.embedder.alias,
        }
        columns = LATENCY_COLUMNS + (SERVER_LATENCY_COLUMNS if settings.metrics_url else [])
        return {"latency": pd.DataFrame([row], columns=columns)}

    def _full_text(self, ctx: FullTextContext, inputs: StudyInputs) -> Frames:
        """One-probe Milvus BM25 or hybrid searches; the hybrid's probes are encoded once before
        the timing (as the dense searches' are), so both time the search alone."""
        assert inputs.probes is not None
        settings = ctx.settings
        texts = [p.text for p in inputs.probes]
        ctx.search_texts(texts, settings.top_k)
        vectors = None
        if isinstance(ctx.retriever, HybridRetriever):
            vectors = ctx.retriever.dense.query_vectors(Queries.of_texts(texts))
        positions = np.arange(len(texts)).reshape(-1, 1)

        def search(one: np.ndarray) -> object:
            i = int(one[0][0])
            return ctx.search_one(texts[i : i + 1], None if vectors is None else vectors[i : i + 1], settings.top_k)

        timed = timed_searches(search, positions, settings.search_repeats, settings.metrics_url)
        embed_model = ctx.collection.alias if vectors is not None else ""
        row = {"collection": ctx.name, **timed, "embed_ms_per_probe": float("nan"), "probes_from_cache": 0}
        row["embed_model"] = embed_model
        columns = LATENCY_COLUMNS + (SERVER_LATENCY_COLUMNS if settings.metrics_url else [])
        return {"latency": pd.DataFrame([row], columns=columns)}
