"""The whole comparison in one process: ingest every model, run one study over the collections
(its run book searches each collection once, for the query's tables and every measure
alike), and write one run folder with the query, the study and the HTML report, from memory.

Each model is loaded once and kept loaded across the steps (:class:`ModelPool`), so
sentence-transformers is imported once and no model is loaded twice; ingest encodes through
the embedding cache (a model's corpus vectors are reused by a later run), and so do the
probes; everything else is encoded by the model itself, so the cost figures time the model
and not the cache. The steps are the functions ``harness ingest`` and ``evaluate`` call
(:func:`harness.ingestion.run_ingest`, :func:`harness.study.run_study`), on one open store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from harness.cache import CachedEmbedder, EmbeddingCache, open_cache
from harness.ingestion import IngestReport, prepare_ingest, read_corpus, run_ingest
from harness.inputs import CorpusReader
from harness.models import Embedder, ModelRef, Role, WrappedEmbedder, load_model
from harness.output.report import write_study
from harness.querying import LITE_LATENCY_NOTE, QueryResult
from harness.querying.result import overlap_from_items
from harness.records import IndexPlan, Probe, ProgressFn
from harness.runs import QUERY, REPORT, STUDY, NewRun
from harness.store import connect
from harness.study import MEASURES, Study, StudyPlan, read_inputs, run_study, select_measures

# What a compare's query part is made of, whatever study measures are chosen.
QUERY_MEASURES = ("hits", "agreement", "latency")


class KeptOpen(WrappedEmbedder):
    """An :class:`Embedder` lent to a pipeline: everything goes to the loaded model except
    ``close``, so a step that closes what it was given leaves the model loaded for the next."""

    def close(self) -> None:
        pass


class StudyModel(KeptOpen):
    """The study's view of a loaded model: corpus lines and pairs are encoded by the model
    itself (the cost measure times them), probes (``role="query"``) through the embedding
    cache, where the query step left their vectors: the same vectors, not encoded twice."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache | None):
        super().__init__(inner)
        self.queries = CachedEmbedder(KeptOpen(inner), cache) if cache is not None else None

    def encode(self, texts: Sequence[str], batch_size: int = 64, role: Role = "document") -> np.ndarray:
        if role == "query" and self.queries is not None:
            return self.queries.encode(texts, batch_size=batch_size, role=role)
        return self.inner.encode(texts, batch_size=batch_size, role=role)


class ModelPool:
    """Each model loaded once, by its weights and variant, and lent out: through
    the embedding cache (:meth:`cached`, for ingest and query) or for the study (:meth:`study`,
    which times the model itself). :meth:`close` closes them all."""

    def __init__(self, device: str = "auto", cache: EmbeddingCache | None = None, progress: ProgressFn | None = None):
        self.device = device
        self.cache = cache
        self.progress = progress
        self.models: dict[str, Embedder] = {}
        self.loads = 0

    def _get(self, ref: ModelRef) -> Embedder:
        # One load per weights and variant; a query ref carries the prompts recorded at ingest,
        # which are the loaded model's own unless the user chose others.
        weights = f"{ref.source}@{ref.variant.label}"
        loaded = self.models.get(weights)
        if loaded is not None and _same_prompts(loaded, ref):
            return loaded
        key = weights if loaded is None else ref.key
        if key not in self.models:
            self.models[key] = load_model(ref, device=self.device, progress=self.progress)
            self.loads += 1
        return self.models[key]

    def cached(self, ref: ModelRef) -> Embedder:
        lent = KeptOpen(self._get(ref))
        return CachedEmbedder(lent, self.cache) if self.cache is not None else lent

    def study(self, ref: ModelRef) -> Embedder:
        return StudyModel(self._get(ref), self.cache)

    def close(self) -> None:
        for model in self.models.values():
            model.close()
        self.models.clear()


def _same_prompts(model: Embedder, ref: ModelRef) -> bool:
    described = model.describe()
    return ref.query_prompt in (None, described.query_prompt) and ref.document_prompt in (
        None,
        described.document_prompt,
    )


@dataclass
class Comparison:
    """What :func:`compare` did: the ingest, the query and the study, and where the run went."""

    ingest: IngestReport
    query: QueryResult
    study: Study
    run: Path
    report: Path | None
    loads: int  # models loaded: one per model

    @property
    def query_dir(self) -> Path:
        """The run's query output (hits, overlap, latency, manifest)."""
        return self.run / QUERY

    @property
    def query_frames(self) -> dict:
        """The query's tables as the report reads them, in memory."""
        return {"overlap": self.query.overlap, "latency": self.query.latency, "hits": self.query.hits}


