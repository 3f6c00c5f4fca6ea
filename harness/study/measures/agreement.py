"""Agreement between every two retrievers (collections and baselines) on the probes' top-k
results, with the configured index search and with exact search over the same vectors, so
the part of the disagreement that is the index's is apart from the part that is the models'."""

from __future__ import annotations

import pandas as pd

from harness.metrics.agreement import agreement
from harness.metrics.uncertainty import index_and_exact
from harness.records import FULL_TEXT_KINDS
from harness.study.base import Column, Frames, Measure, Plot, StudyInputs, Table
from harness.study.context import Context

METRICS = ("overlap_at_k", "jaccard", "rbo", "kendall_tau")
RBO_P = 0.9


class Agreement(Measure):
    name = "agreement"
    tables = (
        Table(
            "agreement",
            "Agreement between retrievers on the probes (95% CI over probes; exact = exact search)",
            section="How different the results are",
            link="agreement table",
            columns={
                "overlap_at_k": Column("Overlap@k", "float3"),
                "jaccard": Column("Jaccard", "float3"),
                "rbo": Column("RBO", "float3"),
                "kendall_tau": Column("Kendall τ", "float3"),
                "index_loss": Column("Index loss", "float3"),
            },
        ),
        Table("agreement_items", "Agreement per probe"),
    )
    plots = (Plot("overlap", "Agreement between collections (query output)", "How different the results are"),)
    definition = (
        "overlap@k = |A∩B|/k, Jaccard, extrapolated RBO (p 0.9) and Kendall tau-b over common items of two "
        "retrievers' top-k lists per probe; value with each collection's configured index search, exact with exact "
        "search over the same stored vectors; index_loss = exact - value"
    )
    per_pair = True
    on_baselines = frozenset({"bm25", "hashing", *FULL_TEXT_KINDS})

    def wanted(self, inputs: StudyInputs) -> bool:
        return bool(inputs.probes)

    def plan(self, ctx: Context, inputs: StudyInputs) -> None:
        assert inputs.probes is not None
        ctx.plan_texts([p.text for p in inputs.probes], ctx.settings.top_k)

    def prepare(self, ctx: Context, inputs: StudyInputs) -> None:
        assert inputs.probes is not None
        texts = [p.text for p in inputs.probes]
        k = ctx.settings.top_k
        index = [[h.id for h in hits] for hits in ctx.search_texts(texts, k)]
        exact = [[h.id for h in hits] for hits in ctx.search_texts(texts, k, exact=True)]
        ctx.memo[self.name] = {"index": index, "exact": exact}

    def run_pair(self, a: Context, b: Context, inputs: StudyInputs) -> Frames:
        assert inputs.probes is not None
        k = a.settings.top_k
        items = [
            {
                "collection_a": a.name,
                "collection_b": b.name,
                "probe_id": probe.id,
                "search": search,
                **agreement(a.memo[self.name][search][i], b.memo[self.name][search][i], k, RBO_P),
            }
            for search in ("index", "exact")
            for i, probe in enumerate(inputs.probes)
        ]
        frame = pd.DataFrame(items)
        index, exact = frame[frame["search"] == "index"], frame[frame["search"] == "exact"]
        rows = [
            {
                "collection_a": a.name,
                "collection_b": b.name,
                "k": k,
                **index_and_exact(metric, index[metric], exact[metric], a.settings.seed),
            }
            for metric in METRICS
        ]
        return {"agreement": pd.DataFrame(rows), "agreement_items": frame}
