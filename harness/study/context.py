"""What the study's measures read: a context per collection, and one per baseline.

A :class:`CollectionContext` holds one collection's metadata, its model (loaded once, on
first use), and its rows read lazily: ids and groups once, vectors only for sampled ids or
streamed in batches, so no measure holds a collection's whole matrix. It searches with the
configured index setting or exactly (over the same stored vectors), so every figure can be
given both ways. A :class:`BaselineContext` offers the same searches over a baseline. A
:class:`ModelContext` is a model compared without any store: its rows are texts it
encodes on demand, and it offers no search.
"""

from __future__ import annotations

import time
from functools import cached_property
from typing import Callable, Iterator, Sequence

import numpy as np

from harness.baselines import Baseline
from harness.errors import HarnessError
from harness.models import Embedder, ModelRef, load_model, ref_for_record, resolve_model
from harness.records import CollectionMeta, Hit, IndexSpec, ModelRecord, SearchParams, text_id
from harness.retrieval import BaselineRetriever, CollectionRetriever, RunBook
from harness.store import CollectionInfo, VectorStore, require_searchable, rows_of, stream_vectors
from harness.study.base import Context, StudySettings

EmbedderLoader = Callable[[ModelRef], Embedder]


class CollectionContext(Context):
    def __init__(
        self,
        store: VectorStore,
        name: str,
        meta: CollectionMeta,
        settings: StudySettings,
        load: EmbedderLoader,
        book: RunBook | None = None,
    ):
        super().__init__(book)
        self.store = store
        self.name = name
        self.meta = meta
        self.settings = settings
        self.load = load
        self.ref = ref_for_record(meta.model)
        self._embedder: Embedder | None = None
        self.query_encodes: dict[tuple[str, ...], tuple[float, int]] = {}  # texts -> (seconds, from the cache)

    @cached_property
    def info(self) -> CollectionInfo:
        return require_searchable(self.store, self.name)

    @property
    def alias(self) -> str:
        return self.meta.model.alias

    @property
    def index(self) -> IndexSpec:
        """The index as the server describes it (the recorded one if it cannot say)."""
        return self.info.index or self.meta.index

    @cached_property
    def retriever(self) -> CollectionRetriever:  # type: ignore[override]
        params = SearchParams(self.settings.top_k, self.settings.nprobe, ef=self.settings.ef)
        return CollectionRetriever(self.store, self.name, self.meta, params, self._encode_queries, self.index)

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        """Texts encoded as queries, timed; the time and the vectors read from the embedding
        cache are kept for the latency table (a cache read is not model time)."""
        embedder = self.embedder
        stats = getattr(getattr(embedder, "queries", embedder), "stats", None)
        hits_before = stats.hits if stats is not None else 0
        started = time.perf_counter()
        vectors = self.encode(texts, role="query")
        seconds = time.perf_counter() - started
        self.query_encodes[tuple(texts)] = (seconds, (stats.hits - hits_before) if stats is not None else 0)
        return vectors

    @property
    def configured(self) -> int | None:
        """The value of the index's search parameter the study uses (None: the server's default)."""
        return self.retriever.configured

    @property
    def setting(self) -> str:
        return self.retriever.setting

    # --- the model ----------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The collection's model, loaded on first use and kept for the other measures."""
        if self._embedder is None:
            embedder = self.load(self.ref)
            dimension = self.info.dimension
            if dimension != embedder.dimension:
                embedder.close()
                raise HarnessError(
                    f"model {self.ref.spec} makes {embedder.dimension}-dimensional vectors, "
                    f"but collection {self.name} holds {dimension}-dimensional vectors"
                )
            self._embedder = embedder
        return self._embedder

    @property
    def embedder_loaded(self) -> bool:
        return self._embedder is not None

    def load_again(self) -> Embedder:
        """A fresh load of the model, for timing loads; the caller closes it."""
        return self.load(self.ref)

    def close(self) -> None:
        if "retriever" in self.__dict__:
            self.retriever.forget_vectors()
        if self._embedder is not None:
            self._embedder.close()
            self._embedder = None

    # --- rows ------------------------------------------------------------------------------------

    @cached_property
    def _ids_and_groups(self) -> tuple[np.ndarray, list[str]]:
        self.info  # noqa: B018  refused in one line while it has no index
        ids: list[np.ndarray] = []
        groups: list[str] = []
        for batch in self.store.rows(self.name, vectors=False):
            ids.append(batch.ids)
            groups.extend(batch.groups)
        if not ids:
            raise HarnessError(f"collection {self.name} is empty")
        return np.concatenate(ids), groups

    @property
    def ids(self) -> np.ndarray:
        """Every row id, in the store's order."""
        return self._ids_and_groups[0]

    @property
    def groups(self) -> list[str]:
        return self._ids_and_groups[1]

    def vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        found = rows_of(self.store, self.name, [int(i) for i in ids]).vectors
        assert found is not None
        return found

    def texts(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        return rows_of(self.store, self.name, [int(i) for i in ids]).texts

    def stream(self, batch_size: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every (ids, vectors) batch, for exact search without holding the matrix."""
        return stream_vectors(self.store, self.name, batch_size)

    # --- search ------------------------------------------------------------------------------------

    def search_hits(self, vectors: np.ndarray, k: int, value: int | None = None) -> list[list[Hit]]:
        """Index search of these vectors, not kept in the run book (timed searches, sweeps);
        ``value`` of the index's search parameter (nprobe or ef), else the configured one."""
        return self.retriever.search_vectors(vectors, k, value)

    def search_ids(self, vectors: np.ndarray, k: int, value: int | None = None) -> list[list[int]]:
        return [[h.id for h in hits] for hits in self.search_hits(vectors, k, value)]


class BaselineContext(Context):
    """A baseline over the rows of the collections' corpus; its searches are exact."""

    baseline = True

    def __init__(self, baseline: Baseline, settings: StudySettings, book: RunBook | None = None):
        super().__init__(book)
        self.source = baseline
        self.retriever = BaselineRetriever(baseline)
        self.name = baseline.name
        self.kind = baseline.kind
        self.settings = settings
        self.ref = resolve_model("hashing") if baseline.has_vectors else None

    @property
    def alias(self) -> str:
        return self.name

    @property
    def ids(self) -> np.ndarray:
        return self.source.rows.ids

    @property
    def groups(self) -> list[str]:
        return self.source.rows.groups

    @property
    def has_vectors(self) -> bool:
        return self.source.has_vectors

    @property
    def embedder(self) -> Embedder:
        if self.source.embedder is None:
            raise HarnessError(f"{self.name} has no model")
        return self.source.embedder

    def load_again(self) -> Embedder:
        if self.ref is None:
            raise HarnessError(f"{self.name} has no model")
        return load_model(self.ref)

    def vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        return self.source.vectors(ids)

    def texts(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        return [self.source.rows.texts[self.source.position[int(i)]] for i in ids]

    def stream(self, batch_size: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return self.source.stream(batch_size)


class ModelContext(Context):
    """A model compared without a collection (the notebook workflow): its rows are the corpus
    lines given, else the sentences of the pairs, and vectors are encoded when a measure asks.
    No search: the measures that search or read stored vectors do not apply to it."""

    def __init__(
        self, ref: ModelRef, texts: Sequence[str], settings: StudySettings, load: EmbedderLoader, kind: str = "model"
    ):
        super().__init__()
        self.ref = ref
        self.kind = kind
        self.baseline = kind != "model"
        self.name = f"baseline:{kind}" if self.baseline else ref.alias
        self.settings = settings
        self.load = load
        self._texts = list(dict.fromkeys(texts))
        self._ids = np.array([text_id(t) for t in self._texts], dtype=np.int64)
        self._position = {int(i): n for n, i in enumerate(self._ids.tolist())}
        self._embedder: Embedder | None = None
        self.record: ModelRecord | None = None  # what was loaded, for the manifest

    @property
    def alias(self) -> str:
        return self.name if self.baseline else self.ref.alias

    @property
    def ids(self) -> np.ndarray:
        return self._ids

    @property
    def groups(self) -> list[str]:
        return [""] * len(self._texts)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self.load(self.ref)
            self.record = self._embedder.describe()
        return self._embedder

    def load_again(self) -> Embedder:
        return self.load(self.ref)

    def texts(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        return [self._texts[self._position[int(i)]] for i in ids]

    def vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        return self.encode(self.texts(ids))

    def stream(self, batch_size: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        raise HarnessError(f"{self.name} is a model without a collection: it cannot be searched")

    def close(self) -> None:
        if self._embedder is not None:
            self._embedder.close()
            self._embedder = None
