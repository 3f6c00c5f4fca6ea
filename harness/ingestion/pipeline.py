"""Build one Milvus collection per model from a corpus: streamed, overlapped, resumable.

Two doors: :func:`ingest` opens the store, the cache and the models itself; :func:`run_ingest`
takes them open (``harness compare`` keeps its models loaded for the study); both check every
option first and run :func:`harness.ingestion.collection.ingest_model` for each model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from harness.cache import open_cache, with_cache
from harness.errors import HarnessError
from harness.ingestion.collection import ModelIngest, ingest_model
from harness.inputs import CorpusReader
from harness.models import Embedder, ModelRef, load_model, resolve_model, with_prompts
from harness.records import DEFAULT_INDEX, ProgressFn
from harness.store import VectorStore, collection_name, connect, index_spec, redact_uri

EmbedderLoader = Callable[[ModelRef], Embedder]


@dataclass
class IngestReport:
    corpus: str
    corpus_sha256: str
    uri: str
    lines: int = 0
    records: int = 0
    empty_lines: int = 0
    duplicates: int = 0
    duplicate_ids: int = 0
    groups: int = 0
    models: list[ModelIngest] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(m) for m in self.models])


def prepare_ingest(
    models: Sequence[str],
    *,
    prefix: str = "",
    nlist: int | None = None,
    index: str = DEFAULT_INDEX,
    batch_size: int = 64,
    chunk_size: int = 2048,
    query_prompt: str | None = None,
    document_prompt: str | None = None,
    max_seq_length: int | None = None,
) -> list[ModelRef]:
    """The models to ingest (with the prompts and the sequence length they will use), every
    option checked before anything loads."""
    if not models:
        raise HarnessError("no model given")
    if nlist is not None and nlist < 1:
        raise HarnessError("--nlist must be at least 1")
    index_spec(index, 1, 1, nlist=nlist)  # an unknown type, or --nlist on one without lists: one line now
    for value, option in (
        (batch_size, "--batch-size"),
        (chunk_size, "--chunk-size"),
        (max_seq_length, "--max-seq-length"),
    ):
        if value is not None and value < 1:
            raise HarnessError(f"{option} must be at least 1")
    refs = [
        replace(with_prompts(resolve_model(m), query_prompt, document_prompt), max_seq_length=max_seq_length)
        for m in models
    ]
    aliases = [collection_name(r.alias, prefix) for r in refs]
    if len(set(aliases)) != len(aliases):
        raise HarnessError(f"two models map to the same collection name: {', '.join(aliases)}")
    return refs


def read_corpus(
    corpus: str | Path | CorpusReader,
    text_column: str = "text",
    id_column: str | None = "id",
    group_column: str | None = "group",
    document_template: str | None = None,
) -> tuple[CorpusReader, str]:
    """The corpus reader (a reader given, such as a dataset's, is used as it is) and its
    sha256, after a full read: bad input fails before anything is written."""
    if isinstance(corpus, CorpusReader):
        reader = corpus
    else:
        reader = CorpusReader(
            corpus,
            text_column=text_column,
            id_column=id_column,
            group_column=group_column,
            document_template=document_template,
        )
    corpus_sha = reader.sha256()
    for _ in reader:
        pass
    return reader, corpus_sha


def run_ingest(
    store: VectorStore,
    reader: CorpusReader,
    corpus_sha: str,
    refs: Sequence[ModelRef],
    load: EmbedderLoader,
    *,
    prefix: str = "",
    nlist: int | None = None,
    index: str = DEFAULT_INDEX,
    batch_size: int = 64,
    chunk_size: int = 2048,
    recreate: bool = False,
    progress: ProgressFn | None = None,
    full_text: bool = False,
) -> IngestReport:
    """:func:`ingest` on an open store and a corpus already read, with models from ``load``
    (each closed when its collection is built)."""
    stats = reader.stats
    report = IngestReport(
        str(reader.path),
        corpus_sha,
        redact_uri(store.uri),
        lines=stats.lines,
        records=stats.records,
        empty_lines=stats.empty,
        duplicates=stats.duplicates,
        duplicate_ids=stats.duplicate_ids,
        groups=len(stats.groups),
    )
    store.capabilities.check_index(index)  # before any model loads
    for ref in refs:
        embedder = load(ref)
        try:
            report.models.append(
                ingest_model(
                    store,
                    reader,
                    embedder,
                    corpus_sha,
                    prefix=prefix,
                    nlist=nlist,
                    index=index,
                    batch_size=batch_size,
                    chunk_size=chunk_size,
                    recreate=recreate,
                    progress=progress,
                    total_hint=stats.records,
                    full_text=full_text,
                )
            )
        finally:
            embedder.close()
    return report


def ingest(
    corpus: str | Path | CorpusReader,
    models: Sequence[str],
    uri: str | None = None,
    token: str | None = None,
    *,
    prefix: str = "",
    nlist: int | None = None,
    index: str = DEFAULT_INDEX,
    batch_size: int = 64,
    chunk_size: int = 2048,
    device: str = "auto",
    half: bool = False,
    trust_remote_code: bool = False,
    recreate: bool = False,
    cache: bool | str | Path = True,
    query_prompt: str | None = None,
    document_prompt: str | None = None,
    text_column: str = "text",
    id_column: str | None = "id",
    group_column: str | None = "group",
    document_template: str | None = None,
    max_seq_length: int | None = None,
    progress: ProgressFn | None = None,
    full_text: bool = False,
) -> IngestReport:
    """Embed a corpus with each model into its own collection; returns what was done.

    ``corpus`` is a file or a reader (``read_dataset(folder).corpus`` for a BEIR-layout
    dataset); ``document_template`` (``{title} {text}``) builds a document's text from its
    fields. ``max_seq_length`` reads documents up to that many tokens instead of each
    model's own limit (recorded with the collection).

    A model may be a variant (``all-MiniLM-L6-v2@onnx``), built on first use. Corpus lines
    are encoded as documents, with the model's document prompt or ``document_prompt``;
    ``query_prompt`` is recorded for the queries that will search the collection.
    ``full_text``: each collection also gets a full-text side (Milvus's BM25, and hybrid search)."""
    refs = prepare_ingest(
        models,
        prefix=prefix,
        nlist=nlist,
        index=index,
        batch_size=batch_size,
        chunk_size=chunk_size,
        query_prompt=query_prompt,
        document_prompt=document_prompt,
        max_seq_length=max_seq_length,
    )
    reader, corpus_sha = read_corpus(corpus, text_column, id_column, group_column, document_template)
    embedding_cache = open_cache(cache)
    store = connect(uri, token)

    def load(ref: ModelRef) -> Embedder:
        return with_cache(
            load_model(ref, device=device, trust_remote_code=trust_remote_code, half=half, progress=progress),
            embedding_cache,
        )

    try:
        return run_ingest(
            store,
            reader,
            corpus_sha,
            refs,
            load,
            prefix=prefix,
            nlist=nlist,
            index=index,
            batch_size=batch_size,
            chunk_size=chunk_size,
            recreate=recreate,
            progress=progress,
            full_text=full_text,
        )
    finally:
        store.close()
        if embedding_cache is not None:
            embedding_cache.close()
