"""One model's collection from a corpus: opened or created (refusing another model's, another
corpus's or another experiment's), the missing rows encoded and inserted (each chunk encoded
while the previous one is inserted by a worker thread), the index built, the collection
marked complete. Row ids come from the corpus, so a re-run inserts only what is missing."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness import __version__
from harness.cache import CachedEmbedder
from harness.errors import StoreError
from harness.inputs import CorpusReader, chunked
from harness.manifest import now
from harness.models import Embedder, similarity_note
from harness.records import DEFAULT_INDEX, CollectionMeta, CorpusRecord, IndexSpec, Progress, ProgressFn, Truncation
from harness.store import TEXT_CHARS, VectorStore, collection_name, index_spec
from harness.store.inserter import Inserter


@dataclass
class ModelIngest:
    model: str
    collection: str
    dimension: int
    fingerprint: str
    rows_total: int = 0
    rows_added: int = 0
    rows_present: int = 0
    truncated: int = 0  # documents longer than max_seq_length, read only up to it
    cut_share: float = 0.0  # mean share of a truncated document's tokens cut off
    max_seq_length: int | None = None
    cache_hits: int = 0
    load_s: float = 0.0
    encode_s: float = 0.0
    insert_s: float = 0.0
    index_s: float = 0.0
    total_s: float = 0.0
    nlist: int = 0
    duplicates_removed: int = 0
    clipped: int = 0  # lines stored cut at TEXT_CHARS (their vectors use the full text)
    notes: list[str] = field(default_factory=list)
    index: str = ""  # type and build parameters, e.g. "HNSW M=16 efConstruction=200"


def _collection_meta(
    embedder: Embedder,
    corpus_path: Path,
    corpus_sha: str,
    index: IndexSpec,
    complete: bool,
    rows: int,
    prefix: str,
    truncation: Truncation | None = None,
    full_text: bool = False,
) -> CollectionMeta:
    return CollectionMeta(
        model=embedder.describe(),
        corpus=CorpusRecord(str(corpus_path), corpus_sha, rows),
        index=index,
        complete=complete,
        updated=now(),
        harness_version=__version__,
        prefix=prefix,
        truncation=truncation,
        full_text=full_text,
    )


def _check_existing(store: VectorStore, name: str, embedder: Embedder, corpus_sha: str) -> CollectionMeta:
    """The collection's metadata, if it was built by these weights from this corpus."""
    meta = store.require_collection(name)
    built_by = meta.model
    if built_by.fingerprint != embedder.fingerprint:
        raise StoreError(
            f"collection {name} was built by model {built_by.spec or '?'} (weights {built_by.fingerprint or '?'}), "
            f"not {embedder.ref.spec} (weights {embedder.fingerprint}); "
            "use --recreate to rebuild it, or --prefix for a separate set"
        )
    described = embedder.describe()
    for what, before, now_ in (
        ("document prompt", built_by.document_prompt, described.document_prompt),
        ("normalisation", built_by.normalized, described.normalized),
        ("max sequence length", built_by.max_seq_length, described.max_seq_length),
    ):
        if before is not None and now_ is not None and before != now_:
            raise StoreError(
                f"collection {name} was built with {what} {before!r}, not {now_!r}: its vectors would not "
                "compare; use --recreate to rebuild it, or --prefix for a separate set"
            )
    if meta.corpus.sha256 != corpus_sha:
        raise StoreError(
            f"collection {name} holds a different corpus ({meta.corpus.path or '?'}); "
            "use --recreate to rebuild it, or --prefix for a separate set"
        )
    return meta


