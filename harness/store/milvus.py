"""The Milvus :class:`~harness.store.base.VectorStore`: one collection per model, on Milvus
Lite or a Milvus server.

Order that is right on both (see the Lite notes in the README): create the collection
without an index, insert, flush, create the index (a server builds it; we wait), load,
search. Each collection carries the harness's metadata as a collection property, so a
later ``harness query`` needs no other state. Collections the harness did not build are read
through the field names of their sidecar (:meth:`MilvusStore.attach`) and never written.

The index operations are in :mod:`harness.store.milvus_index`, the row operations in
:mod:`harness.store.milvus_rows`, what both share in :mod:`harness.store.milvus_base`.
"""

from __future__ import annotations

import os

from harness.errors import StoreError
from harness.records import DOC_ID_MAX, CollectionMeta, ExternalCollection, IndexSpec
from harness.store.base import CollectionInfo
from harness.store.connection import (
    DEFAULT_URI,
    capabilities,
    open_client,
    redact_uri,
    release_lite,
)
from harness.store.external import check_fields
from harness.store.milvus_base import (
    BM25_FUNCTION,
    DOC_ID_FIELD,
    FULL_TEXT_NEEDS,
    GROUP_MAX,
    META_KEY,
    SPARSE_FIELD,
    TEXT_MAX,
    VECTOR_FIELD,
)
from harness.store.milvus_index import MilvusIndex
from harness.store.milvus_rows import MilvusRows


