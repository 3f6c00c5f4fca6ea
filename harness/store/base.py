"""The seam every pipeline stores and searches through: a :class:`VectorStore`.

Pipelines depend on this protocol, on :class:`Capabilities` (what the backend can do,
instead of checks on the URI scattered over the code) and on the collection naming rule;
:mod:`harness.store.milvus` implements it on Milvus Lite and Milvus servers, and the tests
have an in-memory fake.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Iterator, NamedTuple, Protocol, Sequence, runtime_checkable

import numpy as np

from harness.errors import HarnessError
from harness.records import INDEX_TYPES, CollectionMeta, ExternalCollection, Fusion, Hit, IndexSpec, index_type

COLLECTION_PREFIX = "harness_"
# Characters of a line a collection stores: the text field holds 65,535 bytes and a character
# takes up to 4; a longer line is stored clipped (its vector is made from the whole line).
TEXT_CHARS = 65535 // 4
MAX_NLIST = 65536

# Measured on milvus-lite 3.2.2: it builds these (FAISS underneath) and refuses IVF_PQ.
LITE_INDEX_TYPES = ("FLAT", "IVF_FLAT", "IVF_SQ8", "HNSW", "HNSW_SQ")
# Milvus 2.5 servers; an older server that lacks one (2.3 has no HNSW_SQ) says so itself.
SERVER_INDEX_TYPES = tuple(INDEX_TYPES)


@dataclass(frozen=True)
class Capabilities:
    backend: str  # "milvus-lite" or "milvus-server"
    embedded: bool  # searches run in this process (Milvus Lite): latency is not a server's
    segment_rows: int | None  # an IVF index is trained per segment of at most this many rows
    prometheus: bool  # exposes server-side latency metrics
    index_types: tuple[str, ...] = SERVER_INDEX_TYPES  # vector index types it can build

    def check_index(self, name: str) -> str:
        """The index type's canonical name, or one error line when this backend lacks it."""
        known = index_type(name).name
        if known not in self.index_types:
            raise HarnessError(
                f"index type {known} is not available on {self.backend} (available: {', '.join(self.index_types)})"
            )
        return known


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    rows: int
    dimension: int | None
    index: IndexSpec | None
    meta: CollectionMeta | None
    external: bool = False  # described by a sidecar: the harness did not build it and never alters it

    @property
    def model_alias(self) -> str:
        return self.meta.model.alias if self.meta else "?"

    @property
    def index_type(self) -> str | None:
        return self.index.type if self.index else None

    @property
    def metric(self) -> str | None:
        return self.index.metric if self.index else None

    @property
    def nlist(self) -> int | None:
        return self.index.nlist if self.index else None


class RowBatch(NamedTuple):
    """Rows of a collection as read back: ids, vectors (None when not asked for), texts, groups."""

    ids: np.ndarray
    vectors: np.ndarray | None
    texts: list[str]
    groups: list[str]


@runtime_checkable
class VectorStore(Protocol):
    """The operations the pipelines need of a store. Loading a collection for search is the
    store's own business (an unindexed collection is refused in one line when read)."""

    uri: str
    capabilities: Capabilities

    def close(self) -> None: ...
    def harness_collections(self) -> list[str]: ...
    def has_collection(self, name: str) -> bool: ...
    def require_collection(self, name: str) -> CollectionMeta: ...
    def describe(self, name: str) -> CollectionInfo:
        """Live rows, dimension, index (None: not built yet), metadata, and whether the harness built it."""
        ...

    def attach(self, external: ExternalCollection) -> CollectionMeta:
        """Read a collection the harness did not build through the fields its sidecar names;
        from then on every write to it is refused."""
        ...

    def create_collection(self, name: str, dimension: int, meta: CollectionMeta) -> None: ...
    def drop_collection(self, name: str) -> None: ...
    def set_meta(self, name: str, meta: CollectionMeta) -> None: ...
    def insert(
        self,
        name: str,
        ids: Sequence[int],
        texts: Sequence[str],
        groups: Sequence[str],
        vectors: np.ndarray,
        doc_ids: Sequence[str] | None = None,
    ) -> None: ...
    def existing_ids(self, name: str, ids: Sequence[int]) -> set[int]: ...
    def remove_duplicates(self, name: str) -> int: ...
    def build_index(self, name: str, index: IndexSpec | int) -> None: ...
    def search(
        self, name: str, vectors: np.ndarray, top_k: int, nprobe: int | None = None, ef: int | None = None
    ) -> list[list[Hit]]: ...
    def has_full_text(self, name: str) -> bool: ...
    def search_text(self, name: str, texts: Sequence[str], top_k: int) -> list[list[Hit]]:
        """Milvus's own BM25 search over the collection's full-text side (smaller distance nearer)."""
        ...

    def hybrid_search(
        self,
        name: str,
        vectors: np.ndarray,
        texts: Sequence[str],
        top_k: int,
        fusion: Fusion,
        nprobe: int | None = None,
        ef: int | None = None,
        depth: int | None = None,
    ) -> list[list[Hit]]:
        """The dense and the full-text search fused by the store (smaller distance nearer)."""
        ...

    def rows(
        self, name: str, ids: Sequence[int] | None = None, vectors: bool = True, batch_size: int = 4096
    ) -> Iterator[RowBatch]:
        """Every row in batches, in the store's order; or the rows of ``ids``, in their order (a
        missing id fails)."""
        ...


