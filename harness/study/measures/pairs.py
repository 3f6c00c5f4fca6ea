"""Quality on sentence pairs: contrast on labelled pairs, and correlation with graded scores.

Both score each pair by the cosine of the model's two vectors; the per-pair cosines of
every model go to one ``pair_scores`` table (a column per collection).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.metrics.pairs import contrast, correlations
from harness.metrics.spaces import cosine_rows
from harness.metrics.uncertainty import bootstrap, contrast_statistic, correlation_statistic
from harness.study.base import Column, Frames, Measure, Plot, StudyInputs, Table
from harness.study.context import Context

FIXED = ["source", "sentence1", "sentence2", "gold"]


def _pair_scores(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Parts of (source, sentence1, sentence2, gold, <collection>): one block per source,
    the collections side by side."""
    blocks = []
    for source in dict.fromkeys(p["source"].iloc[0] for p in parts if not p.empty):
        same = [p for p in parts if not p.empty and p["source"].iloc[0] == source]
        block = same[0][FIXED].copy()
        for part in same:
            for column in part.columns:
                if column not in FIXED:
                    block[column] = part[column].to_numpy()
        blocks.append(block)
    return pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame()


PAIR_SCORES = Table("pair_scores", "Per-pair cosine similarity", combine=_pair_scores)


def _cosines(ctx: Context, frame: pd.DataFrame):
    return cosine_rows(ctx.encode(list(frame["sentence1"])), ctx.encode(list(frame["sentence2"])))


def _scores_part(frame: pd.DataFrame, source: str, name: str, cosines) -> pd.DataFrame:
    part = frame[["sentence1", "sentence2", "gold"]].copy()
    part.insert(0, "source", source)
    part[name] = cosines
    return part


class Contrast(Measure):
    on_models = True
    name = "contrast"
    tables = (
        Table(
            "contrast",
            "Contrast on labelled pairs (95% CI)",
            "Contrast on labelled pairs (95% CI over pairs)",
            section="Quality",
            link="contrast table",
            columns={
                "contrast": Column("Contrast", "float3", "high"),
                "mean_similar": Column("Mean cosine, similar pairs", "float3"),
                "mean_dissimilar": Column("Mean cosine, dissimilar pairs", "float3"),
            },
        ),
        PAIR_SCORES,
    )
    plots = (
        Plot("contrast_vs_time", "Contrast vs total time", "Quality"),
        Plot("similarity", "Similarity distributions (similar vs dissimilar pairs)", "Quality"),
    )
    definition = (
        "mean cosine of similar pairs minus mean cosine of dissimilar pairs; its interval resamples pairs within each "
        "label"
    )
    on_baselines = frozenset({"hashing"})

    def wanted(self, inputs: StudyInputs) -> bool:
        return inputs.pairs is not None

    def run(self, ctx: Context, inputs: StudyInputs) -> Frames:
        assert inputs.pairs is not None
        cosines = _cosines(ctx, inputs.pairs)
        labels = inputs.pairs["gold"].astype(int).to_numpy()
        figures = contrast(cosines, labels)
        interval = bootstrap(cosines, contrast_statistic(labels), strata=labels, seed=ctx.settings.seed)
        row = {
            "collection": ctx.name,
            "model": ctx.alias,
            **figures,
            "contrast_ci_low": interval.low,
            "contrast_ci_high": interval.high,
        }
        return {"contrast": pd.DataFrame([row]), "pair_scores": _scores_part(inputs.pairs, "pairs", ctx.name, cosines)}


class Graded(Measure):
    on_models = True
    name = "graded"
    tables = (
        Table(
            "graded",
            "Graded pairs: correlation with gold scores (x100, 95% CI)",
            "Graded pairs (x100, 95% CI over pairs)",
            section="Quality",
            link="graded pairs table",
            columns={
                "spearman": Column("Spearman ×100", "float1", "high"),
                "pearson": Column("Pearson ×100", "float1", "high"),
            },
        ),
        PAIR_SCORES,
    )
    definition = "Spearman and Pearson correlation (x100) between cosine similarity and gold score"
    on_baselines = frozenset({"hashing"})

    def wanted(self, inputs: StudyInputs) -> bool:
        return inputs.graded is not None

    def run(self, ctx: Context, inputs: StudyInputs) -> Frames:
        assert inputs.graded is not None
        cosines = _cosines(ctx, inputs.graded)
        gold = inputs.graded["gold"].to_numpy(dtype=np.float64)
        figures = correlations(cosines, gold)
        row = {"collection": ctx.name, "model": ctx.alias, "n": figures["n"]}
        for method in ("spearman", "pearson"):
            interval = bootstrap(cosines, correlation_statistic(gold, method), seed=ctx.settings.seed)
            row.update({method: figures[method], f"{method}_ci_low": interval.low, f"{method}_ci_high": interval.high})
        return {"graded": pd.DataFrame([row]), "pair_scores": _scores_part(inputs.graded, "graded", ctx.name, cosines)}
