"""Vector stores: the protocol pipelines use, and its Milvus (Lite or server) implementation.
pymilvus is imported only when a store is opened."""

from harness.store.base import (
    COLLECTION_PREFIX,
    TEXT_CHARS,
    Capabilities,
    CollectionInfo,
    RowBatch,
    VectorStore,
    collection_name,
    default_nlist,
    distinct_names,
    incomplete_note,
    index_spec,
    require_searchable,
    rows_of,
    sanitize_name,
    stream_vectors,
)
from harness.store.connection import DEFAULT_URI, is_lite_uri, redact_uri
from harness.store.milvus import MilvusStore, Store, connect

__all__ = [
    "COLLECTION_PREFIX",
    "TEXT_CHARS",
    "Capabilities",
    "CollectionInfo",
    "RowBatch",
    "DEFAULT_URI",
    "MilvusStore",
    "Store",
    "VectorStore",
    "collection_name",
    "connect",
    "default_nlist",
    "distinct_names",
    "incomplete_note",
    "index_spec",
    "is_lite_uri",
    "redact_uri",
    "require_searchable",
    "rows_of",
    "sanitize_name",
    "stream_vectors",
]
