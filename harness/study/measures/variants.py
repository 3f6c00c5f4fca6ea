"""Each variant against its base model (``all-MiniLM-L6-v2@onnx-qint8`` against
``all-MiniLM-L6-v2``), when both collections hold the same corpus: how far the vectors
moved, how far the search results moved, what retrieval gained or lost, and what a row
costs in Milvus. The variant's own cost and quality are in the other tables, as for any
model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.metrics.agreement import overlap_at_k, rank_biased_overlap
from harness.metrics.retrieval import ndcg_at_k, recall_at_k, reciprocal_rank
from harness.metrics.spaces import cosine_rows
from harness.models import parse_variant
from harness.study.base import Context, Frames, Measure, Plot, StudyInputs, Table, sample_positions
from harness.study.context import CollectionContext

FLOAT_BYTES = 4  # a FLOAT_VECTOR stores float32


def base_of(a: CollectionContext, b: CollectionContext) -> tuple[CollectionContext, CollectionContext] | None:
    """(base, variant) when one collection holds a variant of the other's model, built from the same corpus."""
    for base, variant in ((a, b), (b, a)):
        model, built_by = variant.meta.model, base.meta.model
        if (
            model.variant
            and not built_by.variant
            and model.base_fingerprint == built_by.fingerprint
            and variant.meta.corpus.sha256 == base.meta.corpus.sha256
        ):
            return base, variant
    return None


def same_text_cosines(base: CollectionContext, variant: CollectionContext) -> np.ndarray:
    """Cosine of the two stored vectors of the same rows. A truncated variant is compared with
    the base's first dimensions (what truncation keeps); a static distillation is another
    space, so there is nothing to compare (empty)."""
    if parse_variant(variant.meta.model.variant).backend == "static":
        return np.zeros(0)
    settings = base.settings
    common = np.intersect1d(base.ids, variant.ids)
    chosen = common[sample_positions(len(common), settings.alignment_sample, settings.seed)]
    if not len(chosen):
        return np.zeros(0)
    va, vb = base.vectors(chosen), variant.vectors(chosen)
    width = min(va.shape[1], vb.shape[1])
    return cosine_rows(va[:, :width], vb[:, :width])


def _probe_hits(ctx: CollectionContext, texts: list[str], k: int) -> list[list[int]]:
    """The probes' index-search ids, from the run book (each index searched with its own
    parameter: nprobe for IVF, ef for HNSW)."""
    hits = [[h.id for h in found] for found in ctx.search_texts(texts, k)]
    ctx.close()  # the model is not needed again; the paired measures that follow read stored vectors
    return hits


def _retrieval(results: list[list[int]], judged: list[dict], k: int) -> np.ndarray:
    return np.array(
        [[recall_at_k(r, j, k), ndcg_at_k(r, j, 10), reciprocal_rank(r, j)] for r, j in zip(results, judged)]
    )


def probe_agreement(base: CollectionContext, variant: CollectionContext, inputs: StudyInputs) -> dict:
    """Overlap@k and RBO of the two collections' results on the probes, and the change in
    recall@k, nDCG@10 and MRR on the judged ones."""
    if not inputs.probes:
        return {}
    k = base.settings.top_k
    depth = max(k, 10)
    texts = [p.text for p in inputs.probes]
    hits_base, hits_variant = _probe_hits(base, texts, depth), _probe_hits(variant, texts, depth)
    figures = {
        "probes": len(texts),
        "k": k,
        "overlap_at_k": float(np.mean([overlap_at_k(a[:k], b[:k], k) for a, b in zip(hits_base, hits_variant)])),
        "rbo": float(np.mean([rank_biased_overlap(a[:k], b[:k]) for a, b in zip(hits_base, hits_variant)])),
    }
    if inputs.qrels is not None:
        judged = {
            pid: dict(zip(g["corpus_id"].astype(int), g["relevance"])) for pid, g in inputs.qrels.groupby("probe_id")
        }
        rows = [i for i, p in enumerate(inputs.probes) if p.id in judged]
        relevant = [judged[inputs.probes[i].id] for i in rows]
        before = _retrieval([hits_base[i] for i in rows], relevant, k)
        after = _retrieval([hits_variant[i] for i in rows], relevant, k)
        delta = np.nanmean(after, axis=0) - np.nanmean(before, axis=0) if rows else [float("nan")] * 3
        figures.update({"recall_at_k_delta": delta[0], "ndcg_at_10_delta": delta[1], "mrr_delta": delta[2]})
    return figures


class Variants(Measure):
    name = "variants"
    tables = (Table("variants", "Variants against their base model"),)
    plots = (Plot("variants", "Variants: agreement with the base vs encode speed"),)
    definition = (
        "for a variant and its base on the same corpus: mean and minimum cosine of the two stored vectors of the "
        "same rows (a truncated variant against the base's first dimensions; none for a static distillation, "
        "another space), overlap@k and RBO of their results on the probes, the variant's recall@k, nDCG@10 and "
        "MRR minus the base's on the judged probes, and the bytes a vector takes per row (float32)"
    )
    per_pair = True

    def run_pair(self, a: Context, b: Context, inputs: StudyInputs) -> Frames:
        if not (isinstance(a, CollectionContext) and isinstance(b, CollectionContext)):
            return {}  # a baseline has no model to be a variant of
        found = base_of(a, b)
        if found is None:
            return {}
        base, variant = found
        cosines = same_text_cosines(base, variant)
        dimension, base_dimension = variant.info.dimension or 0, base.info.dimension or 0
        row = {
            "collection": variant.name,
            "base": base.name,
            "variant": variant.meta.model.variant,
            "dimension": dimension,
            "base_dimension": base_dimension,
            "bytes_per_row": dimension * FLOAT_BYTES,
            "base_bytes_per_row": base_dimension * FLOAT_BYTES,
            "rows_compared": len(cosines),
            "same_text_cosine": float(cosines.mean()) if len(cosines) else float("nan"),
            "same_text_cosine_min": float(cosines.min()) if len(cosines) else float("nan"),
            **probe_agreement(base, variant, inputs),
        }
        return {"variants": pd.DataFrame([row])}
