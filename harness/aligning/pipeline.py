"""Migration without re-embedding: fit maps from a new model's space into an old collection's,
and measure what they recover.

Given the old collection (model A) and the new model B (a spec, or B's own collection), the
rows both hold are paired by id and split once, seeded: a held-out test split that no fit
ever sees, and a training pool whose first N rows train the maps of a learning curve. B's
vectors come from B's collection, else from B's model through the embedding cache.

Each map is judged against the two ends of the scale, the unmapped cross-model query and
the native results: on held-out rows (same-text cosine, self-retrieval@1 in A's collection),
on the probes (overlap, Jaccard and RBO of the mapped results against A's own and B's own),
with relevance judgements (recall@k, nDCG@10, MRR and the share of B-native quality
recovered), by its fit time and the latency it adds per query, and by the score scale it
leaves (quantiles, and the threshold that keeps the same share of hits).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from harness.aligning.data import AlignSettings, EmbedderLoader, Side, collection_side
from harness.aligning.result import AlignResult
from harness.aligning.run import AlignRun
from harness.cache import open_cache, with_cache
from harness.errors import HarnessError
from harness.inputs import load_probes, read_qrels
from harness.models import load_model, resolve_model
from harness.records import Probe, ProgressFn, SearchParams
from harness.store import VectorStore, connect
from harness.store.external import attach_sidecars


def align(
    old: str,
    new_model: str | None = None,
    uri: str | None = None,
    token: str | None = None,
    *,
    new_collection: str | None = None,
    probes: str | Path | Sequence[Probe] | None = None,
    qrels: str | Path | None = None,
    kinds: Sequence[str] | None = None,
    train_sizes: Sequence[int] | None = None,
    test_size: int | None = None,
    top_k: int = 10,
    nprobe: int | None = None,
    ef: int | None = None,
    seed: int = 0,
    score_threshold: float | None = None,
    external: Sequence[str | Path] = (),
    device: str = "auto",
    batch_size: int = 64,
    cache: bool | str | Path = True,
    progress: ProgressFn | None = None,
) -> AlignResult:
    """Fit maps from the new model's space into collection ``old`` and measure what they recover.

    The new model is ``new_model`` (a spec) or ``new_collection`` (its collection, whose stored
    vectors are then used). ``external``: sidecar files of collections the harness did not build.
    """
    SearchParams(top_k, nprobe, ef=ef)  # the same checks as query
    settings = AlignSettings(
        tuple(kinds) if kinds else None,
        tuple(train_sizes) if train_sizes else None,
        test_size,
        top_k,
        nprobe,
        seed,
        batch_size,
        score_threshold=score_threshold,
        ef=ef,
    )
    probe_list = probes if probes is None or isinstance(probes, Sequence) and not isinstance(probes, str) else None
    if probes is not None and probe_list is None:
        probe_list = load_probes(probes)  # type: ignore[arg-type]
    if qrels and not probe_list:
        raise HarnessError("--qrels needs the probe file its probe ids refer to: pass --probes FILE")
    judged = read_qrels(qrels, [p.id for p in probe_list or []]) if qrels else None
    embedding_cache = open_cache(cache)
    store = connect(uri, token)
    try:
        attach_sidecars(store, external)
        return run_align(
            store,
            old,
            lambda ref: with_cache(load_model(ref, device=device), embedding_cache),
            new_model=new_model,
            new_collection=new_collection,
            probes=list(probe_list) if probe_list else None,
            qrels=judged,
            qrels_path=str(qrels) if qrels else "",
            settings=settings,
            progress=progress,
        )
    finally:
        store.close()
        if embedding_cache is not None:
            embedding_cache.close()


def run_align(
    store: VectorStore,
    old: str,
    load: EmbedderLoader,
    *,
    new_model: str | None = None,
    new_collection: str | None = None,
    probes: Sequence[Probe] | None = None,
    qrels: pd.DataFrame | None = None,
    qrels_path: str = "",
    settings: AlignSettings | None = None,
    progress: ProgressFn | None = None,
) -> AlignResult:
    """:func:`align` on an open store, with models loaded by ``load``."""
    if (new_model is None) == (new_collection is None):
        raise HarnessError("give the new model either as a spec (--new-model) or as its collection (--new-collection)")
    if new_collection == old:
        raise HarnessError(f"the old and the new collection are the same ({old})")
    old_side = collection_side(store, old, load)
    new_side = (
        collection_side(store, new_collection, load)
        if new_collection
        else Side(load, resolve_model(new_model or ""), None, None)
    )
    try:
        run = AlignRun(store, old_side, new_side, probes, qrels, qrels_path, settings or AlignSettings(), progress)
        return run.run()
    finally:
        old_side.close()
        new_side.close()
