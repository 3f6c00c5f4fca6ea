"""Index fidelity: the sweep of an index's search parameter and the smallest value that
reaches a recall."""

from __future__ import annotations

import pandas as pd

EF_TOP = 512


def nprobe_sweep(nlist: int | None) -> list[int]:
    """1, 2, 4, ... up to nlist, with nlist itself last."""
    top = nlist or 64
    values, n = [], 1
    while n < top:
        values.append(n)
        n *= 2
    values.append(top)
    return values


def ef_sweep(k: int, top: int = EF_TOP) -> list[int]:
    """HNSW's ef: k (Milvus's least), 2k, 4k, ... up to ``top`` (at least k)."""
    values, ef = [], max(1, k)
    while ef < top:
        values.append(ef)
        ef *= 2
    values.append(max(top, k))
    return values


def first_reaching(fidelity: pd.DataFrame, threshold: float, column: str = "value") -> int | None:
    """The smallest value of the search parameter whose recall reaches the threshold."""
    reached = fidelity[fidelity["recall_at_k"] >= threshold - 1e-12].dropna(subset=[column]).sort_values(column)
    return int(reached[column].iloc[0]) if len(reached) else None


def recall_against(approx: list[list[int]], exact: list[list[int]], k: int) -> float:
    """Mean share of the exact top k that the approximate search found."""
    return float(sum(len(set(a) & set(e)) / k for a, e in zip(approx, exact)) / len(exact)) if exact else float("nan")