def compare(
    corpus: str | Path | CorpusReader,
    models: Sequence[str],
    uri: str | None = None,
    token: str | None = None,
    *,
    probes: str | Path | Sequence[Probe],
    pairs: str | Path | None = None,
    graded: str | Path | None = None,
    qrels: str | Path | None = None,
    index: IndexPlan | None = None,
    plan: StudyPlan | None = None,
    prefix: str = "",
    cache: bool | str | Path = True,
    query_prompt: str | None = None,
    document_prompt: str | None = None,
    max_seq_length: int | None = None,
    current: str | None = None,
    results: str | Path | None = None,
    name: str | None = None,
    output: str | Path | None = None,
    report: bool = True,
    progress: ProgressFn | None = None,
) -> Comparison:
    """Ingest ``models`` from ``corpus`` (resuming, through the embedding cache) into collections
    built as ``index`` says, run one study over them as ``plan`` says (its measures, default
    all, beside the query's hits, agreement and latency; ``plan.search_repeats`` timed searches
    per probe; ``plan.repeats`` encodes timed by the cost measure: each model is loaded once, so
    its load time is that one load) and write one run folder (under ``results``/runs, or
    ``output`` replaced whole) with ``query/``, ``study/`` and ``report.html``. The prompts, when
    given, are the ones ingest records for the collections (default: each model's own). A
    dataset's corpus reader and probes (:func:`harness.inputs.read_dataset`) are taken as they are.
    ``current``: the model the report's recommendation measures a switch from (default the first)."""
    index = index or IndexPlan()
    settings = plan or StudyPlan()
    run = NewRun("compare", results, name, output)  # a bad --name fails before any work
    refs = prepare_ingest(
        models,
        prefix=prefix,
        nlist=index.nlist,
        index=index.type,
        batch_size=settings.batch_size,
        query_prompt=query_prompt,
        document_prompt=document_prompt,
        max_seq_length=max_seq_length,
    )
    chosen = select_measures(settings.measures)
    ran = [m for m in MEASURES if m in chosen or m.name in QUERY_MEASURES]
    inputs = read_inputs(None, pairs, graded, qrels, probes)  # the cost sample: the collections' own rows
    assert inputs.probes is not None
    reader, corpus_sha = read_corpus(corpus)
    embedding_cache = open_cache(cache)
    pool = ModelPool(settings.device, embedding_cache, progress)
    store = connect(uri, token)
    try:
        ingested = run_ingest(
            store,
            reader,
            corpus_sha,
            refs,
            pool.cached,
            prefix=prefix,
            nlist=index.nlist,
            index=index.type,
            batch_size=settings.batch_size,
            progress=progress,
            full_text=index.full_text,
        )
        names = [m.collection for m in ingested.models]
        study = run_study(store, names, inputs, settings, pool.study, progress, ran)
    finally:
        pool.close()
        store.close()
        if embedding_cache is not None:
            embedding_cache.close()
    study.manifest["measures"] = [m.name for m in ran if m in chosen]
    queried = query_part(study, inputs.probes, settings.search_repeats)
    with run.folder() as folder:
        queried.write(folder / QUERY)
        frames = {"overlap": queried.overlap, "latency": queried.latency, "hits": queried.hits}
        write_study(study, folder / STUDY, query_dir=frames, html=folder / REPORT if report else None, current=current)
    assert run.path is not None
    return Comparison(ingested, queried, study, run.path, run.path / REPORT if report else None, loads=pool.loads)


def query_part(study: Study, probes: list[Probe], repeats: int) -> QueryResult:
    """The query's tables and manifest, from the study's hits, agreement and latency."""
    manifest = study.manifest
    parameters = manifest.get("parameters") or {}
    notes = [n for n in study.warnings if n.startswith("collection ")]
    if manifest.get("backend") == "milvus-lite":
        notes.append(LITE_LATENCY_NOTE)
    details = {
        "created": manifest.get("created"),
        "versions": manifest.get("versions"),
        "uri": manifest.get("uri"),
        "backend": manifest.get("backend"),
        "collections": manifest.get("collections"),
        "models": {
            name: {"collection_model": summary.get("model")} for name, summary in manifest["collections"].items()
        },
        "probe_model": None,
        "map": None,
        "external": manifest.get("external", []),
        "alignment": [],
        "baselines": manifest.get("baselines", {}),
        "search": {
            "top_k": parameters.get("top_k"),
            "nprobe": parameters.get("nprobe"),
            "ef": parameters.get("ef"),
            "per_collection": manifest.get("search", {}),
            "exact": True,
            "repeats": repeats,
            "metric": "L2",
            "rbo_p": 0.9,
        },
        "metrics_url": None,
        "probes": [{"id": p.id, "text": p.text} for p in probes],
        "device": parameters.get("device"),
        "notes": notes,
    }
    agreement = study.tables["agreement"]
    return QueryResult(
        hits=study.tables["hits"],
        overlap=overlap_from_items(study.tables["agreement_items"], probes),
        latency=study.tables["latency"],
        manifest=details,
        warnings=notes,
        summary=agreement.drop(columns=[c for c in ("k",) if c in agreement]),
    )
