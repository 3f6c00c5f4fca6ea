"""Probe every collection, time the searches, and measure how far the results agree."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import combinations
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from harness import __version__
from harness.cache import EmbeddingCache
from harness.corpus import Probe
from harness.errors import HarnessError, ModelError
from harness.metrics import agreement, latency_summary
from harness.server_metrics import read_search_histogram
from harness.models import Embedder, ModelRef, load_model, model_alias, resolve_model
from harness.store import Hit, Store, connect, redact_uri

LITE_LATENCY_NOTE = (
    "Milvus Lite latency does not represent a Milvus server: Lite searches in Python in-process; "
    "measure on a server (--uri http://...) for production figures"
)

# Called as progress(stage, done, total).
Progress = Callable[[str, int, int], None]


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
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for name, frame in (("hits", self.hits), ("overlap", self.overlap), ("latency", self.latency)):
            path = directory / f"{name}.csv"
            frame.to_csv(path, index=False)
            written.append(path)
        if not self.alignment.empty:
            path = directory / "alignment.csv"
            self.alignment.to_csv(path, index=False)
            written.append(path)
        path = directory / "manifest.json"
        path.write_text(json.dumps(self.manifest, indent=2, default=str) + "\n")
        written.append(path)
        return written


def _package_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version(), "harness": __version__}
    for package in ("pymilvus", "milvus-lite", "sentence-transformers", "torch", "transformers", "numpy", "pandas"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            pass
    return versions


def _model_for_collection(meta: dict) -> ModelRef:
    """The model that built a collection: its recorded folder if still there, else its spec."""
    model = meta.get("model", {})
    source = model.get("source", "")
    if source and not source.startswith("hf:") and Path(source).is_dir():
        return ModelRef(model.get("spec", source), model.get("alias") or model_alias(source), Path(source), None)
    return resolve_model(model.get("spec") or model.get("alias", ""))


class _Embedders:
    """Loads each model once and embeds all probes in one batch per model."""

    def __init__(self, probes: Sequence[Probe], device: str, batch_size: int, cache: EmbeddingCache | None):
        self.texts = [p.text for p in probes]
        self.device = device
        self.batch_size = batch_size
        self.cache = cache
        self.loaded: dict[str, Embedder] = {}
        self.vectors: dict[str, np.ndarray] = {}
        self.embed_ms: dict[str, float] = {}
        self.from_cache: dict[str, int] = {}  # probes whose vectors came from the cache

    def get(self, ref: ModelRef) -> Embedder:
        key = ref.source
        if key not in self.loaded:
            embedder = load_model(ref, device=self.device)
            hits_before = self.cache.stats.hits if self.cache is not None else 0
            started = time.perf_counter()
            if self.cache is not None:
                vectors = self.cache.encode(embedder, self.texts, self.batch_size)
            else:
                vectors = embedder.encode(self.texts, self.batch_size)
            self.embed_ms[key] = (time.perf_counter() - started) * 1000 / len(self.texts)
            self.from_cache[key] = (self.cache.stats.hits - hits_before) if self.cache is not None else 0
            self.vectors[key] = vectors
            self.loaded[key] = embedder
        return self.loaded[key]

    def close(self) -> None:
        for embedder in self.loaded.values():
            embedder.close()


def check_search_options(top_k: int, nprobe: int | None) -> None:
    if top_k < 1:
        raise HarnessError("--top-k must be at least 1")
    if nprobe is not None and nprobe < 1:
        raise HarnessError("--nprobe must be at least 1")


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
    progress: Progress | None = None,
) -> QueryResult:
    """Search every collection with every probe; hits, pairwise agreement and latency.

    With ``metrics_url`` (a Milvus server's Prometheus endpoint), the server-side search
    latency of the timed searches is reported next to the client-side figure.
    """
    check_search_options(top_k, nprobe)
    if repeats < 0:
        raise HarnessError("--repeats cannot be negative")
    if not probes:
        raise HarnessError("no probes given")
    embedding_cache = None if cache is False else EmbeddingCache(None if cache is True else cache)
    warnings: list[str] = []
    embedders = _Embedders(probes, device, batch_size, embedding_cache)
    store = connect(uri, token)
    try:
        names = list(collections) if collections else store.harness_collections()
        if not names:
            raise HarnessError(f"no harness collections in {redact_uri(store.uri)}: run harness ingest first")
        metas = {name: store.require_collection(name) for name in names}
        if metrics_url and store.is_lite:
            warnings.append("--metrics-url ignored: Milvus Lite exposes no Prometheus metrics")
            metrics_url = None
        probe_ref = resolve_model(probe_model) if probe_model else None
        hits_rows: list[dict] = []
        latency_rows: list[dict] = []
        alignment_rows: list[dict] = []
        hit_ids: dict[str, list[list[int]]] = {}
        models_used: dict[str, dict] = {}
        total_steps = len(names) * (1 + len(probes) * repeats)
        steps = 0
        for name in names:
            meta = metas[name]
            if not meta.get("complete", False):
                warnings.append(f"collection {name} is incomplete (ingest was interrupted): re-run harness ingest")
            ref = probe_ref or _model_for_collection(meta)
            embedder = embedders.get(ref)
            built = meta.get("model", {})
            if not probe_ref and built.get("fingerprint") and built["fingerprint"] != embedder.fingerprint:
                warnings.append(
                    f"model {ref.spec} now has weights {embedder.fingerprint}, but collection {name} was built with {built['fingerprint']}"
                )
            dimension = store.dimension(name)
            if dimension != embedder.dimension:
                raise ModelError(
                    f"probe model {embedder.ref.spec} makes {embedder.dimension}-dimensional vectors, "
                    f"but collection {name} holds {dimension}-dimensional vectors (model {built.get('alias', '?')})"
                )
            models_used[name] = {"collection_model": built, "probe_model": embedder.describe()}
            vectors = embedders.vectors[ref.source]
            store.ensure_loaded(name)
            if probe_ref and built.get("fingerprint") != embedder.fingerprint:
                alignment = cross_model_alignment(store, name, embedder, batch_size)
                alignment_rows.append({"collection": name, "probe_model": embedder.alias, **alignment})
                warning = cross_model_warning(alignment)
                if warning:
                    warnings.append(f"{name}: {warning}")
            results = store.search(name, vectors, top_k, nprobe)
            steps += 1
            if progress:
                progress(name, steps, total_steps)
            hit_ids[name] = [[h.id for h in hits] for hits in results]
            for probe, hits in zip(probes, results):
                hits_rows.extend(_hit_rows(probe, name, hits))
            samples = []
            server: dict = {}
            if repeats:
                store.search(name, vectors[:1], top_k, nprobe)  # warm-up, untimed
                before = read_search_histogram(metrics_url) if metrics_url else None
                for i in range(len(probes)):
                    for _ in range(repeats):
                        started = time.perf_counter()
                        store.search(name, vectors[i : i + 1], top_k, nprobe)
                        samples.append((time.perf_counter() - started) * 1000)
                        steps += 1
                        if progress:
                            progress(name, steps, total_steps)
                if before is not None:
                    server = read_search_histogram(metrics_url).minus(before).summary()
            latency_rows.append(
                {
                    "collection": name,
                    **latency_summary(samples),
                    **server,
                    "embed_ms_per_probe": embedders.embed_ms[ref.source],
                    "probes_from_cache": embedders.from_cache[ref.source],
                    "embed_model": embedder.alias,
                }
            )
        overlap_rows = []
        for a, b in combinations(names, 2):
            for i, probe in enumerate(probes):
                overlap_rows.append(
                    {
                        "probe_id": probe.id,
                        "probe": probe.text,
                        "collection_a": a,
                        "collection_b": b,
                        **agreement(hit_ids[a][i], hit_ids[b][i], top_k, rbo_p),
                    }
                )
        if store.is_lite:
            warnings.append(LITE_LATENCY_NOTE)
        manifest = {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "versions": _package_versions(),
            "uri": redact_uri(store.uri),
            "backend": "milvus-lite" if store.is_lite else "milvus-server",
            "collections": {name: _collection_summary(metas[name]) for name in names},
            "models": models_used,
            "probe_model": probe_model,
            "alignment": alignment_rows,
            "search": {"top_k": top_k, "nprobe": nprobe, "repeats": repeats, "metric": "L2", "rbo_p": rbo_p},
            "metrics_url": metrics_url,
            "probes": [{"id": p.id, "text": p.text} for p in probes],
            "device": device,
            "notes": warnings,
        }
    finally:
        store.close()
        embedders.close()
        if embedding_cache is not None:
            embedding_cache.close()
    return QueryResult(
        hits=pd.DataFrame(hits_rows, columns=HIT_COLUMNS),
        overlap=pd.DataFrame(overlap_rows, columns=OVERLAP_COLUMNS),
        latency=pd.DataFrame(latency_rows, columns=LATENCY_COLUMNS + (SERVER_LATENCY_COLUMNS if metrics_url else [])),
        manifest=manifest,
        warnings=warnings,
        alignment=pd.DataFrame(alignment_rows),
    )


ALIGNMENT_SAMPLE = 500
SAME_TEXT_COSINE_MIN = 0.8
SELF_RETRIEVAL_GOOD = 0.9
SELF_RETRIEVAL_CHANCE = 0.1


def cross_model_alignment(store: Store, name: str, embedder: Embedder, batch_size: int = 64, sample: int = ALIGNMENT_SAMPLE) -> dict:
    """How well a probe model's vectors fit a collection built by another model.

    Mutual kNN and CKA compare the two spaces' shapes; both are blind to a rotation, so
    they cannot tell whether one model's vectors land near the other's. The same-text
    cosine and self-retrieval (does the probe model's vector of a stored line find that
    line?) measure exactly that.
    """
    from harness.evaluation import same_text_cosine, space_alignment

    ids, texts, stored = store.sample_rows(name, sample)
    if len(ids) < 2:
        return {"rows": len(ids)}
    probed = embedder.encode(texts, batch_size)
    figures = {"rows": len(ids), **space_alignment(probed, stored, k=min(10, len(ids) - 1))}
    figures["same_text_cosine"] = same_text_cosine(probed, stored)
    checked = min(len(ids), 100)
    found = store.search(name, probed[:checked], 1)
    figures["self_retrieval_at_1"] = float(np.mean([bool(h) and h[0].id == i for h, i in zip(found, ids[:checked])]))
    return figures


def cross_model_warning(alignment: dict) -> str | None:
    """Plain words on whether a cross-model query can be trusted, from the measured figures."""
    from harness.evaluation import alignment_warning

    cosine = alignment.get("same_text_cosine", float("nan"))
    self_hits = alignment.get("self_retrieval_at_1", float("nan"))
    measured = f"same-text cosine {cosine:.2f}, self-retrieval@1 {self_hits:.2f}"
    if self_hits < SELF_RETRIEVAL_CHANCE:
        return (
            f"the probe model's space is not aligned with this collection's model ({measured}): "
            "results of this cross-model query are close to chance"
        )
    shape = alignment_warning(alignment)
    if shape:
        return f"{shape} ({measured})"
    if cosine < SAME_TEXT_COSINE_MIN or self_hits < SELF_RETRIEVAL_GOOD:
        return (
            f"the probe model's space is only partly aligned with this collection's model ({measured}): "
            "cross-model results differ from what the collection's own model would return"
        )
    return None


HIT_COLUMNS = ["probe_id", "probe", "collection", "rank", "id", "text", "group", "distance"]
OVERLAP_COLUMNS = ["probe_id", "probe", "collection_a", "collection_b", "k", "overlap_at_k", "jaccard", "rbo", "kendall_tau"]
LATENCY_COLUMNS = ["collection", "n", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "embed_ms_per_probe", "probes_from_cache", "embed_model"]
SERVER_LATENCY_COLUMNS = ["server_n", "server_mean_ms", "server_p50_ms", "server_p95_ms"]


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


def _collection_summary(meta: dict) -> dict:
    return {
        "model": meta.get("model", {}),
        "corpus": meta.get("corpus", {}),
        "index": meta.get("index", {}),
        "harness_version": meta.get("harness_version"),
        "complete": meta.get("complete"),
    }


