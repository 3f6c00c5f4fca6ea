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
from typing import Iterator, Protocol, Sequence, runtime_checkable

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
    def index_spec(self, name: str) -> IndexSpec | None: ...
    def has_index(self, name: str) -> bool: ...
    def describe(self, name: str) -> CollectionInfo: ...
    def existing_ids(self, name: str, ids: Sequence[int]) -> set[int]: ...
    def insert(
        self,
        name: str,
        ids: Sequence[int],
        texts: Sequence[str],
        groups: Sequence[str],
        vectors: np.ndarray,
        doc_ids: Sequence[str] | None = None,
    ) -> None: ...
    def remove_duplicates(self, name: str) -> int: ...
    def build_index(self, name: str, index: IndexSpec | int) -> None: ...
    def ensure_loaded(self, name: str) -> None: ...
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

    def sample_rows(self, name: str, limit: int) -> tuple[list[int], list[str], np.ndarray]: ...
    def rows_by_ids(self, name: str, ids: Sequence[int]) -> tuple[np.ndarray, list[str], list[str]]: ...
    def iter_rows(
        self, name: str, vectors: bool = True, batch_size: int = 4096
    ) -> Iterator[tuple[np.ndarray, np.ndarray | None, list[str], list[str]]]: ...


def distinct_names(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Collection names in order with repeats dropped, and a note for each repeat."""
    seen = list(dict.fromkeys(names))
    repeated = [name for name in seen if list(names).count(name) > 1]
    return seen, [f"collection {name} was named more than once: it is used once" for name in repeated]


def incomplete_note(store: "VectorStore", name: str, meta: CollectionMeta) -> str | None:
    """Why a collection is not marked complete, in plain words (None when it is)."""
    if meta.complete:
        return None
    if not store.capabilities.embedded and store.has_index(name):
        rows = store.row_count(name)
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
    for ids, vectors, _, _ in store.iter_rows(name, vectors=True, batch_size=batch_size):
        if vectors is not None:
            yield ids, vectors


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
