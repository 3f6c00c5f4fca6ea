"""Quality on sentence pairs: contrast on labelled pairs, and correlation with graded scores.

Both score each pair by the cosine of the model's two vectors; the per-pair cosines of
every model go to one ``pair_scores`` table (a column per collection).
"""

from __future__ import annotations

import pandas as pd

from harness.metrics.pairs import contrast, correlations
from harness.metrics.spaces import cosine_rows
from harness.study.base import Frames, Measure, StudyInputs, Table
from harness.study.context import CollectionContext

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


def _cosines(ctx: CollectionContext, frame: pd.DataFrame):
    return cosine_rows(ctx.encode(list(frame["sentence1"])), ctx.encode(list(frame["sentence2"])))


def _scores_part(frame: pd.DataFrame, source: str, name: str, cosines) -> pd.DataFrame:
    part = frame[["sentence1", "sentence2", "gold"]].copy()
    part.insert(0, "source", source)
    part[name] = cosines
    return part


class Contrast(Measure):
    name = "contrast"
    tables = (Table("contrast", "Contrast on labelled pairs", "Contrast on labelled pairs"), PAIR_SCORES)
    definition = "mean cosine of similar pairs minus mean cosine of dissimilar pairs"

    def wanted(self, inputs: StudyInputs) -> bool:
        return inputs.pairs is not None

    def run(self, ctx: CollectionContext, inputs: StudyInputs) -> Frames:
        assert inputs.pairs is not None
        cosines = _cosines(ctx, inputs.pairs)
        row = {
            "collection": ctx.name,
            "model": ctx.embedder.alias,
            **contrast(cosines, inputs.pairs["gold"].astype(int)),
        }
        return {"contrast": pd.DataFrame([row]), "pair_scores": _scores_part(inputs.pairs, "pairs", ctx.name, cosines)}


class Graded(Measure):
    name = "graded"
    tables = (Table("graded", "Graded pairs: correlation with gold scores (x100)", "Graded pairs (x100)"), PAIR_SCORES)
    definition = "Spearman and Pearson correlation (x100) between cosine similarity and gold score"

    def wanted(self, inputs: StudyInputs) -> bool:
        return inputs.graded is not None

    def run(self, ctx: CollectionContext, inputs: StudyInputs) -> Frames:
        assert inputs.graded is not None
        cosines = _cosines(ctx, inputs.graded)
        row = {"collection": ctx.name, "model": ctx.embedder.alias, **correlations(cosines, inputs.graded["gold"])}
        return {"graded": pd.DataFrame([row]), "pair_scores": _scores_part(inputs.graded, "graded", ctx.name, cosines)}
