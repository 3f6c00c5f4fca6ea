"""What the parts of the Milvus store share: the fields of a harness collection and their
limits, and the small helpers every operation goes through (errors, field names, the
write guard of collections the harness did not build)."""

from __future__ import annotations

from typing import Any

from harness.errors import StoreError
from harness.records import CollectionMeta, ExternalCollection, FieldNames
from harness.store.base import Capabilities
from harness.store.connection import milvus_errors

META_KEY = "harness.meta"
HARNESS_FIELDS = FieldNames()
VECTOR_FIELD = HARNESS_FIELDS.vector
DOC_ID_FIELD = "doc_id"  # the corpus's own id as written (schema 3); older collections lack it
SPARSE_FIELD = "sparse"  # the BM25 function's output, where a collection has a full-text side (schema 4)
BM25_FUNCTION = "text_bm25"
FULL_TEXT_NEEDS = "full-text search needs Milvus 2.5 or later (or Milvus Lite)"
TEXT_MAX = 65535
GROUP_MAX = 1024


class MilvusBase:
    """The connection's state, and what the index and row operations both use."""

    uri: str
    capabilities: Capabilities
    client: Any
    # Collections the harness did not build, read through the fields their sidecars name.
    external: dict[str, tuple[ExternalCollection, CollectionMeta]]
    _rows: dict[str, int]  # row counts read for sizing search batches
    _doc_ids: dict[str, bool]  # collection -> it has the doc_id field
    _loaded: set[str]  # collections this connection saw loaded (searched without asking again)
    _full_text: dict[str, bool]  # collection -> it has the sparse field of a full-text side

    @property
    def is_lite(self) -> bool:
        return self.capabilities.embedded

    def _errors(self, action: str):
        return milvus_errors(action, self.uri)

    def fields(self, name: str) -> FieldNames:
        return self.external[name][0].fields if name in self.external else HARNESS_FIELDS

    def is_external(self, name: str) -> bool:
        return name in self.external

    def _writable(self, name: str) -> None:
        if name in self.external:
            sidecar = self.external[name][0].sidecar
            raise StoreError(
                f"collection {name!r} was not built by harness (described by {sidecar or 'a sidecar'}): "
                "the harness never alters it"
            )

    def has_doc_ids(self, name: str) -> bool:
        """Whether the collection keeps the corpus's own ids (harness schema 3 and later)."""
        if name in self.external:
            return False
        if name not in self._doc_ids:
            with self._errors(f"describe collection {name}"):
                fields = self.client.describe_collection(name)["fields"]
            self._doc_ids[name] = any(f["name"] == DOC_ID_FIELD for f in fields)
        return self._doc_ids[name]

    def has_full_text(self, name: str) -> bool:
        """Whether the collection has a full-text side (a BM25 function into the sparse field)."""
        if name in self.external:
            return False
        if name not in self._full_text:
            with self._errors(f"describe collection {name}"):
                fields = self.client.describe_collection(name)["fields"]
            self._full_text[name] = any(f["name"] == SPARSE_FIELD for f in fields)
        return self._full_text[name]

    def row_count(self, name: str) -> int:
        raise NotImplementedError

    def ensure_loaded(self, name: str) -> None:
        raise NotImplementedError
