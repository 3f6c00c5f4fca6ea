"""The seam every pipeline stores and searches through: a :class:`VectorStore`.

Pipelines depend on this protocol, on :class:`Capabilities` (what the backend can do,
instead of checks on the URI scattered over the code) and on the collection naming rule;
:mod:`harness.store.milvus` implements it on Milvus Lite and Milvus servers, and the tests
have an in-memory fake.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterator, Protocol, Sequence, runtime_checkable

import numpy as np

from harness.records import CollectionMeta, ExternalCollection, Hit, IndexSpec

COLLECTION_PREFIX = "harness_"
MAX_NLIST = 65536


@dataclass(frozen=True)
class Capabilities:
    backend: str  # "milvus-lite" or "milvus-server"
    embedded: bool  # searches run in this process (Milvus Lite): latency is not a server's
    segment_rows: int | None  # an IVF index is trained per segment of at most this many rows
    prometheus: bool  # exposes server-side latency metrics


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    rows: int
    dimension: int | None
    index_type: str | None
    metric: str | None
    nlist: int | None
    meta: CollectionMeta | None

    @property
    def model_alias(self) -> str:
        return self.meta.model.alias if self.meta else "?"


@runtime_checkable
class VectorStore(Protocol):
    uri: str
    capabilities: Capabilities

    def close(self) -> None: ...
    def has_collection(self, name: str) -> bool: ...
    def harness_collections(self) -> list[str]: ...
    def collection_meta(self, name: str) -> CollectionMeta | None: ...
    def require_collection(self, name: str) -> CollectionMeta: ...
    def attach(self, external: ExternalCollection) -> CollectionMeta:
        """Read a collection the harness did not build through the fields its sidecar names;
        from then on every write to it is refused."""
        ...

    def is_external(self, name: str) -> bool: ...
    def set_meta(self, name: str, meta: CollectionMeta) -> None: ...
    def create_collection(self, name: str, dimension: int, meta: CollectionMeta) -> None: ...
    def drop_collection(self, name: str) -> None: ...
    def row_count(self, name: str) -> int: ...
    def dimension(self, name: str) -> int | None: ...
    def index_settings(self, name: str) -> tuple[str | None, str | None, int | None]: ...
    def has_index(self, name: str) -> bool: ...
    def describe(self, name: str) -> CollectionInfo: ...
    def existing_ids(self, name: str, ids: Sequence[int]) -> set[int]: ...
    def insert(
        self, name: str, ids: Sequence[int], texts: Sequence[str], groups: Sequence[str], vectors: np.ndarray
    ) -> None: ...
    def build_index(self, name: str, index: IndexSpec | int) -> None: ...
    def ensure_loaded(self, name: str) -> None: ...
    def search(self, name: str, vectors: np.ndarray, top_k: int, nprobe: int | None = None) -> list[list[Hit]]: ...
    def sample_rows(self, name: str, limit: int) -> tuple[list[int], list[str], np.ndarray]: ...
    def rows_by_ids(self, name: str, ids: Sequence[int]) -> tuple[np.ndarray, list[str], list[str]]: ...
    def iter_rows(
        self, name: str, vectors: bool = True, batch_size: int = 4096
    ) -> Iterator[tuple[np.ndarray, np.ndarray | None, list[str], list[str]]]: ...


def default_nlist(rows: int, segment_rows: int | None = None) -> int:
    """4 * sqrt(rows), with at least 39 training points per list (FAISS's minimum).

    Milvus trains an IVF index per segment, so on a store whose segments hold at most
    ``segment_rows`` rows the 39-point rule applies to a segment, not to the collection.
    """
    if rows <= 0:
        return 1
    trainable = min(rows, segment_rows) if segment_rows else rows
    return max(1, min(round(4 * math.sqrt(rows)), trainable // 39, MAX_NLIST))


def sanitize_name(name: str) -> str:
    """A Milvus collection name part: letters, digits and underscores."""
    cleaned = re.sub(r"[^0-9a-zA-Z_]+", "_", name).strip("_").lower()
    return cleaned or "model"


def collection_name(model_alias: str, prefix: str = "") -> str:
    parts = [COLLECTION_PREFIX.rstrip("_")]
    if prefix:
        parts.append(sanitize_name(prefix))
    parts.append(sanitize_name(model_alias))
    return "_".join(parts)[:255]
