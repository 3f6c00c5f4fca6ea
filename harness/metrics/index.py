"""Index fidelity: the nprobe sweep and the smallest nprobe that reaches a recall."""

from __future__ import annotations

import pandas as pd


def nprobe_sweep(nlist: int | None) -> list[int]:
    """1, 2, 4, ... up to nlist, with nlist itself last."""
    top = nlist or 64
    values, n = [], 1
    while n < top:
        values.append(n)
        n *= 2
    values.append(top)
    return values


def first_reaching(fidelity: pd.DataFrame, threshold: float) -> int | None:
    reached = fidelity[fidelity["recall_at_k"] >= threshold - 1e-12].sort_values("nprobe")
    return int(reached["nprobe"].iloc[0]) if len(reached) else None


def recall_against(approx: list[list[int]], exact: list[list[int]], k: int) -> float:
    """Mean share of the exact top k that the approximate search found."""
    return float(sum(len(set(a) & set(e)) / k for a, e in zip(approx, exact)) / len(exact)) if exact else float("nan")
