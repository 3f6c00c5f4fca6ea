"""Group coherence: do a line's nearest neighbours come from its own group (song)?"""

from __future__ import annotations

import pandas as pd

from harness.metrics.groups import chance_coherence, group_affinity, group_coherence
from harness.study.base import Frames, Measure, StudyInputs, Table
from harness.study.context import CollectionContext


class Coherence(Measure):
    name = "coherence"
    tables = (
        Table("coherence", "Group coherence", "Group coherence"),
        Table("affinity", "Group affinity (long form)"),
    )
    definition = (
        "share of a line's top-k neighbours (itself excluded) from its own group; chance = expected share at random"
    )

    def run(self, ctx: CollectionContext, inputs: StudyInputs) -> Frames:
        ids, groups = ctx.ids, ctx.groups
        distinct = {g for g in groups if g}
        if len(distinct) < 2 or len(ids) < 2:
            return {}
        settings = ctx.settings
        positions = [int(i) for i in ctx.sample(settings.coherence_sample) if groups[i]]
        k = min(settings.top_k, len(ids) - 1)
        query_ids = ids[positions]
        results = ctx.search_hits(ctx.vectors(query_ids), k + 1, settings.nprobe)
        neighbours = [[h.group for h in hits if h.id != me][:k] for hits, me in zip(results, query_ids.tolist())]
        query_groups = [groups[i] for i in positions]
        sizes = pd.Series(groups).value_counts().to_dict()
        row = {
            "collection": ctx.name,
            "model": ctx.alias,
            "queries": len(positions),
            "k": k,
            "groups": len(distinct),
            "coherence": group_coherence(query_groups, neighbours),
            "chance": chance_coherence(query_groups, sizes, len(ids)),
        }
        affinity = group_affinity(query_groups, neighbours)
        affinity.insert(0, "collection", ctx.name)
        return {"coherence": pd.DataFrame([row]), "affinity": affinity}
