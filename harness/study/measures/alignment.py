"""Space alignment between every two collections, on the rows both hold."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.metrics.spaces import alignment_warning, same_text_cosine, space_alignment
from harness.study.base import Column, Frames, Measure, StudyInputs, Table, sample_positions
from harness.study.context import Context


class Alignment(Measure):
    name = "alignment"
    tables = (
        Table(
            "alignment",
            "Space alignment between collections",
            section="How different the results are",
            link="alignment table",
            columns={
                "mutual_knn": Column("Mutual kNN", "float3"),
                "cka": Column("Linear CKA", "float3"),
                "same_text_cosine": Column("Same-text cosine", "float3"),
            },
        ),
    )
    definition = "mutual kNN (cosine) and linear CKA on rows both collections hold"
    per_pair = True

    def run_pair(self, a: Context, b: Context, inputs: StudyInputs) -> Frames:
        settings = a.settings
        common = np.intersect1d(a.ids, b.ids)
        chosen = common[sample_positions(len(common), settings.alignment_sample, settings.seed)]
        if len(chosen) >= 3:
            va, vb = a.vectors(chosen), b.vectors(chosen)
            result = space_alignment(va, vb, k=min(settings.top_k, len(chosen) - 1))
            result["same_text_cosine"] = same_text_cosine(va, vb)
        else:
            result = {"mutual_knn": float("nan"), "cka": float("nan"), "same_text_cosine": float("nan")}
        warning = alignment_warning(result)
        row = {"collection_a": a.name, "collection_b": b.name, "rows": len(chosen), **result, "warning": warning or ""}
        return {"alignment": pd.DataFrame([row])}
