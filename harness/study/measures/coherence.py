"""Group coherence: do a line's nearest neighbours come from its own group (song)?"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.metrics.groups import chance_coherence, group_affinity, group_shares
from harness.metrics.uncertainty import index_and_exact
from harness.study.base import Column, Frames, Measure, StudyInputs, Table
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
            section="Quality",
            link="coherence table",
            columns={"coherence": Column("Coherence", "float3", "high"), "chance": Column("Chance", "float3")},
        ),
        Table("coherence_items", "Group coherence per query line"),
        Table("affinity", "Group affinity (long form)"),
    )
    definition = (
        "share of a line's top-k neighbours (itself excluded) from its own group; chance = expected share at random; "
        "value with the configured index search, exact with exact search over the same vectors"
    )
    on_baselines = frozenset({"bm25", "hashing"})

    def _queries(self, ctx: Context) -> tuple[list[int], int] | None:
        """Positions of the sampled lines that have a group, and k; None when there is nothing to measure."""
        ids, groups = ctx.ids, ctx.groups
        if len({g for g in groups if g}) < 2 or len(ids) < 2:
            return None
        positions = [int(i) for i in ctx.sample(ctx.settings.coherence_sample) if groups[i]]
        return positions, min(ctx.settings.top_k, len(ids) - 1)

    def plan(self, ctx: Context, inputs: StudyInputs) -> None:
        found = self._queries(ctx)
        if found:
            ctx.plan_rows(ctx.ids[found[0]], found[1] + 1)

    def run(self, ctx: Context, inputs: StudyInputs) -> Frames:
        found = self._queries(ctx)
        if found is None:
            return {}
        ids, groups = ctx.ids, ctx.groups
        distinct = {g for g in groups if g}
        settings = ctx.settings
        positions, k = found
        query_ids = ids[positions]
        query_groups = [groups[i] for i in positions]
        index_results = ctx.search_rows(query_ids, k + 1)
        exact_results = ctx.search_rows(query_ids, k + 1, exact=True)
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
