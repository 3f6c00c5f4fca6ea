"""Index fidelity: recall of the index search against exact search over the same stored vectors."""

from __future__ import annotations

import pandas as pd

from harness.metrics.index import first_reaching, nprobe_sweep, recall_against
from harness.metrics.retrieval import exact_knn_ids
from harness.study.base import Frames, Measure, StudyInputs, Table
from harness.study.context import CollectionContext


class Fidelity(Measure):
    name = "fidelity"
    tables = (
        Table("fidelity_summary", "Index fidelity: IVF_FLAT vs exact search", "IVF_FLAT recall against exact search"),
        Table("fidelity", "Index fidelity: recall by nprobe"),
    )
    definition = "recall@k of IVF_FLAT search against exact L2 search over the same vectors"

    def run(self, ctx: CollectionContext, inputs: StudyInputs) -> Frames:
        if (ctx.meta.index.metric or "L2") != "L2":
            return {}  # the exact search here is L2; a collection the harness did not build may use another metric
        settings = ctx.settings
        ids = ctx.ids
        nlist = ctx.info.nlist
        k = min(settings.top_k, len(ids))
        query_ids = ids[ctx.sample(settings.fidelity_sample)]
        queries = ctx.vectors(query_ids)
        exact = exact_knn_ids(queries, ctx.stream(), k).tolist()
        sweep = sorted(
            set(settings.nprobe_values or nprobe_sweep(nlist)) | ({settings.nprobe} if settings.nprobe else set())
        )
        rows = [
            {
                "collection": ctx.name,
                "nlist": nlist,
                "nprobe": n,
                "k": k,
                "queries": len(query_ids),
                "recall_at_k": recall_against(ctx.search_ids(queries, k, n), exact, k),
            }
            for n in sweep
        ]
        frame = pd.DataFrame(rows)
        at_nprobe = frame.loc[frame["nprobe"] == settings.nprobe, "recall_at_k"]
        summary = {
            "collection": ctx.name,
            "nlist": nlist,
            "k": k,
            "recall_at_nprobe": float(at_nprobe.iloc[0]) if settings.nprobe else float("nan"),
            "nprobe": settings.nprobe,
            "nprobe_for_0_95": first_reaching(frame, 0.95),
            "nprobe_for_0_99": first_reaching(frame, 0.99),
        }
        return {"fidelity": frame, "fidelity_summary": pd.DataFrame([summary])}
