"""Paired comparisons of every two retrievers (collections and baselines) on the same items,
and the probes that no retriever answers.

Each comparison is the difference of one figure between two retrievers on the items both
have, with its paired-bootstrap interval, a paired randomization p-value and a power
estimate (:mod:`harness.metrics.uncertainty`). Retrieval and coherence are compared on
exact search, so what is compared is the models, apart from the index (whose part the
retrieval and coherence tables show as ``index_loss``).
"""

from __future__ import annotations

from itertools import combinations
from typing import Iterator

import numpy as np
import pandas as pd

from harness.metrics.uncertainty import (
    EXACT_ITEMS,
    PERMUTATIONS,
    RESAMPLES,
    Statistic,
    contrast_statistic,
    correlation_statistic,
    mean_statistic,
    paired,
)
from harness.records import is_baseline
from harness.study.base import Column, Frames, Measure, StudyInputs, StudySettings, Table

FIXED = ["source", "sentence1", "sentence2", "gold"]
OPPOSITE = {"win": "loss", "loss": "win", "tie": "tie"}

# metric -> (per-item values as a pivot: one row per item, one column per retriever, the statistic, strata)
Comparable = tuple[str, pd.DataFrame, Statistic, np.ndarray | None]


def _per_item(tables: dict[str, pd.DataFrame]) -> Iterator[Comparable]:
    items = tables.get("retrieval_items", pd.DataFrame())
    if not items.empty:
        exact = items[items["search"] == "exact"]
        for metric in ("recall_at_k", "ndcg_at_10", "mrr"):
            pivot = exact.pivot_table(index="probe_id", columns="collection", values=metric, sort=False, dropna=False)
            yield metric, pivot, mean_statistic, None
    items = tables.get("coherence_items", pd.DataFrame())
    if not items.empty:
        exact = items[items["search"] == "exact"]
        yield (
            "coherence",
            exact.pivot_table(index="id", columns="collection", values="share", dropna=False),
            (mean_statistic),
            None,
        )
    scores = tables.get("pair_scores", pd.DataFrame())
    if not scores.empty:
        for source, metric in (("pairs", "contrast"), ("graded", "spearman")):
            block = scores[scores["source"] == source].reset_index(drop=True)
            if block.empty:
                continue
            pivot = block[[c for c in block.columns if c not in FIXED]]
            gold = block["gold"].to_numpy(dtype=np.float64)
            if metric == "contrast":
                labels = gold.astype(int)
                yield metric, pivot, contrast_statistic(labels), labels
            else:
                yield metric, pivot, correlation_statistic(gold), None


def _ordered(columns) -> list[str]:
    names = [str(c) for c in columns]
    return [n for n in names if not is_baseline(n)] + [n for n in names if is_baseline(n)]


class Comparison(Measure):
    name = "comparison"
    tables = (
        Table(
            "paired",
            "Paired comparisons on the same items (difference = a - b, 95% CI; a tie when the CI includes 0)",
            section="Quality",
            folded=True,
            link="paired tests",
            columns={
                "p_value": Column("p", "float3"),
                "difference": Column("Difference", "float3"),
                "items_needed": Column("Items to separate", "int"),
            },
        ),
        Table(
            "standings",
            "Win / tie / loss per retriever",
            section="Quality",
            columns={
                "wins": Column("Wins", "int", "high"),
                "ties": Column("Ties", "int"),
                "losses": Column("Losses", "int", "low"),
            },
        ),
    )
    definition = (
        f"paired bootstrap ({RESAMPLES} resamples) of the difference between two retrievers on the items both have: "
        "a win when its 95% interval is above 0, a loss below, else a tie; p from a paired randomization test "
        f"(exact over all 2^n swaps up to n = {EXACT_ITEMS}, else {PERMUTATIONS} random swaps); items_needed = "
        "n * ((z_0.975 + z_0.8) * se / |difference|)^2; retrieval and coherence on exact search"
    )
    combined = True

    def summarise(self, tables: dict[str, pd.DataFrame], inputs: StudyInputs, settings: StudySettings) -> Frames:
        rows = []
        for metric, pivot, statistic, strata in _per_item(tables):
            for a, b in combinations(_ordered(pivot.columns), 2):
                difference = paired(
                    pivot[a].to_numpy(dtype=np.float64),
                    pivot[b].to_numpy(dtype=np.float64),
                    statistic,
                    strata=strata,
                    seed=settings.seed,
                )
                rows.append({"metric": metric, "collection_a": a, "collection_b": b, **difference.to_dict()})
        if not rows:
            return {}
        frame = pd.DataFrame(rows)
        return {"paired": frame, "standings": standings(frame)}


def standings(frame: pd.DataFrame) -> pd.DataFrame:
    """Wins, ties and losses of each retriever over all its paired comparisons, and in plain
    words against each baseline."""
    results: dict[str, dict[str, int]] = {}
    against: dict[str, dict[str, dict[str, int]]] = {}
    for row in frame.itertuples(index=False):
        for me, other, result in (
            (row.collection_a, row.collection_b, row.result),
            (row.collection_b, row.collection_a, OPPOSITE[row.result]),
        ):
            results.setdefault(me, {"win": 0, "tie": 0, "loss": 0})[result] += 1
            if is_baseline(other) and not is_baseline(me):
                against.setdefault(me, {}).setdefault(other, {"win": 0, "tie": 0, "loss": 0})[result] += 1
    rows = []
    for name in _ordered(results):
        counts = results[name]
        words = "; ".join(
            f"vs {other}: {c['win']} won, {c['tie']} tied, {c['loss']} lost"
            for other, c in against.get(name, {}).items()
        )
        rows.append(
            {
                "collection": name,
                "wins": counts["win"],
                "ties": counts["tie"],
                "losses": counts["loss"],
                "against_baselines": words,
            }
        )
    return pd.DataFrame(rows)


class Unanswered(Measure):
    name = "unanswered"
    tables = (
        Table(
            "unanswered",
            "Probes every retriever missed: no judged-relevant line in any top k",
            section="Similarity scores",
        ),
    )
    definition = (
        "judged probes where no collection and no baseline has a judged-relevant line in its top k, with index or "
        "exact search; best_rank = the best rank any of them gives a relevant line within the top max(k, 10)"
    )
    combined = True

    def wanted(self, inputs: StudyInputs) -> bool:
        return inputs.qrels is not None

    def summarise(self, tables: dict[str, pd.DataFrame], inputs: StudyInputs, settings: StudySettings) -> Frames:
        items = tables.get("retrieval_items", pd.DataFrame())
        if items.empty or inputs.qrels is None:
            return {}
        texts = {p.id: p.text for p in inputs.probes or []}
        relevant = inputs.qrels[inputs.qrels["relevance"] > 0].groupby("probe_id").size()
        rows = []
        for probe_id, group in items.groupby("probe_id", sort=False):
            if (group["recall_at_k"] > 0).any():
                continue
            best = group["mrr"].max()
            rows.append(
                {
                    "probe_id": probe_id,
                    "probe": texts.get(str(probe_id), ""),
                    "relevant": int(relevant.get(probe_id, 0)),
                    "retrievers": int(group["collection"].nunique()),
                    "best_rank": int(round(1 / best)) if best > 0 else None,
                }
            )
        columns = ["probe_id", "probe", "relevant", "retrievers", "best_rank"]
        return {"unanswered": pd.DataFrame(rows, columns=columns)}