class MilvusStore(MilvusIndex, MilvusRows):
    """A connection to one Milvus (Lite file or server) with the harness's operations."""

    def __init__(self, uri: str = DEFAULT_URI, token: str = "", timeout: float = 10.0, retries: int = 3):
        self.uri = uri
        self.capabilities = capabilities(uri)
        self.client = open_client(uri, token, timeout, retries)
        # Collections the harness did not build, read through the fields their sidecars name.
        self.external: dict[str, tuple[ExternalCollection, CollectionMeta]] = {}
        self._rows: dict[str, int] = {}  # row counts read for sizing search batches
        self._doc_ids: dict[str, bool] = {}  # collection -> it has the doc_id field
        self._loaded: set[str] = set()
        self._full_text: dict[str, bool] = {}  # collection -> it has a full-text side

    @property
    def segment_rows(self) -> int | None:
        return self.capabilities.segment_rows

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:
            pass
        if self.is_lite:
            release_lite(self.uri)

    def __enter__(self) -> "MilvusStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- collections and metadata --------------------------------------------------------

    def has_collection(self, name: str) -> bool:
        with self._errors("has_collection"):
            return self.client.has_collection(name)

    def attach(self, external: ExternalCollection) -> CollectionMeta:
        name, fields = external.collection, external.fields
        named = f"named by {external.sidecar}" if external.sidecar else "named by a sidecar"
        if not self.has_collection(name):
            raise StoreError(f"no collection {name!r} in {redact_uri(self.uri)} ({named})")
        if self.collection_meta(name) is not None:
            raise StoreError(f"collection {name!r} was built by harness: use it without a sidecar ({named})")
        with self._errors(f"describe collection {name}"):
            schema = {f["name"]: f for f in self.client.describe_collection(name)["fields"]}
        dimension = check_fields(name, schema, fields, named)
        index = self._index_info(name, fields.vector) or {}
        meta = CollectionMeta(
            model=external.model_record(dimension),
            index=IndexSpec(str(index.get("index_type") or ""), str(index.get("metric_type") or "L2")),
            complete=True,
        )
        self.external[name] = (external, meta)
        return meta

    def collection_meta(self, name: str) -> CollectionMeta | None:
        if name in self.external:
            return self.external[name][1]
        with self._errors(f"describe collection {name}"):
            described = self.client.describe_collection(name)
        return CollectionMeta.from_json((described.get("properties") or {}).get(META_KEY))

    def set_meta(self, name: str, meta: CollectionMeta) -> None:
        self._writable(name)
        with self._errors(f"write metadata of {name}"):
            self.client.alter_collection_properties(name, properties={META_KEY: meta.to_json()})

    def harness_collections(self) -> list[str]:
        """Collections that carry harness metadata, sorted by name."""
        with self._errors("list collections"):
            names = self.client.list_collections()
        return sorted(n for n in names if n not in self.external and self.collection_meta(n) is not None)

    def require_collection(self, name: str) -> CollectionMeta:
        if not self.has_collection(name):
            available = ", ".join(self.harness_collections()) or "none; run harness ingest first"
            raise StoreError(f"no collection {name!r} in {redact_uri(self.uri)} (harness collections: {available})")
        meta = self.collection_meta(name)
        if meta is None:
            raise StoreError(
                f"collection {name!r} was not built by harness (it has no harness metadata): "
                "describe it with a sidecar file (--external FILE) to read it"
            )
        return meta

    def create_collection(self, name: str, dimension: int, meta: CollectionMeta) -> None:
        """With ``meta.full_text``, also the full-text side: the text field analysed and a BM25
        function into the sparse field. A server without full-text search (Milvus 2.3, 2.4)
        refuses it in one line, and no collection is left."""
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        self._writable(name)

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        text_options = {"enable_analyzer": True} if meta.full_text else {}
        schema.add_field("text", DataType.VARCHAR, max_length=TEXT_MAX, **text_options)
        schema.add_field("group", DataType.VARCHAR, max_length=GROUP_MAX)
        schema.add_field(DOC_ID_FIELD, DataType.VARCHAR, max_length=DOC_ID_MAX)
        schema.add_field(VECTOR_FIELD, DataType.FLOAT_VECTOR, dim=int(dimension))
        if meta.full_text:
            schema.add_field(SPARSE_FIELD, DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(
                Function(
                    name=BM25_FUNCTION,
                    function_type=FunctionType.BM25,
                    input_field_names=["text"],
                    output_field_names=[SPARSE_FIELD],
                )
            )
        self._doc_ids.pop(name, None)
        self._full_text.pop(name, None)
        if not meta.full_text:
            with self._errors(f"create collection {name}"):
                self.client.create_collection(name, schema=schema, properties={META_KEY: meta.to_json()})
            return
        try:
            with self._errors(f"create collection {name}"):
                self.client.create_collection(name, schema=schema, properties={META_KEY: meta.to_json()})
            refused = not self._has_bm25_function(name)
        except StoreError as exc:
            refused, reason = True, str(exc)
        else:
            reason = "the server kept no BM25 function"
        if refused:
            self._drop_quietly(name)
            raise StoreError(f"{FULL_TEXT_NEEDS}: leave out --full-text ({reason})")

    def _has_bm25_function(self, name: str) -> bool:
        """A server too old for full-text search may keep the schema without its function."""
        with self._errors(f"describe collection {name}"):
            described = self.client.describe_collection(name)
        functions = described.get("functions") or []
        fields = {f["name"] for f in described.get("fields") or []}
        return SPARSE_FIELD in fields and any(f.get("name") == BM25_FUNCTION for f in functions)

    def _drop_quietly(self, name: str) -> None:
        try:
            if self.client.has_collection(name):
                self.client.drop_collection(name)
        except Exception:
            pass
        self._full_text.pop(name, None)

    def drop_collection(self, name: str) -> None:
        self._loaded.discard(name)
        self._writable(name)
        self._doc_ids.pop(name, None)
        self._full_text.pop(name, None)
        with self._errors(f"drop collection {name}"):
            self.client.drop_collection(name)

    def row_count(self, name: str) -> int:
        """Live rows, as count(*) sees them: a server's collection statistics also count
        deleted rows and the old versions of upserted ones until compaction."""
        with self._errors(f"count rows of {name}"):
            if name not in self.external:  # a flush is a write the harness leaves to the owner
                self.client.flush(name)
            if not self.is_lite and not self._loaded_or_load(name):
                return int(self.client.get_collection_stats(name).get("row_count", 0))
            rows = self.client.query(name, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def dimension(self, name: str) -> int | None:
        with self._errors(f"describe collection {name}"):
            fields = self.client.describe_collection(name)["fields"]
        for field in fields:
            if field["name"] == self.fields(name).vector:
                return int(field["params"]["dim"])
        return None

    def describe(self, name: str) -> CollectionInfo:
        """Live rows (as count(*) sees them), dimension, the index as the server describes it,
        the harness's metadata, and whether a sidecar describes it."""
        return CollectionInfo(
            name=name,
            rows=self.row_count(name),
            dimension=self.dimension(name),
            index=self.index_spec(name),
            meta=self.collection_meta(name),
            external=name in self.external,
        )

    # --- rows ------------------------------------------------------------------------------


# The name every caller used before the VectorStore protocol; kept for notebooks.
Store = MilvusStore


def connect(uri: str | None = None, token: str | None = None, timeout: float = 10.0) -> MilvusStore:
    """Connect with environment fallbacks: MILVUS_URI and MILVUS_TOKEN."""
    return MilvusStore(
        uri or os.environ.get("MILVUS_URI") or DEFAULT_URI, token or os.environ.get("MILVUS_TOKEN", ""), timeout
    )
