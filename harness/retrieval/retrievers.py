"""Retrievers: what a run searches. A collection's dense side (its index search, and exact
search over the same stored vectors) and the baselines (keyword search, a hashing encoder).

A retriever knows how to search; what has been searched is kept by the
:class:`~harness.retrieval.book.RunBook`, which plans every exact search of a collection
into one scan of its stored vectors.
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import numpy as np

from harness.baselines import Baseline
from harness.metrics.retrieval import exact_knn_search
from harness.records import CollectionMeta, Hit, IndexSpec, SearchParams, search_setting
from harness.retrieval.queries import Queries
from harness.store import VectorStore, rows_of

# Distances of one scan batch are queries x rows float64: rows per batch are sized so that
# they, their ordering and the kept candidates stay near this many bytes.
SCAN_BYTES = 96 << 20
SCAN_ROWS = (256, 4096)


class Retriever:
    """One thing a query can be put to. ``exact_differs``: whether an exact search is another
    search than the index search (a collection's); a baseline has only one."""

    name: str
    kind: str
    exact_differs: bool = False

    @property
    def setting(self) -> str:
        """The search setting in words (``nprobe=8``, ``ef=default``, ``exhaustive``, ``exact``)."""
        return "exact"

    def index_search(self, queries: Queries, depth: int, value: int | None = None) -> list[list[Hit]]:
        raise NotImplementedError

    def exact_search(self, query_sets: Sequence[Queries], depth: int) -> list[list[list[Hit]]]:
        """Each query set's exact hits; one scan of the stored vectors for all of them."""
        return [self.index_search(queries, depth) for queries in query_sets]


class CollectionRetriever(Retriever):
    """A collection's dense side: its index search with the configured search parameter, and
    exact L2 search streamed over the same stored vectors. Probe texts are encoded by
    ``encode`` (the collection's model, as queries; or another model's vectors, mapped)."""

    kind = "collection"
    exact_differs = True

    def __init__(
        self,
        store: VectorStore,
        name: str,
        meta: CollectionMeta,
        params: SearchParams,
        encode: Callable[[list[str]], np.ndarray],
        index: IndexSpec | None = None,
    ):
        self.store = store
        self.name = name
        self.meta = meta
        self.index = index or meta.index
        self.params = params.for_index(self.index)
        self.encode = encode
        self._vectors: dict[str, np.ndarray] = {}  # query set key -> its query vectors

    @property
    def setting(self) -> str:
        return search_setting(self.index, self.params.nprobe, self.params.ef)

    @property
    def configured(self) -> int | None:
        """The configured value of the index's search parameter (None: the server's default)."""
        return {"nprobe": self.params.nprobe, "ef": self.params.ef}.get(self.index.search_param or "")

    def query_vectors(self, queries: Queries) -> np.ndarray:
        """Texts encoded once per query set; rows as stored."""
        if queries.key not in self._vectors:
            if queries.kind == "texts":
                self._vectors[queries.key] = np.asarray(self.encode(list(queries.texts)), dtype=np.float32)
            else:
                stored = rows_of(self.store, self.name, list(queries.ids)).vectors
                assert stored is not None
                self._vectors[queries.key] = stored
        return self._vectors[queries.key]

    def forget_vectors(self) -> None:
        self._vectors.clear()

    def search_vectors(self, vectors: np.ndarray, depth: int, value: int | None = None) -> list[list[Hit]]:
        """Index search; ``value`` of the index's search parameter, else the configured one."""
        param = self.index.search_param
        nprobe, ef = self.params.nprobe, self.params.ef
        if value is not None and param == "nprobe":
            nprobe = value
        elif value is not None and param == "ef":
            ef = value
        return self.store.search(self.name, vectors, depth, nprobe, ef=ef)

    def index_search(self, queries: Queries, depth: int, value: int | None = None) -> list[list[Hit]]:
        return self.search_vectors(self.query_vectors(queries), depth, value)

    def exact_search(self, query_sets: Sequence[Queries], depth: int) -> list[list[list[Hit]]]:
        matrices = [self.query_vectors(q) for q in query_sets]
        stacked = np.concatenate(matrices) if matrices else np.zeros((0, 0), dtype=np.float32)
        groups: dict[int, str] = {}
        found, distances = exact_knn_search(stacked, self._scan(len(stacked), groups), depth)
        hits = [
            [Hit(int(i), float(d), "", groups.get(int(i), "")) for i, d in zip(row_i, row_d)]
            for row_i, row_d in zip(found.tolist(), distances.tolist())
        ]
        out, start = [], 0
        for matrix in matrices:
            out.append(hits[start : start + len(matrix)])
            start += len(matrix)
        return out

    def _scan(self, queries: int, groups: dict[int, str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every (ids, vectors) batch of the collection, noting each row's group on the way
        (exact hits carry it, as index hits do)."""
        rows = int(min(max(SCAN_BYTES // max(1, 24 * queries), SCAN_ROWS[0]), SCAN_ROWS[1]))
        for batch in self.store.rows(self.name, vectors=True, batch_size=rows):
            if batch.vectors is None:
                continue
            groups.update(zip(batch.ids.tolist(), batch.groups))
            yield batch.ids, batch.vectors


class BaselineRetriever(Retriever):
    """A baseline over the collections' corpus: keyword search (texts; a stored row is put as
    its text) or the hashing encoder with exact search in memory."""

    def __init__(self, baseline: Baseline):
        self.baseline = baseline
        self.name = baseline.name
        self.kind = baseline.kind

    def index_search(self, queries: Queries, depth: int, value: int | None = None) -> list[list[Hit]]:
        if queries.kind == "texts":
            return self.baseline.search_texts(list(queries.texts), depth)
        return self.baseline.search_rows(list(queries.ids), depth)
