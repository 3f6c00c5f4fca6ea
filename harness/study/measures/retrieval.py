"""Retrieval against the user's relevance judgements, from real searches of each collection
(and of the baselines), with the configured index search and exactly over the same vectors."""

from __future__ import annotations

import pandas as pd

from harness.inputs import check_qrels_ids
from harness.metrics.retrieval import ndcg_at_k, recall_at_k, reciprocal_rank
from harness.metrics.uncertainty import index_and_exact
from harness.records import FULL_TEXT_KINDS
from harness.study.base import Column, Frames, Measure, Plot, StudyInputs, Table
from harness.study.context import CollectionContext, Context

METRICS = ("recall_at_k", "ndcg_at_10", "mrr")
SEARCHES = ("index", "exact")


def _judgements(inputs: StudyInputs) -> dict[str, dict[int, float]]:
    assert inputs.qrels is not None
    return {pid: dict(zip(g["corpus_id"].astype(int), g["relevance"])) for pid, g in inputs.qrels.groupby("probe_id")}


def _judged_probes(inputs: StudyInputs) -> list:
    judged = _judgements(inputs)
    return [p for p in inputs.probes or [] if p.id in judged]


class Retrieval(Measure):
    name = "retrieval"
    tables = (
        Table(
            "retrieval",
            "Retrieval with relevance judgements (95% CI over probes; exact = exact search over the same vectors)",
            "Retrieval with relevance judgements (mean over probes, 95% CI; index_loss = exact - value)",
            section="Quality",
            link="retrieval table",
            columns={
                "recall_at_k": Column("Recall@k", "float3", "high"),
                "ndcg_at_10": Column("nDCG@10", "float3", "high"),
                "mrr": Column("MRR", "float3", "high"),
                "index_loss": Column("Index loss", "float3"),
            },
        ),
        Table("retrieval_items", "Retrieval per probe"),
    )
    plots = (Plot("retrieval", "Retrieval with 95% intervals, exact search (baselines grey, hatched)", "Quality"),)
    definition = (
        "recall@k = relevant found in top k / relevant; nDCG@10 with linear gain; MRR over the top max(k,10); "
        "value = the configured index search, exact = exact L2 search over the same stored vectors, "
        "index_loss = exact - value"
    )
    on_baselines = frozenset({"bm25", "hashing", *FULL_TEXT_KINDS})

    def wanted(self, inputs: StudyInputs) -> bool:
        return inputs.qrels is not None

    def check(self, ctx: Context, inputs: StudyInputs) -> None:
        assert inputs.qrels is not None
        if not isinstance(ctx, CollectionContext):
            return
        judged = [int(i) for i in dict.fromkeys(inputs.qrels["corpus_id"])]
        present = ctx.store.existing_ids(ctx.name, judged)
        check_qrels_ids(inputs.qrels, present, inputs.qrels_path or "", ctx.name)

    def plan(self, ctx: Context, inputs: StudyInputs) -> None:
        ctx.plan_texts([p.text for p in _judged_probes(inputs)], max(ctx.settings.top_k, 10))

    def run(self, ctx: Context, inputs: StudyInputs) -> Frames:
        assert inputs.qrels is not None and inputs.probes is not None
        settings = ctx.settings
        judged = _judgements(inputs)
        probes = _judged_probes(inputs)
        depth = max(settings.top_k, 10)
        texts = [p.text for p in probes]
        index = ctx.search_texts(texts, depth)
        exact = ctx.search_texts(texts, depth, exact=True)
        items = []
        for search, results in zip(SEARCHES, (index, exact)):
            for probe, hits in zip(probes, results):
                found = [h.id for h in hits]
                relevant = judged[probe.id]
                items.append(
                    {
                        "collection": ctx.name,
                        "probe_id": probe.id,
                        "search": search,
                        "recall_at_k": recall_at_k(found, relevant, settings.top_k),
                        "ndcg_at_10": ndcg_at_k(found, relevant, 10),
                        "mrr": reciprocal_rank(found, relevant),
                    }
                )
        frame = pd.DataFrame(items)
        by_search = {s: frame[frame["search"] == s] for s in SEARCHES}
        rows = [
            {
                "collection": ctx.name,
                "model": ctx.alias,
                "k": settings.top_k,
                "search": ctx.setting,
                **index_and_exact(metric, by_search["index"][metric], by_search["exact"][metric], settings.seed),
            }
            for metric in METRICS
        ]
        return {"retrieval": pd.DataFrame(rows), "retrieval_items": frame}
