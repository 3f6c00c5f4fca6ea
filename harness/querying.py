"""Probe every collection (and the baselines), time the searches, and measure how far the
results agree, with the configured index search and with exact search over the same
vectors, so that what the index loses is kept apart from what the models differ in.

Long because one pipeline's per-collection loop, its record of what was found and its
result type stay together; the figures themselves are computed in :mod:`harness.metrics`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from harness.baselines import DEFINITIONS, build_baselines, parse_baselines, read_rows
from harness.cache import CachedEmbedder, open_cache, with_cache
from harness.errors import HarnessError, ModelError
from harness.manifest import RunManifest
from harness.metrics.agreement import AGREEMENT, agreement, index_attribution, summarise_agreement
from harness.metrics.latency import latency_summary
from harness.metrics.prometheus import read_search_histogram
from harness.metrics.retrieval import exact_knn_ids
from harness.metrics.spaces import cross_model_warning, same_text_cosine, space_alignment
from harness.metrics.uncertainty import SEED
from harness.models import Embedder, ModelRef, load_model, ref_for_record, resolve_model
from harness.records import CollectionMeta, Hit, Probe, Progress, ProgressFn, SearchParams, is_baseline
from harness.store import VectorStore, connect, redact_uri, stream_vectors

LITE_LATENCY_NOTE = (
    "Milvus Lite latency does not represent a Milvus server: Lite searches in Python in-process; "
    "measure on a server (--uri http://...) for production figures"
)
ALIGNMENT_SAMPLE = 500

HIT_COLUMNS = ["probe_id", "probe", "collection", "rank", "id", "text", "group", "distance"]
# Each agreement figure with the index search, then with exact search over the same vectors.
OVERLAP_COLUMNS = ["probe_id", "probe", "collection_a", "collection_b", "k", *AGREEMENT]
EXACT_COLUMNS = [f"{m}_exact" for m in AGREEMENT]
LATENCY_COLUMNS = ["collection", "n", "mean_ms", "p50_ms", "p95_ms", "p99_ms"] + [
    "embed_ms_per_probe",
    "probes_from_cache",
    "embed_model",
]
SERVER_LATENCY_COLUMNS = ["server_n", "server_mean_ms", "server_p50_ms", "server_p95_ms"]

EmbedderLoader = Callable[[ModelRef], Embedder]


@dataclass
class QueryResult:
    hits: pd.DataFrame
    overlap: pd.DataFrame
    latency: pd.DataFrame
    manifest: dict
    warnings: list[str] = field(default_factory=list)
    alignment: pd.DataFrame = field(default_factory=pd.DataFrame)

    def agreement_summary(self, seed: int = SEED) -> pd.DataFrame:
        """Mean agreement per pair over the probes with 95% intervals, exactly and with the index."""
        return summarise_agreement(self.overlap, seed)

    def index_attribution(self) -> list[str]:
        """In words, how much of each pair's disagreement is the index's."""
        return index_attribution(self.agreement_summary())

    def write(self, directory: str | Path) -> list[Path]:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        frames = {
            "hits": self.hits,
            "overlap": self.overlap,
            "agreement": self.agreement_summary(),
            "latency": self.latency,
        }
        if not self.alignment.empty:
            frames["alignment"] = self.alignment
        for name, frame in frames.items():
            path = directory / f"{name}.csv"
            frame.to_csv(path, index=False)
            written.append(path)
        path = directory / "manifest.json"
        path.write_text(json.dumps(self.manifest, indent=2, default=str) + "\n")
        written.append(path)
        return written


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
        if ref.source not in self.encoded:
            embedder = self.load(ref)
            hits_before = embedder.stats.hits if isinstance(embedder, CachedEmbedder) else 0
            started = time.perf_counter()
            vectors = embedder.encode(self.texts, self.batch_size, role="query")
            embed_ms = (time.perf_counter() - started) * 1000 / len(self.texts)
            from_cache = (embedder.stats.hits - hits_before) if isinstance(embedder, CachedEmbedder) else 0
            self.encoded[ref.source] = _Encoded(embedder, vectors, embed_ms, from_cache)
        return self.encoded[ref.source]

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
    progress: ProgressFn | None = None,
) -> QueryResult:
    """Search every collection with every probe; hits, pairwise agreement and latency.

    The baselines (``bm25,hashing`` unless ``baselines`` says otherwise, ``none`` for none)
    are searched too. With ``exact`` (the default) agreement is also computed from exact
    search over each collection's stored vectors. With ``metrics_url`` (a Milvus server's
    Prometheus endpoint), the server-side search latency of the timed searches is reported
    next to the client-side figure.
    """
    params = SearchParams(top_k, nprobe, ef=ef)
    kinds = parse_baselines(baselines)
    if repeats < 0:
        raise HarnessError("--repeats cannot be negative")
    if not probes:
        raise HarnessError("no probes given")
    embedding_cache = open_cache(cache)
    store = connect(uri, token)
    try:
        return run_query(
            store,
            probes,
            collections,
            lambda ref: with_cache(load_model(ref, device=device), embedding_cache),
            probe_model=probe_model,
            params=params,
            repeats=repeats,
            batch_size=batch_size,
            rbo_p=rbo_p,
            metrics_url=metrics_url,
            device=device,
            baselines=kinds,
            exact=exact,
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
    progress: ProgressFn | None = None,
) -> QueryResult:
    """:func:`query` on an open store, with models loaded by ``load``."""
    params = params or SearchParams()
    warnings: list[str] = []
    names = list(collections) if collections else store.harness_collections()
    if not names:
        raise HarnessError(f"no harness collections in {redact_uri(store.uri)}: run harness ingest first")
    metas = {name: store.require_collection(name) for name in names}
    if metrics_url and not store.capabilities.prometheus:
        warnings.append("--metrics-url ignored: Milvus Lite exposes no Prometheus metrics")
        metrics_url = None
    probe_ref = resolve_model(probe_model) if probe_model else None
    encoded = _ProbeVectors(probes, load, batch_size)
    found = _Found(probes)
    latency_rows: list[dict] = []
    alignment_rows: list[dict] = []
    models_used: dict[str, dict] = {}
    steps = _Steps(len(names) * (1 + len(probes) * repeats), progress)
    try:
        for name in names:
            meta = metas[name]
            ref = probe_ref or ref_for_record(meta.model)
            probe = encoded.get(ref)
            embedder, built = probe.embedder, meta.model
            cross_model = probe_ref is not None and built.fingerprint != embedder.fingerprint
            warnings.extend(_collection_warnings(name, meta, ref, embedder, probe_ref is not None))
            _check_dimension(store, name, embedder, meta)
            models_used[name] = {"collection_model": built.to_dict(), "probe_model": embedder.describe().to_dict()}
            store.ensure_loaded(name)
            if cross_model:
                alignment = cross_model_alignment(store, name, embedder, batch_size)
                alignment_rows.append({"collection": name, "probe_model": embedder.alias, **alignment})
                warning = cross_model_warning(alignment)
                if warning:
                    warnings.append(f"{name}: {warning}")
            own = params.for_index(meta.index)
            results = store.search(name, probe.vectors, own.top_k, own.nprobe, ef=own.ef)
            steps.advance(name)
            exact_found = exact_knn_ids(probe.vectors, stream_vectors(store, name), own.top_k) if exact else None
            found.add(name, own.setting(meta.index), results, exact_found)
            latency = _timed_searches(store, name, probe.vectors, own, repeats, metrics_url, steps)
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
    for baseline in build_baselines(read_rows(store, names[0]), baselines) if baselines else []:
        results = baseline.search_texts([p.text for p in probes], params.top_k)
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
            "metrics_url": metrics_url,
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


class _Found:
    """What each collection and baseline returned for the probes, with the index and exactly."""

    def __init__(self, probes: Sequence[Probe]):
        self.probes = probes
        self.hit_rows: list[dict] = []
        self.ids: dict[str, list[list[int]]] = {}
        self.exact: dict[str, list[list[int]]] = {}
        self.settings: dict[str, str] = {}  # name -> search setting in words

    def add(self, name: str, setting: str, results: list[list[Hit]], exact) -> None:
        self.settings[name] = setting
        self.ids[name] = [[h.id for h in hits] for hits in results]
        if exact is not None:
            self.exact[name] = [list(map(int, row)) for row in exact]
        for probe, hits in zip(self.probes, results):
            self.hit_rows.extend(_hit_rows(probe, name, hits))

    def overlap_rows(self, k: int, rbo_p: float, exact: bool) -> list[dict]:
        rows = []
        for a, b in combinations(self.settings, 2):
            for i, probe in enumerate(self.probes):
                row = {"probe_id": probe.id, "probe": probe.text, "collection_a": a, "collection_b": b}
                row.update(agreement(self.ids[a][i], self.ids[b][i], k, rbo_p))
                if exact:
                    figures = agreement(self.exact[a][i], self.exact[b][i], k, rbo_p)
                    row.update({f"{m}_exact": figures[m] for m in AGREEMENT})
                rows.append(row)
        return rows


def _collection_warnings(name: str, meta: CollectionMeta, ref: ModelRef, embedder: Embedder, probing: bool):
    warnings = []
    if not meta.complete:
        warnings.append(f"collection {name} is incomplete (ingest was interrupted): re-run harness ingest")
    built = meta.model
    if not probing and built.fingerprint and built.fingerprint != embedder.fingerprint:
        warnings.append(
            f"model {ref.spec} now has weights {embedder.fingerprint}, "
            f"but collection {name} was built with {built.fingerprint}"
        )
    return warnings


class _Steps:
    def __init__(self, total: int, progress: ProgressFn | None):
        self.total, self.done, self.progress = total, 0, progress

    def advance(self, stage: str) -> None:
        self.done += 1
        if self.progress:
            self.progress(Progress(stage, self.done, self.total))


def _check_dimension(store: VectorStore, name: str, embedder: Embedder, meta: CollectionMeta) -> None:
    dimension = store.dimension(name)
    if dimension != embedder.dimension:
        raise ModelError(
            f"probe model {embedder.ref.spec} makes {embedder.dimension}-dimensional vectors, "
            f"but collection {name} holds {dimension}-dimensional vectors (model {meta.model.alias})"
        )


def _timed_searches(
    store: VectorStore,
    name: str,
    vectors: np.ndarray,
    params: SearchParams,
    repeats: int,
    metrics_url: str | None,
    steps: _Steps,
) -> dict:
    """Client-side latency of one-probe searches after an untimed warm-up, and the server's
    own figures from its Prometheus histogram when ``metrics_url`` is given."""
    samples: list[float] = []
    server: dict = {}
    if repeats:
        store.search(name, vectors[:1], params.top_k, params.nprobe, ef=params.ef)  # warm-up, untimed
        before = read_search_histogram(metrics_url) if metrics_url else None
        for i in range(len(vectors)):
            for _ in range(repeats):
                started = time.perf_counter()
                store.search(name, vectors[i : i + 1], params.top_k, params.nprobe, ef=params.ef)
                samples.append((time.perf_counter() - started) * 1000)
                steps.advance(name)
        if before is not None and metrics_url:
            server = read_search_histogram(metrics_url).minus(before).summary()
    return {"collection": name, **latency_summary(samples), **server}


def cross_model_alignment(
    store: VectorStore, name: str, embedder: Embedder, batch_size: int = 64, sample: int = ALIGNMENT_SAMPLE
) -> dict:
    """How well a probe model's vectors fit a collection built by another model.

    Mutual kNN and CKA compare the two spaces' shapes; both are blind to a rotation, so
    they cannot tell whether one model's vectors land near the other's. The same-text
    cosine and self-retrieval (does the probe model's vector of a stored line find that
    line?) measure exactly that.
    """
    ids, texts, stored = store.sample_rows(name, sample)
    if len(ids) < 2:
        return {"rows": len(ids)}
    probed = embedder.encode(texts, batch_size, role="document")
    figures = {"rows": len(ids), **space_alignment(probed, stored, k=min(10, len(ids) - 1))}
    figures["same_text_cosine"] = same_text_cosine(probed, stored)
    checked = min(len(ids), 100)
    found = store.search(name, probed[:checked], 1)
    figures["self_retrieval_at_1"] = float(np.mean([bool(h) and h[0].id == i for h, i in zip(found, ids[:checked])]))
    return figures


def _hit_rows(probe: Probe, collection: str, hits: list[Hit]) -> list[dict]:
    return [
        {
            "probe_id": probe.id,
            "probe": probe.text,
            "collection": collection,
            "rank": rank,
            "id": hit.id,
            "text": hit.text,
            "group": hit.group,
            "distance": hit.distance,
        }
        for rank, hit in enumerate(hits, start=1)
    ]
