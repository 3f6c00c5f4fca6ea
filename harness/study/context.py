"""One collection as the study's measures see it: its metadata, its model (loaded once, on
first use), and its rows read lazily: ids and groups once, vectors only for sampled ids
or streamed in batches, so no measure holds a collection's whole matrix."""

from __future__ import annotations

from functools import cached_property
from typing import Callable, Iterator, Sequence

import numpy as np

from harness.errors import HarnessError
from harness.models import Embedder, ModelRef, ref_for_record
from harness.records import CollectionMeta
from harness.store import CollectionInfo, VectorStore
from harness.study.base import StudySettings, sample_positions

EmbedderLoader = Callable[[ModelRef], Embedder]


class CollectionContext:
    def __init__(
        self, store: VectorStore, name: str, meta: CollectionMeta, settings: StudySettings, load: EmbedderLoader
    ):
        self.store = store
        self.name = name
        self.meta = meta
        self.settings = settings
        self.load = load
        self.ref = ref_for_record(meta.model)
        self._embedder: Embedder | None = None

    @cached_property
    def info(self) -> CollectionInfo:
        self.store.ensure_loaded(self.name)
        return self.store.describe(self.name)

    @property
    def alias(self) -> str:
        return self.meta.model.alias

    # --- the model ----------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The collection's model, loaded on first use and kept for the other measures."""
        if self._embedder is None:
            embedder = self.load(self.ref)
            dimension = self.store.dimension(self.name)
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

    def encode(self, texts: Sequence[str], role: str = "document") -> np.ndarray:
        return self.embedder.encode(list(texts), self.settings.batch_size, role=role)  # type: ignore[arg-type]

    def close(self) -> None:
        if self._embedder is not None:
            self._embedder.close()
            self._embedder = None

    # --- rows ------------------------------------------------------------------------------------

    @cached_property
    def _ids_and_groups(self) -> tuple[np.ndarray, list[str]]:
        self.store.ensure_loaded(self.name)
        ids: list[np.ndarray] = []
        groups: list[str] = []
        for batch_ids, _, _, batch_groups in self.store.iter_rows(self.name, vectors=False):
            ids.append(batch_ids)
            groups.extend(batch_groups)
        if not ids:
            raise HarnessError(f"collection {self.name} is empty")
        return np.concatenate(ids), groups

    @property
    def ids(self) -> np.ndarray:
        """Every row id, in the store's order (the order samples are drawn in)."""
        return self._ids_and_groups[0]

    @property
    def groups(self) -> list[str]:
        return self._ids_and_groups[1]

    def sample(self, size: int) -> np.ndarray:
        """Positions (into :attr:`ids`) of the seeded sample used by every measure."""
        return sample_positions(len(self.ids), size, self.settings.seed)

    def vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        return self.store.rows_by_ids(self.name, [int(i) for i in ids])[0]

    def texts(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        return self.store.rows_by_ids(self.name, [int(i) for i in ids])[1]

    def stream(self, batch_size: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every (ids, vectors) batch, for exact search without holding the matrix."""
        for ids, vectors, _, _ in self.store.iter_rows(self.name, vectors=True, batch_size=batch_size):
            if vectors is not None:
                yield ids, vectors

    def search_ids(self, vectors: np.ndarray, k: int, nprobe: int | None, batch: int = 256) -> list[list[int]]:
        out: list[list[int]] = []
        for start in range(0, len(vectors), batch):
            out.extend(
                [h.id for h in hits] for hits in self.store.search(self.name, vectors[start : start + batch], k, nprobe)
            )
        return out

    def search_hits(self, vectors: np.ndarray, k: int, nprobe: int | None, batch: int = 256) -> list[list]:
        out: list[list] = []
        for start in range(0, len(vectors), batch):
            out.extend(self.store.search(self.name, vectors[start : start + batch], k, nprobe))
        return out