def _add_missing_rows(
    store: VectorStore,
    name: str,
    reader: CorpusReader,
    embedder: Embedder,
    result: ModelIngest,
    existed: bool,
    batch_size: int,
    chunk_size: int,
    progress: ProgressFn | None,
    total_hint: int | None,
) -> Truncation:
    """Encode and insert the records the collection lacks, overlapping the two; returns the
    truncation of the whole corpus (rows already present counted too)."""
    inserter = Inserter(store, name)
    done = 0
    truncation = Truncation()
    try:
        for chunk in chunked(reader, chunk_size):
            done += len(chunk)
            truncation += embedder.truncation([r.text for r in chunk])
            if existed:
                present = store.existing_ids(name, [r.id for r in chunk])
                result.rows_present += len(present)
                chunk = [r for r in chunk if r.id not in present]
            if chunk:
                texts = [r.text for r in chunk]
                encode_started = time.perf_counter()
                vectors = embedder.encode(texts, batch_size, role="document")
                result.clipped += sum(len(t) > TEXT_CHARS for t in texts)
                result.encode_s += time.perf_counter() - encode_started
                inserter.put([r.id for r in chunk], texts, [r.group for r in chunk], vectors, [r.doc_id for r in chunk])
                result.rows_added += len(chunk)
            if progress:
                progress(Progress(embedder.alias, done, total_hint, "rows"))
    finally:
        inserter.finish()
    result.insert_s = inserter.seconds
    if result.clipped:
        lines = "1 line" if result.clipped == 1 else f"{result.clipped} lines"
        result.notes.append(
            f"{name}: {lines} longer than {TEXT_CHARS:,} characters stored clipped to that length "
            "(the text field's limit); their vectors use the full text, as the model reads it"
        )
    if isinstance(embedder, CachedEmbedder):
        result.cache_hits = embedder.stats.hits
        if embedder.problem:
            result.notes.append(embedder.problem)
    return truncation


def _check_prefix(meta: CollectionMeta, name: str, prefix: str) -> None:
    """Two prefixes can sanitise to one collection name ("a b", "a/b"): the collection
    records its prefix, and another experiment's collection is never touched."""
    if meta.prefix is not None and meta.prefix != prefix:
        raise StoreError(
            f"collection {name} belongs to the experiment with --prefix {meta.prefix!r}, not {prefix!r} "
            "(both give the same collection name): choose another --prefix"
        )


def _open_collection(
    store: VectorStore,
    name: str,
    embedder: Embedder,
    reader: CorpusReader,
    corpus_sha: str,
    planned: IndexSpec,
    prefix: str,
    recreate: bool,
    full_text: bool = False,
) -> CollectionMeta | None:
    """The existing collection's metadata (None when this call created it)."""
    if store.has_collection(name):
        meta = store.require_collection(name)
        _check_prefix(meta, name, prefix)
        if not recreate:
            if full_text and not store.has_full_text(name):
                raise StoreError(
                    f"collection {name} was built without a full-text side: "
                    "use --recreate with --full-text to rebuild it with one"
                )
            return _check_existing(store, name, embedder, corpus_sha)
        store.drop_collection(name)
    try:
        created = _collection_meta(embedder, reader.path, corpus_sha, planned, False, 0, prefix, full_text=full_text)
        store.create_collection(name, embedder.dimension, created)
    except StoreError:
        if not store.has_collection(name):
            raise
        # Another ingest created it a moment ago: writes by id make the two safe together.
        meta = store.require_collection(name)
        _check_prefix(meta, name, prefix)
        return _check_existing(store, name, embedder, corpus_sha)
    return None


def _note_truncation(result: ModelIngest, truncation: Truncation | None) -> None:
    if truncation is not None:
        result.truncated, result.cut_share = truncation.truncated, truncation.mean_cut_share


def _fitting_nlist(nlist: int | None, rows: int, result: ModelIngest) -> int | None:
    """The nlist asked for (None: the type's default); one larger than the rows is reduced,
    and the report says so."""
    if nlist is None:
        return None
    if rows and nlist > rows:
        result.notes.append(
            f"--nlist {nlist} is more than the {rows} rows of {result.collection}: built with nlist {rows}"
        )
        return rows
    return nlist


