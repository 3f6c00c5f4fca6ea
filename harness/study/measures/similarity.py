"""The corpus-wide distribution of each model's similarity scores, and the quantile map
that carries a threshold tuned for one model onto another."""

from __future__ import annotations

import pandas as pd

from harness.metrics.similarity import QUANTILES, distribution, pairwise_cosines
from harness.study.base import Frames, Measure, StudyInputs, Table, side_by_side
from harness.study.context import Context


class Similarity(Measure):
    name = "similarity"
    tables = (
        Table(
            "score_distribution",
            "Cosine similarity of random corpus pairs, per model",
            section="Similarity scores",
        ),
        Table(
            "threshold_map",
            "Threshold map: each model's cosine at the same quantile of corpus pairs",
            combine=side_by_side(["quantile"]),
            section="Similarity scores",
        ),
    )
    definition = (
        "cosine of every two distinct lines among a seeded sample of --similarity-sample lines (the same lines for "
        "every model); a threshold t of model A maps to model B's cosine at the quantile t has among A's scores"
    )
    on_baselines = frozenset({"hashing"})

    store_note = "without collections it needs --corpus, whose lines it pairs"

    def without_store(self, inputs: StudyInputs) -> bool:
        return inputs.corpus_texts is not None  # corpus lines: the pairs' sentences are no corpus

    def run(self, ctx: Context, inputs: StudyInputs) -> Frames:
        chosen = ctx.ids[ctx.sample(ctx.settings.similarity_sample)]
        if len(chosen) < 2:
            return {}
        cosines = pairwise_cosines(ctx.vectors(chosen))
        row = {"collection": ctx.name, "model": ctx.alias, "lines": len(chosen), **distribution(cosines)}
        quantiles = pd.DataFrame({"quantile": list(QUANTILES)})
        quantiles[ctx.name] = [row[f"q{q:g}"] for q in QUANTILES]
        return {"score_distribution": pd.DataFrame([row]), "threshold_map": quantiles}
