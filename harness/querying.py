"""Probe every collection, time the searches, and measure how far the results agree."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from harness.cache import CachedEmbedder, open_cache, with_cache
from harness.errors import HarnessError, ModelError
from harness.files import output_folder
from harness.manifest import RunManifest
from harness.metrics.agreement import agreement
from harness.metrics.latency import latency_summary
from harness.metrics.prometheus import read_search_histogram
from harness.metrics.spaces import cross_model_warning, same_text_cosine, space_alignment
from harness.models import (
    Embedder,
    ModelRef,
    load_model,
    ref_for_record,
    resolve_model,
    similarity_note,
    with_prompts,
)
from harness.records import CollectionMeta, Hit, Probe, Progress, ProgressFn, SearchParams
from harness.store import VectorStore, connect, distinct_names, incomplete_note, redact_uri

LITE_LATENCY_NOTE = (
    "Milvus Lite latency does not represent a Milvus server: Lite searches in Python in-process; "
    "measure on a server (--uri http://...) for production figures"
)
ALIGNMENT_SAMPLE = 500

HIT_COLUMNS = ["probe_id", "probe", "collection", "rank", "id", "text", "group", "distance"]
OVERLAP_COLUMNS = [
    "probe_id",
    "probe",
    "collection_a",
    "collection_b",
    "k",
    "overlap_at_k",
    "jaccard",
    "rbo",
    "kendall_tau",
]
LATENCY_COLUMNS = [
    "collection",
    "n",
    "mean_ms",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "embed_ms_per_probe",
    "probes_from_cache",
    "embed_model",
]
SERVER_LATENCY_COLUMNS = ["server_n", "server_mean_ms", "server_p50_ms", "server_p95_ms"]

EmbedderLoader = Callable[[ModelRef], Embedder]
QUERY_FILES = ("*.csv", "*.json")  # what a query output folder holds


@dataclass
class QueryResult:
    hits: pd.DataFrame
    overlap: pd.DataFrame
    latency: pd.DataFrame
    manifest: dict
    warnings: list[str] = field(default_factory=list)
    alignment: pd.DataFrame = field(default_factory=pd.DataFrame)

    def agreement_summary(self) -> pd.DataFrame:
        """Mean agreement per collection pair over all probes."""
        if self.overlap.empty:
            return self.overlap
        columns = ["overlap_at_k", "jaccard", "rbo", "kendall_tau"]
        return self.overlap.groupby(["collection_a", "collection_b"], as_index=False)[columns].mean()

    def write(self, directory: str | Path) -> list[Path]:
        """hits.csv, overlap.csv, latency.csv (alignment.csv) and manifest.json, in a folder
        replaced whole (see :func:`harness.files.output_folder`)."""
        directory = Path(directory)
        frames = {"hits": self.hits, "overlap": self.overlap, "latency": self.latency}
        if not self.alignment.empty:
            frames["alignment"] = self.alignment
        with output_folder(directory, QUERY_FILES) as partial:
            for name, frame in frames.items():
                frame.to_csv(partial / f"{name}.csv", index=False)
            (partial / "manifest.json").write_text(json.dumps(self.manifest, indent=2, default=str) + "\n")
        return [directory / f"{name}.csv" for name in frames] + [directory / "manifest.json"]


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
    repeats: int = 3,
    device: str = "auto",
    batch_size: int = 64,
    rbo_p: float = 0.9,
    cache: bool | str | Path = True,
    metrics_url: str | None = None,
    query_prompt: str | None = None,
    document_prompt: str | None = None,
    progress: ProgressFn | None = None,
) -> QueryResult:
    """Search every collection with every probe; hits, pairwise agreement and latency.

    Probes are encoded as queries, with the query prompt recorded for each collection at
    ingest (the model's own, or the one chosen then), or ``query_prompt``. With
    ``metrics_url`` (a Milvus server's Prometheus endpoint), the server-side search
    latency of the timed searches is reported next to the client-side figure.
    """
    params = SearchParams(top_k, nprobe)
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
    progress: ProgressFn | None = None,
) -> QueryResult:
    """:func:`query` on an open store, with models loaded by ``load``."""
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
    hits_rows: list[dict] = []
    latency_rows: list[dict] = []
    alignment_rows: list[dict] = []
    hit_ids: dict[str, list[list[int]]] = {}
    models_used: dict[str, dict] = {}
    steps = _Steps(len(names) * (1 + len(probes) * repeats), progress)
    try:
        for name in names:
            meta = metas[name]
            incomplete = incomplete_note(store, name, meta)
            if incomplete:
                warnings.append(incomplete)
            similarity = similarity_note(name, meta.model.similarity_fn_name, meta.model.normalized)
            if similarity:
                warnings.append(similarity)
            ref = probe_ref or ref_for_record(meta.model)
            probe = encoded.get(ref)
            embedder, built = probe.embedder, meta.model
            cross_model = probe_ref is not None and built.fingerprint != embedder.fingerprint
            if not probe_ref and built.fingerprint and built.fingerprint != embedder.fingerprint:
                warnings.append(
                    f"model {ref.spec} now has weights {embedder.fingerprint}, "
                    f"but collection {name} was built with {built.fingerprint}"
                )
            _check_dimension(store, name, embedder, meta)
            models_used[name] = {"collection_model": built.to_dict(), "probe_model": embedder.describe().to_dict()}
            store.ensure_loaded(name)
            if cross_model:
                alignment = cross_model_alignment(store, name, embedder, batch_size)
                alignment_rows.append({"collection": name, "probe_model": embedder.alias, **alignment})
                warning = cross_model_warning(alignment)
                if warning:
                    warnings.append(f"{name}: {warning}")
            results = store.search(name, probe.vectors, params.top_k, params.nprobe)
            steps.advance(name)
            hit_ids[name] = [[h.id for h in hits] for hits in results]
            for item, hits in zip(probes, results):
                hits_rows.extend(_hit_rows(item, name, hits))
            latency = _timed_searches(store, name, probe.vectors, params, repeats, metrics_url, steps)
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
    problems = [e.embedder.problem for e in encoded.encoded.values() if isinstance(e.embedder, CachedEmbedder)]
    warnings.extend(dict.fromkeys(problem for problem in problems if problem))
    overlap_rows = [
        {
            "probe_id": item.id,
            "probe": item.text,
            "collection_a": a,
            "collection_b": b,
            **agreement(hit_ids[a][i], hit_ids[b][i], params.top_k, rbo_p),
        }
        for a, b in combinations(names, 2)
        for i, item in enumerate(probes)
    ]
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
            "search": {
                "top_k": params.top_k,
                "nprobe": params.nprobe,
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
    return QueryResult(
        hits=pd.DataFrame(hits_rows, columns=HIT_COLUMNS),
        overlap=pd.DataFrame(overlap_rows, columns=OVERLAP_COLUMNS),
        latency=pd.DataFrame(latency_rows, columns=LATENCY_COLUMNS + (SERVER_LATENCY_COLUMNS if metrics_url else [])),
        manifest=manifest.to_dict(),
        warnings=warnings,
        alignment=pd.DataFrame(alignment_rows),
    )


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
        store.search(name, vectors[:1], params.top_k, params.nprobe)  # warm-up, untimed
        before = read_search_histogram(metrics_url) if metrics_url else None
        for i in range(len(vectors)):
            for _ in range(repeats):
                started = time.perf_counter()
                store.search(name, vectors[i : i + 1], params.top_k, params.nprobe)
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
