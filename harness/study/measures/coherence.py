"""Group coherence: do a line's nearest neighbours come from its own group (song)?"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.metrics.groups import chance_coherence, group_affinity, group_shares
from harness.metrics.uncertainty import index_and_exact
from harness.study.base import Frames, Measure, StudyInputs, Table
from harness.study.context import Context


def _shares(query_ids: np.ndarray, query_groups: list[str], results, k: int) -> tuple[list[float], list[list[str]]]:
    """Each query line's share of same-group neighbours (itself excluded), and the neighbours' groups."""
    neighbours = [[h.group for h in hits if h.id != me][:k] for hits, me in zip(results, query_ids.tolist())]
    return group_shares(query_groups, neighbours), neighbours


class Coherence(Measure):
    name = "coherence"
    tables = (
        Table(
            "coherence",
            "Group coherence (95% CI over query lines; exact = exact search)",
            "Group coherence (mean over query lines, 95% CI; index_loss = exact - value)",
        ),
        Table("coherence_items", "Group coherence per query line"),
        Table("affinity", "Group affinity (long form)"),
    )
    definition = (
        "share of a line's top-k neighbours (itself excluded) from its own group; chance = expected share at random; "
        "value with the configured index search, exact with exact search over the same vectors"
    )
    on_baselines = frozenset({"bm25", "hashing"})

    def run(self, ctx: Context, inputs: StudyInputs) -> Frames:
        ids, groups = ctx.ids, ctx.groups
        distinct = {g for g in groups if g}
        if len(distinct) < 2 or len(ids) < 2:
            return {}
        settings = ctx.settings
        positions = [int(i) for i in ctx.sample(settings.coherence_sample) if groups[i]]
        k = min(settings.top_k, len(ids) - 1)
        query_ids = ids[positions]
        query_groups = [groups[i] for i in positions]
        index_results = ctx.search_rows(query_ids, k + 1)
        exact_results = ctx.search_rows(query_ids, k + 1, exact=True) if not ctx.baseline else index_results
        index_shares, neighbours = _shares(query_ids, query_groups, index_results, k)
        exact_shares, _ = _shares(query_ids, query_groups, exact_results, k)
        sizes = pd.Series(groups).value_counts().to_dict()
        summary = index_and_exact("coherence", index_shares, exact_shares, settings.seed, name="coherence")
        row = {
            "collection": ctx.name,
            "model": ctx.alias,
            "queries": len(positions),
            "k": k,
            "groups": len(distinct),
            "search": ctx.setting,
            **{key: value for key, value in summary.items() if key not in ("metric", "items")},
            "chance": chance_coherence(query_groups, sizes, len(ids)),
        }
        items = pd.DataFrame(
            {
                "collection": ctx.name,
                "id": np.concatenate([query_ids, query_ids]),
                "search": ["index"] * len(query_ids) + ["exact"] * len(query_ids),
                "share": index_shares + exact_shares,
            }
        )
        affinity = group_affinity(query_groups, neighbours)
        affinity.insert(0, "collection", ctx.name)
        return {"coherence": pd.DataFrame([row]), "coherence_items": items, "affinity": affinity}
