"""Agreement between two ranked result lists (top-k ids of two collections for one probe)."""

from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np
import pandas as pd

from harness.metrics.uncertainty import SEED, index_and_exact
from harness.records import is_baseline

AGREEMENT = ("overlap_at_k", "jaccard", "rbo", "kendall_tau")


def overlap_at_k(a: Sequence[Hashable], b: Sequence[Hashable], k: int | None = None) -> float:
    """|top-k(a) ∩ top-k(b)| / min(k, the longer list's length).

    The divisor is the number of results that could be shared: a collection of 2 rows
    searched for 10 returns 2, and two identical 2-hit lists agree fully (1.0), as their
    Jaccard says, rather than 0.2."""
    k = k or max(len(a), len(b))
    possible = min(k, max(len(a), len(b)))
    if possible == 0:
        return float("nan")
    return len(set(a[:k]) & set(b[:k])) / possible


def jaccard(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    union = set(a) | set(b)
    if not union:
        return float("nan")
    return len(set(a) & set(b)) / len(union)


def rank_biased_overlap(a: Sequence[Hashable], b: Sequence[Hashable], p: float = 0.9) -> float:
    """Extrapolated RBO (Webber, Moffat & Zobel 2010, eq. 32) for two finite rankings.

    Handles lists of different lengths; items are assumed unique within each list.
    """
    if not 0 < p < 1:
        raise ValueError("p must be in (0, 1)")
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    s, l = len(short), len(long_)  # noqa: E741 (the paper's notation)
    if l == 0:
        return float("nan")
    if s == 0:
        return 0.0
    seen_short: set = set()
    seen_long: set = set()
    overlap = 0
    x = [0] * (l + 1)  # x[d]: overlap of short[:d] and long[:d]
    for d in range(1, l + 1):
        item_long = long_[d - 1]
        if d <= s:
            item_short = short[d - 1]
            if item_short == item_long:
                overlap += 1
            else:
                overlap += (item_short in seen_long) + (item_long in seen_short)
            seen_short.add(item_short)
        elif item_long in seen_short:
            overlap += 1
        seen_long.add(item_long)
        x[d] = overlap
    x_s, x_l = x[s], x[l]
    total = sum(x[d] / d * p**d for d in range(1, l + 1))
    total += sum(x_s * (d - s) / (s * d) * p**d for d in range(s + 1, l + 1))
    return (1 - p) / p * total + ((x_l - x_s) / l + x_s / s) * p**l


# Fewer shared items say nothing about order: two give tau +1 or -1 whatever the lists, and
# such probes would pull the mean to 1.000 with an interval of [1.000, 1.000].
KENDALL_MIN_COMMON = 3


def kendall_tau_common(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Kendall's tau-b between the ranks that two lists give their common items; NaN below
    KENDALL_MIN_COMMON of them, so that means and intervals over probes skip the probe."""
    position_b = {item: rank for rank, item in enumerate(b)}
    common = [item for item in a if item in position_b]
    if len(common) < KENDALL_MIN_COMMON:
        return float("nan")
    from scipy.stats import kendalltau

    ranks_a = list(range(len(common)))
    ranks_b = [position_b[item] for item in common]
    tau = kendalltau(ranks_a, ranks_b).statistic
    return float(tau)


def agreement(a: Sequence[Hashable], b: Sequence[Hashable], k: int, p: float = 0.9) -> dict:
    """All pairwise agreement figures for two top-k id lists."""
    a, b = list(a)[:k], list(b)[:k]
    return {
        "k": k,
        "overlap_at_k": overlap_at_k(a, b, k),
        "jaccard": jaccard(a, b),
        "rbo": rank_biased_overlap(a, b, p),
        "kendall_tau": kendall_tau_common(a, b),
    }


def summarise_agreement(overlap: pd.DataFrame, seed: int = SEED) -> pd.DataFrame:
    """Per pair and figure, from a per-probe table with ``FIGURE`` (index search) and
    ``FIGURE_exact`` columns: the means over probes with their 95% bootstrap intervals and
    what the index loses (exact - value)."""
    if overlap.empty:
        return pd.DataFrame()
    rows = []
    for (a, b), frame in overlap.groupby(["collection_a", "collection_b"], sort=False):
        for metric in AGREEMENT:
            exact = frame[f"{metric}_exact"] if f"{metric}_exact" in frame else frame[metric] * np.nan
            rows.append({"collection_a": a, "collection_b": b, **index_and_exact(metric, frame[metric], exact, seed)})
    return pd.DataFrame(rows)


def index_attribution(summary: pd.DataFrame) -> list[str]:
    """For each pair with at least one indexed collection: of its disagreement (1 - overlap@k)
    with the index search, how much is the index's (exact - value) and how much the retrievers'."""
    if summary.empty:
        return []
    lines = []
    for row in summary[summary["metric"] == "overlap_at_k"].itertuples(index=False):
        if np.isnan(row.exact) or (is_baseline(row.collection_a) and is_baseline(row.collection_b)):
            continue
        lines.append(
            f"{row.collection_a} vs {row.collection_b}: of the {1 - row.value:.2f} disagreement (1 - overlap@k) "
            f"with the index search, {row.index_loss:.2f} is the index's and {1 - row.exact:.2f} the retrievers' own"
        )
    return lines
