"""Agreement between two ranked result lists (top-k ids of two collections for one probe)."""

from __future__ import annotations

from typing import Hashable, Sequence


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


def kendall_tau_common(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Kendall's tau-b between the ranks that two lists give their common items (NaN below 2)."""
    position_b = {item: rank for rank, item in enumerate(b)}
    common = [item for item in a if item in position_b]
    if len(common) < 2:
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