def require_searchable(store: VectorStore, name: str) -> CollectionInfo:
    """The collection's description, refused in one line while it has no index to search."""
    info = store.describe(name)
    if info.index is None:
        if info.external:
            raise HarnessError(
                f"collection {name!r} has no index on its vector field: build one "
                "(the harness does not alter collections it did not build)"
            )
        raise HarnessError(f"collection {name!r} has no index yet: finish it with harness ingest")
    return info


def rows_of(store: VectorStore, name: str, ids: Sequence[int]) -> RowBatch:
    """The rows of these ids in one batch, in their order."""
    batches = list(store.rows(name, ids=[int(i) for i in ids]))
    if not batches:
        return RowBatch(np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32), [], [])
    vectors = [b.vectors for b in batches if b.vectors is not None]
    return RowBatch(
        np.concatenate([b.ids for b in batches]),
        np.concatenate(vectors) if vectors else None,
        [t for b in batches for t in b.texts],
        [g for b in batches for g in b.groups],
    )


def distinct_names(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Collection names in order with repeats dropped, and a note for each repeat."""
    seen = list(dict.fromkeys(names))
    repeated = [name for name in seen if list(names).count(name) > 1]
    return seen, [f"collection {name} was named more than once: it is used once" for name in repeated]


def incomplete_note(store: "VectorStore", name: str, meta: CollectionMeta) -> str | None:
    """Why a collection is not marked complete, in plain words (None when it is)."""
    if meta.complete:
        return None
    info = store.describe(name) if not store.capabilities.embedded else None
    if info is not None and info.index is not None:
        rows = info.rows
        if rows:
            # Milvus 2.3 does not keep altered collection properties across a restart: the
            # metadata read back can be an earlier write, while rows and index are there.
            return (
                f"collection {name} holds {rows} rows and a built index but is not marked complete: an ingest was "
                "interrupted, or the server restarted and forgot the last metadata update (Milvus 2.3 does): "
                "run harness ingest to finish or confirm it"
            )
    return f"collection {name} is incomplete (ingest was interrupted): re-run harness ingest"


def stream_vectors(store: VectorStore, name: str, batch_size: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every (ids, vectors) batch of a collection, for exact search without holding the matrix."""
    for batch in store.rows(name, vectors=True, batch_size=batch_size):
        if batch.vectors is not None:
            yield batch.ids, batch.vectors


def default_nlist(rows: int, segment_rows: int | None = None) -> int:
    """4 * sqrt(rows), with at least 39 training points per list (FAISS's minimum).

    Milvus trains an IVF index per segment, so on a store whose segments hold at most
    ``segment_rows`` rows the 39-point rule applies to a segment, not to the collection.
    """
    if rows <= 0:
        return 1
    trainable = min(rows, segment_rows) if segment_rows else rows
    return max(1, min(round(4 * math.sqrt(rows)), trainable // 39, MAX_NLIST))


def pq_subquantizers(dimension: int) -> int:
    """IVF_PQ's m: a divisor of the dimension, about one sub-vector per 4 dimensions."""
    for m in range(max(1, dimension // 4), 0, -1):
        if dimension % m == 0:
            return m
    return 1


def index_spec(
    kind: str, rows: int, dimension: int, segment_rows: int | None = None, nlist: int | None = None, metric: str = "L2"
) -> IndexSpec:
    """The index a collection of ``rows`` vectors is built with: the type's defaults, and
    for IVF types ``nlist`` (given, else :func:`default_nlist`)."""
    known = index_type(kind)
    if nlist is not None and not known.lists:
        raise HarnessError(f"--nlist applies to IVF index types, not {known.name}")
    params = dict(known.defaults)
    if known.name == "IVF_PQ":
        params["m"] = pq_subquantizers(dimension)
    lists = (nlist or default_nlist(rows, segment_rows)) if known.lists else None
    return IndexSpec(known.name, metric, lists, params)


def sanitize_name(name: str, fallback: str = "model") -> str:
    """A Milvus collection name part: letters, digits and underscores.

    Case and the separators ``- . / : space`` and those of a variant (``@ , =``) map to
    "_" (``all-MiniLM-L6-v2@onnx-qint8,dim=256`` -> ``all_minilm_l6_v2_onnx_qint8_dim_256``);
    any other character (a letter outside ASCII, say) would be lost, so a short hash of the
    original is appended: "日本" and "中文" stay apart. Names that still meet ("a b", "a/b")
    are told apart by the prefix each collection records.
    """
    cleaned = re.sub(r"[^0-9a-zA-Z_]+", "_", name).strip("_").lower()
    if re.search(r"[^0-9A-Za-z_\-./: @,=]", name):
        digest = hashlib.blake2b(name.encode("utf-8"), digest_size=3).hexdigest()
        cleaned = f"{cleaned}_{digest}" if cleaned else f"{fallback[0]}{digest}"
    return cleaned or fallback


def collection_name(model_alias: str, prefix: str = "") -> str:
    parts = [COLLECTION_PREFIX.rstrip("_")]
    if prefix:
        parts.append(sanitize_name(prefix, "prefix"))
    parts.append(sanitize_name(model_alias))
    return "_".join(parts)[:255]
