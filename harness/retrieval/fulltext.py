"""A collection's full-text retrievers: Milvus's own BM25 search over its full-text side, and
the hybrid search that fuses it with the collection's dense search inside Milvus.

Both search the raw texts (a stored row is put as its text); each has one search, so its
exact search is its index search.
"""

from __future__ import annotations

import numpy as np

from harness.records import Fusion, Hit, full_text_name
from harness.retrieval.queries import Queries
from harness.retrieval.retrievers import CollectionRetriever, Retriever
from harness.store import VectorStore, rows_of


def _texts(store: VectorStore, collection: str, queries: Queries) -> list[str]:
    if queries.kind == "texts":
        return list(queries.texts)
    return rows_of(store, collection, list(queries.ids)).texts


class MilvusBM25Retriever(Retriever):
    """Milvus's BM25 over a collection's full-text side (its analyser, its statistics)."""

    kind = "milvus-bm25"

    def __init__(self, store: VectorStore, collection: str):
        self.store = store
        self.collection = collection
        self.name = full_text_name(collection, self.kind)

    @property
    def setting(self) -> str:
        return "BM25"

    def index_search(self, queries: Queries, depth: int, value: int | None = None) -> list[list[Hit]]:
        return self.store.search_text(self.collection, _texts(self.store, self.collection, queries), depth)


class HybridRetriever(Retriever):
    """The collection's dense search (its configured nprobe or ef, probes encoded by its model)
    and its BM25 search, fused by Milvus as ``fusion`` says."""

    kind = "hybrid"

    def __init__(self, dense: CollectionRetriever, fusion: Fusion, name: str | None = None):
        self.dense = dense
        self.store = dense.store
        self.collection = dense.name
        self.fusion = fusion
        self.name = name or full_text_name(dense.name, self.kind)

    @property
    def setting(self) -> str:
        return f"{self.dense.setting}, {self.fusion.describe()}"

    def with_fusion(self, fusion: Fusion) -> "HybridRetriever":
        """The same collection fused another way (the sweep): its own name, so runs stay apart."""
        return HybridRetriever(self.dense, fusion, f"{self.name}[{fusion.describe()}]")

    def search_vectors(
        self, vectors: np.ndarray, texts: list[str], depth: int, value: int | None = None
    ) -> list[list[Hit]]:
        param = self.dense.index.search_param
        nprobe, ef = self.dense.params.nprobe, self.dense.params.ef
        if value is not None and param == "nprobe":
            nprobe = value
        elif value is not None and param == "ef":
            ef = value
        return self.store.hybrid_search(self.collection, vectors, texts, depth, self.fusion, nprobe, ef)

    def index_search(self, queries: Queries, depth: int, value: int | None = None) -> list[list[Hit]]:
        texts = _texts(self.store, self.collection, queries)
        return self.search_vectors(self.dense.query_vectors(queries), texts, depth, value)
