"""Group structure of neighbours: do a line's neighbours come from its own group (song)?"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


def group_shares(query_groups: Sequence[str], neighbour_groups: Sequence[Sequence[str]]) -> list[float]:
    """Per query, the share of its neighbours in its own group (NaN for a query with none)."""
    return [sum(g == q for g in n) / len(n) if len(n) else float("nan") for q, n in zip(query_groups, neighbour_groups)]


def group_coherence(query_groups: Sequence[str], neighbour_groups: Sequence[Sequence[str]]) -> float:
    """Mean share of each query's neighbours that are in the query's own group."""
    shares = [s for s in group_shares(query_groups, neighbour_groups) if s == s]
    return float(np.mean(shares)) if shares else float("nan")


def group_affinity(query_groups: Sequence[str], neighbour_groups: Sequence[Sequence[str]]) -> pd.DataFrame:
    """Long table: for queries in group X, the share of their neighbours in group Y (rows sum to 1)."""
    counts: dict[tuple[str, str], int] = {}
    totals: dict[str, int] = {}
    for q, neighbours in zip(query_groups, neighbour_groups):
        for g in neighbours:
            counts[(q, g)] = counts.get((q, g), 0) + 1
            totals[q] = totals.get(q, 0) + 1
    rows = [{"query_group": q, "neighbour_group": g, "share": c / totals[q]} for (q, g), c in counts.items()]
    return pd.DataFrame(rows, columns=["query_group", "neighbour_group", "share"])


def chance_coherence(query_groups: Sequence[str], group_sizes: dict[str, int], rows: int) -> float:
    """Expected share of same-group neighbours if neighbours were drawn at random."""
    if rows < 2 or not query_groups:
        return float("nan")
    return float(np.mean([(group_sizes[g] - 1) / (rows - 1) for g in query_groups]))
