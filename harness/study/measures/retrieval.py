"""Retrieval against the user's relevance judgements, from real searches of each collection."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.inputs import check_qrels_ids
from harness.metrics.retrieval import ndcg_at_k, recall_at_k, reciprocal_rank
from harness.study.base import Frames, Measure, StudyInputs, Table
from harness.study.context import CollectionContext


class Retrieval(Measure):
    name = "retrieval"
    tables = (Table("retrieval", "Retrieval with relevance judgements", "Retrieval with relevance judgements"),)
    definition = "recall@k = relevant found in top k / relevant; nDCG@10 with linear gain; MRR over the top max(k,10)"

    def wanted(self, inputs: StudyInputs) -> bool:
        return inputs.qrels is not None

    def check(self, ctx: CollectionContext, inputs: StudyInputs) -> None:
        assert inputs.qrels is not None
        judged = [int(i) for i in dict.fromkeys(inputs.qrels["corpus_id"])]
        ctx.store.ensure_loaded(ctx.name)  # a server looks up ids only in a loaded collection
        present = ctx.store.existing_ids(ctx.name, judged)
        check_qrels_ids(inputs.qrels, present, inputs.qrels_path or "", ctx.name)

    def run(self, ctx: CollectionContext, inputs: StudyInputs) -> Frames:
        assert inputs.qrels is not None and inputs.probes is not None
        settings = ctx.settings
        judged = {
            pid: dict(zip(g["corpus_id"].astype(int), g["relevance"])) for pid, g in inputs.qrels.groupby("probe_id")
        }
        probes = [p for p in inputs.probes if p.id in judged]
        vectors = ctx.encode([p.text for p in probes], role="query")
        results = ctx.search_ids(vectors, max(settings.top_k, 10), settings.nprobe)
        per = [
            (
                recall_at_k(r, judged[p.id], settings.top_k),
                ndcg_at_k(r, judged[p.id], 10),
                reciprocal_rank(r, judged[p.id]),
            )
            for p, r in zip(probes, results)
        ]
        recall, ndcg, mrr = (float(np.nanmean(column)) for column in zip(*per))
        row = {
            "collection": ctx.name,
            "model": ctx.embedder.alias,
            "probes": len(probes),
            "k": settings.top_k,
            "recall_at_k": recall,
            "ndcg_at_10": ndcg,
            "mrr": mrr,
            "nprobe": settings.nprobe,
        }
        return {"retrieval": pd.DataFrame([row])}