def _build_or_drop(store: VectorStore, name: str, spec: IndexSpec, created: bool) -> None:
    """Build the index; where the server refuses it (HNSW_SQ on Milvus 2.3) and this ingest
    created the collection, drop it again: no collection of rows without an index is left."""
    try:
        store.build_index(name, spec)
    except StoreError as exc:
        if not created:
            raise
        store.drop_collection(name)
        raise StoreError(f"{exc}; collection {name}, created by this ingest, was dropped") from None


def ingest_model(
    store: VectorStore,
    reader: CorpusReader,
    embedder: Embedder,
    corpus_sha: str,
    *,
    prefix: str = "",
    nlist: int | None = None,
    index: str = DEFAULT_INDEX,
    batch_size: int = 64,
    chunk_size: int = 2048,
    recreate: bool = False,
    progress: ProgressFn | None = None,
    total_hint: int | None = None,
    full_text: bool = False,
) -> ModelIngest:
    """Build (or finish) one model's collection; the embedder may be a CachedEmbedder.
    ``full_text``: with a full-text side (Milvus's BM25 over the text field)."""
    started = time.perf_counter()
    name = collection_name(embedder.alias, prefix)
    segment_rows = store.capabilities.segment_rows
    index = store.capabilities.check_index(index)

    def spec_for(rows: int, lists: int | None = nlist) -> IndexSpec:
        return index_spec(index, rows, embedder.dimension, segment_rows, lists)

    planned = spec_for(total_hint or 1)  # refuses --nlist on a type without lists before any work
    result = ModelIngest(
        embedder.alias,
        name,
        embedder.dimension,
        embedder.fingerprint,
        load_s=embedder.load_seconds,
        max_seq_length=embedder.max_seq_length,
    )
    described = embedder.describe()
    note = similarity_note(embedder.alias, described.similarity_fn_name, described.normalized)
    if note:
        result.notes.append(note)
    meta = _open_collection(store, name, embedder, reader, corpus_sha, planned, prefix, recreate, full_text)
    finished = False
    existed = False
    truncation: Truncation | None = None
    if meta is not None:
        info = store.describe(name)
        rows = info.rows
        # Same weights, same corpus, complete, every record there: nothing to read or encode.
        finished = meta.complete and total_hint is not None and rows == total_hint
        if info.index is None and rows:
            # A server can only look up ids in a loaded, hence indexed, collection.
            store.build_index(name, spec_for(rows))
        existed = rows > 0
        if finished:
            result.rows_present = rows
            truncation = meta.truncation  # measured when it was built (None before it was measured)
            if progress:
                progress(Progress(embedder.alias, rows, total_hint, "rows"))
        elif meta.complete:
            # Rows are about to change: until they are all in, the collection is not complete.
            store.set_meta(name, replace(meta, complete=False, updated=now()))

    if not finished:
        truncation = _add_missing_rows(
            store, name, reader, embedder, result, existed, batch_size, chunk_size, progress, total_hint
        )
    _note_truncation(result, truncation)

    index_started = time.perf_counter()
    estimate = result.rows_present if finished else store.describe(name).rows
    spec = spec_for(estimate, _fitting_nlist(nlist, estimate, result))
    result.nlist, result.index = spec.nlist or 0, spec.describe()
    _build_or_drop(store, name, spec, created=meta is None)
    result.rows_total = estimate if finished else store.describe(name).rows
    if total_hint is not None and result.rows_total > total_hint:
        # More rows than records: an id stored twice (by an older harness, or two ingests
        # writing at once on a server). Rewrite each id once.
        result.duplicates_removed = store.remove_duplicates(name)
        result.rows_total = store.describe(name).rows
        result.notes.append(f"{name}: removed {result.duplicates_removed} duplicate rows (an id stored twice)")
    has_full_text = store.has_full_text(name)
    if not (finished and meta is not None and meta.index == spec and meta.full_text == has_full_text):
        store.set_meta(
            name,
            _collection_meta(
                embedder, reader.path, corpus_sha, spec, True, result.rows_total, prefix, truncation, has_full_text
            ),
        )
    result.index_s = time.perf_counter() - index_started
    result.total_s = time.perf_counter() - started
    return result
