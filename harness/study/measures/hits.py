"""What each retriever returned for each probe: the ranked hits of its index search (a
baseline's only search), as people read them side by side."""

from __future__ import annotations

import pandas as pd

from harness.study.base import Frames, Measure, StudyInputs, Table
from harness.study.context import Context

HIT_COLUMNS = ["probe_id", "probe", "collection", "rank", "id", "text", "group", "distance"]


class Hits(Measure):
    name = "hits"
    tables = (Table("hits", "Hits per probe"),)
    definition = "each probe's top k with the configured index search (a baseline's own search), nearest first"
    on_baselines = frozenset({"bm25", "hashing"})

    def wanted(self, inputs: StudyInputs) -> bool:
        return bool(inputs.probes)

    def plan(self, ctx: Context, inputs: StudyInputs) -> None:
        assert inputs.probes is not None
        ctx.plan_texts([p.text for p in inputs.probes], ctx.settings.top_k)

    def run(self, ctx: Context, inputs: StudyInputs) -> Frames:
        assert inputs.probes is not None
        found = ctx.search_texts([p.text for p in inputs.probes], ctx.settings.top_k)
        rows = [
            {
                "probe_id": probe.id,
                "probe": probe.text,
                "collection": ctx.name,
                "rank": rank,
                "id": hit.id,
                "text": hit.text,
                "group": hit.group,
                "distance": hit.distance,
            }
            for probe, hits in zip(inputs.probes, found)
            for rank, hit in enumerate(hits, start=1)
        ]
        return {"hits": pd.DataFrame(rows, columns=HIT_COLUMNS)}
