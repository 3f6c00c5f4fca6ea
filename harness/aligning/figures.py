"""The figures of an alignment, from search results and vectors: agreement with the native
results, retrieval against judgements, the share of the new model's native quality a map
recovers, the latency a map adds, and the score scales. Every one is a plain function of
what :class:`~harness.aligning.result.AlignResult` writes, so it can be recomputed."""

from __future__ import annotations

import statistics
import time
from typing import Sequence

import numpy as np
import pandas as pd

from harness.maps import SpaceMap
from harness.metrics.agreement import agreement
from harness.metrics.retrieval import ndcg_at_k, recall_at_k, reciprocal_rank
from harness.metrics.scores import quantile_row, share_kept, threshold_for_share
from harness.metrics.spaces import cosine_rows
from harness.records import Probe

QUALITY = ("recall_at_k", "ndcg_at_10", "mrr")
OLD_NATIVE, NEW_NATIVE, UNMAPPED = "old-native", "new-native", "unmapped"
BASELINES = (OLD_NATIVE, NEW_NATIVE, UNMAPPED)


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if v == v]
    return float(np.mean(finite)) if finite else float("nan")


def agreement_figures(ids: list[list[int]], native: list[list[int]], k: int, p: float, suffix: str) -> dict:
    """Mean overlap@k, Jaccard and RBO of each probe's results against the native ones."""
    rows = [agreement(a, b, k, p) for a, b in zip(ids, native)]
    return {f"{name}_{suffix}": _mean([r[name] for r in rows]) for name in ("overlap_at_k", "jaccard", "rbo")}


def probe_figures(
    ids: list[list[int]],
    old_native: list[list[int]],
    new_native: list[list[int]] | None,
    judged: dict[str, dict[int, float]] | None,
    probes: Sequence[Probe],
    top_k: int,
    rbo_p: float,
) -> dict:
    """Agreement with the old model's own results (and the new model's, when it has a
    collection); with judgements, recall@k, nDCG@10 and MRR (over the results given, at least
    the top 10), as the study's retrieval measure computes them."""
    row: dict = {"probes": len(ids), **agreement_figures(ids, old_native, top_k, rbo_p, "vs_old")}
    if new_native is not None:
        row.update(agreement_figures(ids, new_native, top_k, rbo_p, "vs_new"))
    if judged:
        scored = [(r, judged[p.id]) for p, r in zip(probes, ids) if p.id in judged]
        row["recall_at_k"] = _mean([recall_at_k(r, rel, top_k) for r, rel in scored])
        row["ndcg_at_10"] = _mean([ndcg_at_k(r, rel, 10) for r, rel in scored])
        row["mrr"] = _mean([reciprocal_rank(r, rel) for r, rel in scored])
    return row


def cosines(queries: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Cosine of each query with the same row's stored vector (NaN where the dimensions differ)."""
    if queries.shape != targets.shape:
        return np.full(len(queries), np.nan)
    return cosine_rows(queries, targets)


def apply_us(space_map: SpaceMap, queries: np.ndarray) -> float:
    """Median microseconds to map one query vector (after an untimed warm-up)."""
    if not len(queries):
        return float("nan")
    space_map(queries[:1])
    samples = []
    for i in range(len(queries)):
        started = time.perf_counter()
        space_map(queries[i : i + 1])
        samples.append((time.perf_counter() - started) * 1e6)
    return float(statistics.median(samples))


def recovered(results: pd.DataFrame) -> pd.DataFrame:
    """Adds ``recovered_<figure>``: each row's quality over the new model's native quality
    (Drift-Adapter's figure: what share of a full re-embedding the map delivers)."""
    results = results.copy()
    native = results[results["method"] == NEW_NATIVE]
    for figure in QUALITY:
        if figure not in results or native.empty:
            continue
        base = float(native[figure].iloc[0])
        results[f"recovered_{figure}"] = results[figure] / base if base > 0 else float("nan")
    return results


def largest(results: pd.DataFrame, method: str) -> pd.Series | None:
    """The row of a map kind at its largest training size."""
    rows = results[results["method"] == method]
    if rows.empty:
        return None
    return rows.sort_values("train_size").iloc[-1]


def best(results: pd.DataFrame, kinds: Sequence[str]) -> str | None:
    """The kind whose largest fit does best on held-out rows: self-retrieval@1, then same-text cosine.

    Chosen on held-out rows only, never on the probes or their judgements, so the figures
    reported for the chosen map are not selected on.
    """
    ranked = []
    for kind in kinds:
        row = largest(results, kind)
        if row is not None:
            ranked.append((_key(row["self_retrieval_at_1"]), _key(row["same_text_cosine"]), kind))
    return max(ranked)[2] if ranked else None


def _key(value) -> float:
    return float(value) if value == value else float("-inf")


def score_table(scores: dict[str, np.ndarray], metric: str, threshold: float | None = None) -> pd.DataFrame:
    """Per scale (a method's held-out queries, top-k hits, each query's own row excluded):
    the score that keeps 10, 25, 50, 75 and 90 % of the hits; with ``threshold`` (tuned on the
    old model's scores), the share it keeps there and the score keeping that share on each scale."""
    rows = []
    share = (
        share_kept(scores[OLD_NATIVE], threshold, metric) if threshold is not None and OLD_NATIVE in scores else None
    )
    for method, values in scores.items():
        row = {"scale": method, "metric": metric, "hits": int(len(values)), **quantile_row(values, metric)}
        if share is not None:
            row["old_threshold"] = threshold
            row["share_kept"] = share
            row["threshold_same_share"] = threshold_for_share(values, share, metric)
        rows.append(row)
    return pd.DataFrame(rows)
