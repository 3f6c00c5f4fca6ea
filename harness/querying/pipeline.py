"""``harness query``: probe every collection (and the baselines), time the searches, and
measure how far the results agree, with the configured index search and with exact search
over the same vectors, so that what the index loses is kept apart from what the models
differ in. Searches go through the run book (:mod:`harness.retrieval`): each collection is
scanned once for exact search.

The figures themselves are computed in :mod:`harness.metrics`; the cross-model checks and
maps are in :mod:`harness.querying.crossmodel`, the hit and overlap rows in
:mod:`harness.querying.found`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from harness.baselines import DEFINITIONS, build_baselines, parse_baselines, read_rows
from harness.cache import CachedEmbedder, open_cache, with_cache
from harness.errors import HarnessError
from harness.manifest import RunManifest
from harness.maps import MapFile, load_map
from harness.models import Embedder, ModelRef, load_model, ref_for_record, resolve_model, similarity_note, with_prompts
from harness.querying.crossmodel import cross_model_alignment, cross_model_note, probe_vectors
from harness.querying.found import EXACT_COLUMNS, HIT_COLUMNS, OVERLAP_COLUMNS, Found
from harness.querying.result import QueryResult
from harness.records import CollectionMeta, Probe, Progress, ProgressFn, SearchParams, is_baseline
from harness.retrieval import EXACT, INDEX, BaselineRetriever, CollectionRetriever, Queries, RunBook
from harness.retrieval.timing import LATENCY_COLUMNS, SERVER_LATENCY_COLUMNS, timed_searches
from harness.store import VectorStore, connect, distinct_names, incomplete_note, redact_uri, require_searchable
from harness.store.external import attach_sidecars, collections_to_use

LITE_LATENCY_NOTE = (
    "Milvus Lite latency does not represent a Milvus server: Lite searches in Python in-process; "
    "measure on a server (--uri http://...) for production figures"
)

EmbedderLoader = Callable[[ModelRef], Embedder]


@dataclass
class _Encoded:
    embedder: Embedder
    vectors: np.ndarray
    embed_ms: float  # per probe
    from_cache: int  # probes whose vectors came from the embedding cache


class _ProbeVectors:
    """Loads each model once and embeds all probes in one batch per model."""

    def __init__(self, probes: Sequence[Probe], load: EmbedderLoader, batch_size: int):
        self.texts = [p.text for p in probes]
        self.load = load
        self.batch_size = batch_size
        self.encoded: dict[str, _Encoded] = {}

    def get(self, ref: ModelRef) -> _Encoded:
        if ref.key not in self.encoded:
            embedder = self.load(ref)
            hits_before = embedder.stats.hits if isinstance(embedder, CachedEmbedder) else 0
            started = time.perf_counter()
            vectors = embedder.encode(self.texts, self.batch_size, role="query")
            embed_ms = (time.perf_counter() - started) * 1000 / len(self.texts)
            from_cache = (embedder.stats.hits - hits_before) if isinstance(embedder, CachedEmbedder) else 0
            self.encoded[ref.key] = _Encoded(embedder, vectors, embed_ms, from_cache)
        return self.encoded[ref.key]

    def problems(self) -> list[str]:
        """What went wrong with the embedding cache, once each."""
        found = [e.embedder.problem for e in self.encoded.values() if isinstance(e.embedder, CachedEmbedder)]
        return list(dict.fromkeys(problem for problem in found if problem))

    def close(self) -> None:
        for encoded in self.encoded.values():
            encoded.embedder.close()


def query(
    probes: Sequence[Probe],
    collections: Sequence[str] | None = None,
    uri: str | None = None,
    token: str | None = None,
    *,
    probe_model: str | None = None,
    top_k: int = 10,
    nprobe: int | None = None,
    ef: int | None = None,
    repeats: int = 3,
    device: str = "auto",
    batch_size: int = 64,
    rbo_p: float = 0.9,
    cache: bool | str | Path = True,
    metrics_url: str | None = None,
    baselines: str | Sequence[str] | None = None,
    exact: bool = True,
    map_file: str | Path | None = None,
    external: Sequence[str | Path] = (),
    query_prompt: str | None = None,
    document_prompt: str | None = None,
    progress: ProgressFn | None = None,
) -> QueryResult:
    """Search every collection with every probe; hits, pairwise agreement and latency.

    The baselines (``bm25,hashing`` unless ``baselines`` says otherwise, ``none`` for none)
    are searched too. With ``exact`` (the default) agreement is also computed from exact
    search over each collection's stored vectors. With ``metrics_url`` (a Milvus server's
    Prometheus endpoint), the server-side search latency of the timed searches is reported
    next to the client-side figure. With ``map_file`` (written by ``harness align``), the
    probe model's vectors are mapped into the space of each collection the map was fitted
    for before searching it. ``external``: sidecar files of collections the harness did not
    build. Probes are encoded as queries, with the query prompt recorded for each collection at
    ingest (the model's own, or the one chosen then), or ``query_prompt``.
    """
    params = SearchParams(top_k, nprobe, ef=ef)
    kinds = parse_baselines(baselines)
    if repeats < 0:
        raise HarnessError("--repeats cannot be negative")
    if not probes:
        raise HarnessError("no probes given")
    space_map = load_map(map_file) if map_file else None
    if space_map and not probe_model:
        raise HarnessError("--map needs --probe-model: the map takes the probe model's vectors")
    embedding_cache = open_cache(cache)
    store = connect(uri, token)
    try:
        attached = attach_sidecars(store, external)
        return run_query(
            store,
            probes,
            collections_to_use(store, collections, attached) if attached else collections,
            lambda ref: with_cache(
                load_model(with_prompts(ref, query_prompt, document_prompt), device=device, progress=progress),
                embedding_cache,
            ),
            probe_model=probe_model,
            params=params,
            repeats=repeats,
            batch_size=batch_size,
            rbo_p=rbo_p,
            metrics_url=metrics_url,
            device=device,
            baselines=kinds,
            exact=exact,
            space_map=space_map,
            progress=progress,
        )
    finally:
        store.close()
        if embedding_cache is not None:
            embedding_cache.close()


def run_query(
    store: VectorStore,
    probes: Sequence[Probe],
    collections: Sequence[str] | None,
    load: EmbedderLoader,
    *,
    probe_model: str | None = None,
    params: SearchParams | None = None,
    repeats: int = 3,
    batch_size: int = 64,
    rbo_p: float = 0.9,
    metrics_url: str | None = None,
    device: str = "auto",
    baselines: Sequence[str] = (),
    exact: bool = True,
    space_map: MapFile | None = None,
    progress: ProgressFn | None = None,
) -> QueryResult:
    """:func:`query` on an open store, with models loaded by ``load``.

    Long because it is the one loop over collections: each is probed, checked against the
    probe model, searched with the index and exactly, and timed."""
    params = params or SearchParams()
    names, warnings = distinct_names(collections or store.harness_collections())
    if not names:
        raise HarnessError(f"no harness collections in {redact_uri(store.uri)}: run harness ingest first")
    metas = {name: store.require_collection(name) for name in names}
    if metrics_url and not store.capabilities.prometheus:
        warnings.append("--metrics-url ignored: Milvus Lite exposes no Prometheus metrics")
        metrics_url = None
    probe_ref = resolve_model(probe_model) if probe_model else None
    encoded = _ProbeVectors(probes, load, batch_size)
    found = Found(probes)
    latency_rows: list[dict] = []
    alignment_rows: list[dict] = []
    models_used: dict[str, dict] = {}
    steps = _Steps(len(names) * (1 + len(probes) * repeats), progress)
    book, queries = RunBook(), Queries.of_texts([p.text for p in probes])
    try:
        for name in names:
            meta = metas[name]
            ref = probe_ref or ref_for_record(meta.model)
            probe = encoded.get(ref)
            embedder, built = probe.embedder, meta.model
            cross_model = probe_ref is not None and built.fingerprint != embedder.fingerprint
            warnings.extend(_collection_warnings(store, name, meta, ref, embedder, probe_ref is not None))
            if space_map is not None:
                space_map.check_source(embedder.alias, embedder.fingerprint, embedder.dimension)
                if not cross_model:
                    warnings.append(f"{space_map.label} not applied to {name}: the probe model built it")
            mapped = space_map if cross_model else None
            vectors = probe_vectors(store, name, meta, embedder, probe.vectors, mapped)
            models_used[name] = {"collection_model": built.to_dict(), "probe_model": embedder.describe().to_dict()}
            require_searchable(store, name)
            if cross_model:
                alignment = cross_model_alignment(store, name, embedder, batch_size, transform=mapped)
                alignment_rows.append(
                    {
                        "collection": name,
                        "probe_model": embedder.alias,
                        "map": mapped.path if mapped else "",
                        **alignment,
                    }
                )
                warning = cross_model_note(alignment, mapped)
                if warning:
                    warnings.append(f"{name}: {warning}")
            searched = _search(book, queries, store, name, meta, params, vectors, exact, repeats, metrics_url, steps)
            found.add(name, searched.setting, searched.hits, searched.exact)
            latency = searched.latency
            latency_rows.append(
                {
                    **latency,
                    "embed_ms_per_probe": probe.embed_ms,
                    "probes_from_cache": probe.from_cache,
                    "embed_model": embedder.alias,
                }
            )
    finally:
        encoded.close()
    warnings.extend(encoded.problems())
    for baseline in build_baselines(read_rows(store, names[0]), baselines) if baselines else []:
        results = book.run(BaselineRetriever(baseline), queries, params.top_k).hits
        found.add(baseline.name, "exact", results, [[h.id for h in hits] for hits in results])
    if store.capabilities.embedded:
        warnings.append(LITE_LATENCY_NOTE)
    manifest = RunManifest(
        uri=redact_uri(store.uri),
        backend=store.capabilities.backend,
        collections={name: metas[name].summary() for name in names},
        details={
            "models": models_used,
            "probe_model": probe_model,
            "map": space_map.record() if space_map else None,
            "external": [name for name in names if store.describe(name).external],
            "alignment": alignment_rows,
            "baselines": {b: DEFINITIONS[b.split(":", 1)[1]] for b in found.settings if is_baseline(b)},
            "search": {
                "top_k": params.top_k,
                "nprobe": params.nprobe,
                "ef": params.ef,
                "per_collection": found.settings,
                "exact": exact,
                "repeats": repeats,
                "metric": params.metric,
                "rbo_p": rbo_p,
            },
            "metrics_url": redact_uri(metrics_url) if metrics_url else None,
            "probes": [{"id": p.id, "text": p.text} for p in probes],
            "device": device,
        },
        notes=warnings,
    )
    columns = OVERLAP_COLUMNS + (EXACT_COLUMNS if exact else [])
    return QueryResult(
        hits=pd.DataFrame(found.hit_rows, columns=HIT_COLUMNS),
        overlap=pd.DataFrame(found.overlap_rows(params.top_k, rbo_p, exact), columns=columns),
        latency=pd.DataFrame(latency_rows, columns=LATENCY_COLUMNS + (SERVER_LATENCY_COLUMNS if metrics_url else [])),
        manifest=manifest.to_dict(),
        warnings=warnings,
        alignment=pd.DataFrame(alignment_rows),
    )


def _collection_warnings(
    store: VectorStore, name: str, meta: CollectionMeta, ref: ModelRef, embedder: Embedder, probing: bool
) -> list[str]:
    warnings = []
    incomplete = incomplete_note(store, name, meta)
    if incomplete:
        warnings.append(incomplete)
    similarity = similarity_note(name, meta.model.similarity_fn_name, meta.model.normalized)
    if similarity:
        warnings.append(similarity)
    built = meta.model
    if not probing and built.fingerprint and built.fingerprint != embedder.fingerprint:
        warnings.append(
            f"model {ref.spec} now has weights {embedder.fingerprint}, "
            f"but collection {name} was built with {built.fingerprint}"
        )
    return warnings


@dataclass
class _Searched:
    setting: str
    hits: list
    exact: list[list[int]] | None
    latency: dict


def _search(
    book: RunBook,
    queries: Queries,
    store: VectorStore,
    name: str,
    meta: CollectionMeta,
    params: SearchParams,
    vectors: np.ndarray,
    exact: bool,
    repeats: int,
    metrics_url: str | None,
    steps: "_Steps",
) -> _Searched:
    """One collection's index run, exact run (through the run book) and timed searches."""
    k = params.top_k
    retriever = CollectionRetriever(store, name, meta, params, lambda texts: vectors)
    hits = book.run(retriever, queries, k, INDEX).hits
    steps.advance(name)
    # Exact search here is L2: a collection some other tool built with another metric has none.
    exact_l2 = exact and (meta.index.metric or "L2") == "L2"
    exact_ids = book.run(retriever, queries, k, EXACT).ids() if exact_l2 else None

    def search(one: np.ndarray) -> object:
        return retriever.search_vectors(one, k)

    def tick() -> None:
        steps.advance(name)

    latency = timed_searches(search, vectors, repeats, metrics_url, tick)
    return _Searched(retriever.setting, hits, exact_ids, {"collection": name, **latency})


class _Steps:
    def __init__(self, total: int, progress: ProgressFn | None):
        self.total, self.done, self.progress = total, 0, progress

    def advance(self, stage: str) -> None:
        self.done += 1
        if self.progress:
            self.progress(Progress(stage, self.done, self.total))
