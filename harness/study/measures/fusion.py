"""The fusion sweep of each hybrid retriever: Milvus's reciprocal rank fusion at several k and
the weighted fusion at several weights of the dense side, each scored against the relevance
judgements with its interval, so a user sees whether fusion helps on their data and at what
setting. Its findings also say how far Milvus's own BM25 is from the bm25s baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from harness.metrics.retrieval import ndcg_at_k, recall_at_k
from harness.metrics.uncertainty import bootstrap
from harness.records import Fusion, baseline_name, full_text_parts
from harness.retrieval import HybridRetriever, Queries
from harness.study.base import Column, Frames, Measure, Plot, StudyInputs, Table
from harness.study.context import Context

RRF_KS = (10, 60, 100)
DENSE_WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
METRICS = ("ndcg_at_10", "recall_at_k")


def sweep() -> list[Fusion]:
    """The settings swept: RRF at each k, then the weighted fusion at each dense weight."""
    return [Fusion(k) for k in RRF_KS] + [Fusion(weights=(w, round(1 - w, 6))) for w in DENSE_WEIGHTS]


def _draw(tables: dict[str, pd.DataFrame], names: Any, path: Path) -> Path | None:
    frame = tables.get("fusion", pd.DataFrame())
    if frame.empty:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (rrf_ax, weighted_ax) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for collection, rows in frame.groupby("collection", sort=False):
        parts = full_text_parts(collection)
        colour = names.colour(parts[0]) if parts else None
        for ax, ranker, x in ((rrf_ax, "rrf", "rrf_k"), (weighted_ax, "weighted", "dense_weight")):
            part = rows[rows["ranker"] == ranker].sort_values(x)
            if part.empty:
                continue
            low = part["ndcg_at_10"] - part["ndcg_at_10_ci_low"]
            high = part["ndcg_at_10_ci_high"] - part["ndcg_at_10"]
            ax.errorbar(part[x], part["ndcg_at_10"], yerr=[low, high], marker="o", capsize=3, color=colour,
                        label=names(collection))  # fmt: skip
    rrf_ax.set(xlabel="RRF k", ylabel="nDCG@10 (95% CI)", title="Reciprocal rank fusion")
    weighted_ax.set(xlabel="weight of the dense side (BM25: 1 - weight)", title="Weighted fusion")
    rrf_ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


class FusionSweep(Measure):
    name = "fusion"
    tables = (
        Table(
            "fusion",
            "Fusion sweep of the hybrid search: each setting's retrieval against the judgements (95% CI over probes)",
            "Fusion sweep (nDCG@10 and recall@k, 95% CI)",
            section="Quality",
            link="fusion sweep",
            columns={
                "setting": Column("Fusion", "text"),
                "ndcg_at_10": Column("nDCG@10", "float3", "high"),
                "recall_at_k": Column("Recall@k", "float3", "high"),
            },
        ),
    )
    plots = (Plot("fusion", "Fusion sweep of the hybrid search: nDCG@10 by setting", "Quality", _draw),)
    definition = (
        f"each hybrid retriever's Milvus hybrid_search fused by RRFRanker(k) for k in {list(RRF_KS)} and by "
        f"WeightedRanker(w, 1 - w) for dense weights w in {list(DENSE_WEIGHTS)}; nDCG@10 (linear gain) and "
        "recall@k over the judged probes, 95% bootstrap intervals over probes"
    )
    on_baselines = frozenset({"hybrid"})

    def wanted(self, inputs: StudyInputs) -> bool:
        return inputs.qrels is not None

    def applies(self, ctx: Context) -> bool:
        return ctx.kind == "hybrid" and isinstance(ctx.retriever, HybridRetriever)

    def run(self, ctx: Context, inputs: StudyInputs) -> Frames:
        assert inputs.qrels is not None and isinstance(ctx.retriever, HybridRetriever)
        settings = ctx.settings
        judged = {
            pid: dict(zip(g["corpus_id"].astype(int), g["relevance"])) for pid, g in inputs.qrels.groupby("probe_id")
        }
        probes = [p for p in inputs.probes or [] if p.id in judged]
        queries = Queries.of_texts([p.text for p in probes])
        depth = max(settings.top_k, 10)
        rows = []
        for fusion in sweep():
            found = ctx.retriever.with_fusion(fusion).index_search(queries, depth)
            values = {
                "ndcg_at_10": [ndcg_at_k([h.id for h in hits], judged[p.id], 10) for p, hits in zip(probes, found)],
                "recall_at_k": [
                    recall_at_k([h.id for h in hits], judged[p.id], settings.top_k) for p, hits in zip(probes, found)
                ],
            }
            row: dict = {
                "collection": ctx.name,
                "setting": fusion.describe(),
                "ranker": "rrf" if fusion.weights is None else "weighted",
                "rrf_k": fusion.k if fusion.weights is None else None,
                "dense_weight": fusion.weights[0] if fusion.weights else None,
                "configured": fusion == settings.fusion,
                "probes": len(probes),
            }
            for metric in METRICS:
                row.update(bootstrap(np.asarray(values[metric]), seed=settings.seed).columns(metric))
            rows.append(row)
        return {"fusion": pd.DataFrame(rows)}

    def findings(self, tables: dict[str, pd.DataFrame], names: Callable[[str], str]) -> list[str]:
        return [*_fusion_lines(tables, names), *_bm25_lines(tables, names)]


def _fusion_lines(tables: dict[str, pd.DataFrame], names: Callable[[str], str]) -> list[str]:
    frame = tables.get("fusion", pd.DataFrame())
    retrieval = tables.get("retrieval", pd.DataFrame())
    lines = []
    for collection, rows in [] if frame.empty else frame.groupby("collection", sort=False):
        best = rows.sort_values("ndcg_at_10", ascending=False, kind="stable").iloc[0]
        dense = full_text_parts(collection)
        line = (
            f"Fusion sweep: {names(collection)} is best at {best['setting']} "
            f"(nDCG@10 {best['ndcg_at_10']:.3f} [{best['ndcg_at_10_ci_low']:.3f}, {best['ndcg_at_10_ci_high']:.3f}])"
        )
        if dense is not None and not retrieval.empty and "metric" in retrieval.columns:
            own = retrieval[(retrieval["collection"] == dense[0]) & (retrieval["metric"] == "ndcg_at_10")]
            if not own.empty:
                line += f"; the dense search alone has {float(own['exact'].iloc[0]):.3f} exactly"
        lines.append(line + ".")
    return lines


def _bm25_lines(tables: dict[str, pd.DataFrame], names: Callable[[str], str]) -> list[str]:
    """How far each collection's Milvus BM25 is from the bm25s baseline: the paired nDCG@10
    difference with its interval."""
    paired = tables.get("paired", pd.DataFrame())
    if paired.empty or "collection_a" not in paired.columns:
        return []
    reference = baseline_name("bm25")
    lines = []
    for _, row in paired[paired["metric"] == "ndcg_at_10"].iterrows():
        pair = (str(row["collection_a"]), str(row["collection_b"]))
        if reference not in pair:
            continue
        other, sign = (pair[0], 1.0) if pair[1] == reference else (pair[1], -1.0)
        parts = full_text_parts(other)
        if parts is None or parts[1] != "milvus-bm25":
            continue
        low, high = sorted((sign * float(row["ci_low"]), sign * float(row["ci_high"])))
        result = row["result"] if sign > 0 else _opposite(row["result"])
        lines.append(
            f"Milvus BM25 against the bm25s baseline: {names(other)} nDCG@10 minus BM25 (baseline) "
            f"{sign * float(row['difference']):+.3f} [{low:+.3f}, {high:+.3f}] ({result})."
        )
    return lines


def _opposite(result: str) -> str:
    return {"win": "loss", "loss": "win"}.get(str(result), str(result))
