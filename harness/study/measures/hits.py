"""What each retriever returned for each probe: the ranked hits of its index search (a
baseline's only search), as people read them side by side."""

from __future__ import annotations

import pandas as pd

from harness.records import FULL_TEXT_KINDS
from harness.retrieval import HIT_COLUMNS, hit_rows
from harness.study.base import Frames, Measure, StudyInputs, Table
from harness.study.context import Context


class Hits(Measure):
    name = "hits"
    tables = (Table("hits", "Hits per probe"),)
    definition = "each probe's top k with the configured index search (a baseline's own search), nearest first"
    on_baselines = frozenset({"bm25", "hashing", *FULL_TEXT_KINDS})

    def wanted(self, inputs: StudyInputs) -> bool:
        return bool(inputs.probes)

    def plan(self, ctx: Context, inputs: StudyInputs) -> None:
        assert inputs.probes is not None
        ctx.plan_texts([p.text for p in inputs.probes], ctx.settings.top_k)

    def run(self, ctx: Context, inputs: StudyInputs) -> Frames:
        assert inputs.probes is not None
        found = ctx.search_texts([p.text for p in inputs.probes], ctx.settings.top_k)
        rows = [row for probe, hits in zip(inputs.probes, found) for row in hit_rows(probe, ctx.name, hits)]
        return {"hits": pd.DataFrame(rows, columns=HIT_COLUMNS)}
