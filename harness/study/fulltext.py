"""A collection's full-text retrievers as contexts of the study: Milvus's BM25 and the hybrid
search, each a row of its own beside the collection's (see :class:`FullTextContext`)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from harness.records import Hit
from harness.retrieval import HybridRetriever, MilvusBM25Retriever, Queries, RunBook
from harness.store import VectorStore
from harness.study.base import Context
from harness.study.context import CollectionContext


class FullTextContext(Context):
    """A collection's full-text retriever as a row of its own: Milvus's BM25 (``milvus-bm25``)
    or the hybrid search fusing it with the collection's dense search (``hybrid``). Like a
    baseline it only searches (its one search is exact), so it is measured by the measures
    that list its kind in ``on_baselines``; its rows are the collection's."""

    baseline = True

    def __init__(self, collection: CollectionContext, kind: str, book: RunBook | None = None):
        super().__init__(book)
        self.collection = collection
        self.kind = kind
        self.settings = collection.settings
        self.retriever: MilvusBM25Retriever | HybridRetriever
        if kind == "hybrid":
            self.retriever = HybridRetriever(collection.retriever, collection.settings.fusion)
        else:
            self.retriever = MilvusBM25Retriever(collection.store, collection.name)
        self.name = self.retriever.name

    @property
    def alias(self) -> str:
        return self.name

    @property
    def setting(self) -> str:
        return self.retriever.setting

    @property
    def ids(self) -> np.ndarray:
        return self.collection.ids

    @property
    def groups(self) -> list[str]:
        return self.collection.groups

    @property
    def has_vectors(self) -> bool:
        return False

    def texts(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        return self.collection.texts(ids)

    def search_one(self, texts: Sequence[str], vectors: np.ndarray | None, k: int) -> list[list[Hit]]:
        """A search outside the run book (timed searches): texts, and for hybrid their vectors."""
        if isinstance(self.retriever, HybridRetriever):
            assert vectors is not None
            return self.retriever.search_vectors(vectors, list(texts), k)
        return self.retriever.index_search(Queries.of_texts(texts), k)

    def close(self) -> None:
        if isinstance(self.retriever, HybridRetriever):
            self.collection.close()  # the probes' vectors and the model, loaded again for the fusion


def full_text_contexts(
    store: VectorStore, contexts: list[CollectionContext], notes: list[str], book: RunBook
) -> list[FullTextContext]:
    """The hybrid search of every collection with a full-text side, and Milvus's BM25 once per
    corpus (every collection of one corpus holds the same texts, so their BM25 searches are
    the same search: the first collection's stands for them); where some collections have a
    full-text side and others not, a note names those without."""
    found = [c for c in contexts if store.has_full_text(c.name)]
    if found:
        notes.extend(
            f"collection {c.name} has no full-text side: its Milvus BM25 and hybrid rows are left out "
            "(rebuild it with --full-text --recreate)"
            for c in contexts
            if c not in found
        )
    out: list[FullTextContext] = []
    corpora: set[str] = set()
    for c in found:
        if c.meta.corpus.sha256 not in corpora or not c.meta.corpus.sha256:
            corpora.add(c.meta.corpus.sha256)
            out.append(FullTextContext(c, "milvus-bm25", book))
        out.append(FullTextContext(c, "hybrid", book))
    return out
