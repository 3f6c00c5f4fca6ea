"""The Milvus :class:`~harness.store.base.VectorStore`: one collection per model, on Milvus
Lite or a Milvus server.

Order that is right on both (see the Lite notes in the README): create the collection
without an index, insert, flush, create the index (a server builds it; we wait), load,
search. Each collection carries the harness's metadata as a collection property, so a
later ``harness query`` needs no other state. Collections the harness did not build are read
through the field names of their sidecar (:meth:`MilvusStore.attach`) and never written.

Long because it is the one implementation of the whole VectorStore protocol: splitting it
would scatter the calls of one client over several files.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from typing import Iterator, Sequence

import numpy as np

from harness.errors import StoreError
from harness.records import DOC_ID_MAX, CollectionMeta, ExternalCollection, FieldNames, Hit, IndexSpec, SearchParams
from harness.store.base import TEXT_CHARS, CollectionInfo
from harness.store.connection import (
    DEFAULT_URI,
    capabilities,
    faiss_clustering_quiet,
    milvus_errors,
    open_client,
    redact_uri,
    release_lite,
)
from harness.store.external import check_fields

META_KEY = "harness.meta"
HARNESS_FIELDS = FieldNames()
VECTOR_FIELD = HARNESS_FIELDS.vector
DOC_ID_FIELD = "doc_id"  # the corpus's own id as written (schema 3); older collections lack it
TEXT_MAX = 65535
GROUP_MAX = 1024
INSERT_BYTES = 16 << 20  # well under gRPC's 64 MiB message limit
# What a server says when the index changed between two calls: another client dropped,
# made or loaded it, or pymilvus retried a create_index whose first attempt went through
# (Lite's GOAWAY on a long build). The build then looks again.
INDEX_RACE_MESSAGES = (
    "no index",
    "index not found",
    "index not exist",
    "index doesn't exist",
    "already exists",
    "cannot be dropped on loaded collection",
)
INDEX_RACE_TRIES = 5
# Milvus Lite's FLAT search materialises queries x rows x dimensions (as float64): 300 queries
# over 5,183 rows of 384-d took ~4.5 GB, 16 at a time ~0.2 GB. Its searches are sent in
# batches sized to stay near this; a server gets them in batches of SERVER_SEARCH_BATCH.
LITE_SEARCH_BYTES = 256 << 20
SERVER_SEARCH_BATCH = 256


class MilvusStore:
    """A connection to one Milvus (Lite file or server) with the harness's operations."""

    def __init__(self, uri: str = DEFAULT_URI, token: str = "", timeout: float = 10.0, retries: int = 3):
        self.uri = uri
        self.capabilities = capabilities(uri)
        self.client = open_client(uri, token, timeout, retries)
        # Collections the harness did not build, read through the fields their sidecars name.
        self.external: dict[str, tuple[ExternalCollection, CollectionMeta]] = {}
        self._rows: dict[str, int] = {}  # row counts read for sizing search batches
        self._doc_ids: dict[str, bool] = {}  # collection -> it has the doc_id field

    @property
    def is_lite(self) -> bool:
        return self.capabilities.embedded

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

    def _errors(self, action: str):
        return milvus_errors(action, self.uri)

    # --- collections and metadata --------------------------------------------------------

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
        from pymilvus import DataType, MilvusClient

        self._writable(name)

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("text", DataType.VARCHAR, max_length=TEXT_MAX)
        schema.add_field("group", DataType.VARCHAR, max_length=GROUP_MAX)
        schema.add_field(DOC_ID_FIELD, DataType.VARCHAR, max_length=DOC_ID_MAX)
        schema.add_field(VECTOR_FIELD, DataType.FLOAT_VECTOR, dim=int(dimension))
        self._doc_ids.pop(name, None)
        with self._errors(f"create collection {name}"):
            self.client.create_collection(name, schema=schema, properties={META_KEY: meta.to_json()})

    def has_doc_ids(self, name: str) -> bool:
        """Whether the collection keeps the corpus's own ids (harness schema 3 and later)."""
        if name in self.external:
            return False
        if name not in self._doc_ids:
            with self._errors(f"describe collection {name}"):
                fields = self.client.describe_collection(name)["fields"]
            self._doc_ids[name] = any(f["name"] == DOC_ID_FIELD for f in fields)
        return self._doc_ids[name]

    def drop_collection(self, name: str) -> None:
        self._writable(name)
        self._doc_ids.pop(name, None)
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

    def _loaded_or_load(self, name: str) -> bool:
        """A server counts and queries only a loaded (hence indexed) collection."""
        if not self.has_index(name):
            return False
        if not self.is_loaded(name):
            self.client.load_collection(name)
        return True

    def dimension(self, name: str) -> int | None:
        with self._errors(f"describe collection {name}"):
            fields = self.client.describe_collection(name)["fields"]
        for field in fields:
            if field["name"] == self.fields(name).vector:
                return int(field["params"]["dim"])
        return None

    def _index_info(self, name: str, vector_field: str | None = None) -> dict | None:
        with self._errors(f"describe index of {name}"):
            indexes = self.client.list_indexes(name, field_name=vector_field or self.fields(name).vector)
            if not indexes:
                return None
            return self.client.describe_index(name, indexes[0])

    def has_index(self, name: str) -> bool:
        return self._index_info(name) is not None

    def index_spec(self, name: str) -> IndexSpec | None:
        """The vector index as the server describes it (type, metric, build parameters)."""
        index = self._index_info(name)
        if index is None:
            return None
        return IndexSpec.from_dict(
            {"type": index.get("index_type"), "metric": index.get("metric_type"), **_build_params(index)}
        )

    def describe(self, name: str) -> CollectionInfo:
        meta = self.collection_meta(name)
        with self._errors(f"stats of {name}"):
            rows = int(self.client.get_collection_stats(name).get("row_count", 0))
        return CollectionInfo(
            name=name, rows=rows, dimension=self.dimension(name), index=self.index_spec(name), meta=meta
        )

    # --- rows ------------------------------------------------------------------------------

    def existing_ids(self, name: str, ids: Sequence[int]) -> set[int]:
        if not ids:
            return set()
        key = self.fields(name).id
        with self._errors(f"look up ids in {name}"):
            rows = self.client.query(name, ids=list(ids), output_fields=[key])
        return {int(row[key]) for row in rows}

    def insert(
        self,
        name: str,
        ids: Sequence[int],
        texts: Sequence[str],
        groups: Sequence[str],
        vectors: np.ndarray,
        doc_ids: Sequence[str] | None = None,
    ) -> None:
        """Write rows by id. A server keeps a second row for an id inserted twice (two
        ingests at once would double the collection), so there the write is an upsert,
        which replaces every row of the id; Lite's insert already does that. ``doc_ids``
        (the corpus's own ids; "" or None: the int64 id) go to the doc_id field, where the
        collection has one."""
        self._writable(name)
        self._rows.pop(name, None)
        per_row = vectors.shape[1] * 4 + 256
        step = max(1, INSERT_BYTES // per_row)
        write = self.client.insert if self.is_lite else self.client.upsert
        keep_doc_ids = self.has_doc_ids(name)
        with self._errors(f"insert into {name}"):
            for start in range(0, len(ids), step):
                stop = start + step
                rows = [
                    {"id": int(i), "text": t[:TEXT_CHARS], "group": g[: GROUP_MAX // 4], VECTOR_FIELD: v}
                    for i, t, g, v in zip(ids[start:stop], texts[start:stop], groups[start:stop], vectors[start:stop])
                ]
                if keep_doc_ids:
                    written = list(doc_ids[start:stop]) if doc_ids is not None else [""] * len(rows)
                    for row, doc_id in zip(rows, written):
                        row[DOC_ID_FIELD] = doc_id or str(row["id"])
                write(name, rows)

    def remove_duplicates(self, name: str, batch_size: int = 4096) -> int:
        """Rewrite every id once (an upsert replaces all rows of an id); returns the rows removed.

        Reading returns one row per id even where a server holds several, so the rows read
        back are exactly the ones to keep."""
        before = self.row_count(name)
        f = self.fields(name)
        kept = [DOC_ID_FIELD] if self.has_doc_ids(name) else []
        for batch in self._row_batches(name, [*_readable(f, True), *kept], batch_size):
            self.insert(
                name,
                [int(row[f.id]) for row in batch],
                [row[f.text] for row in batch],
                [row[f.group] if f.group else "" for row in batch],
                np.asarray([row[f.vector] for row in batch], dtype=np.float32),
                [row[DOC_ID_FIELD] for row in batch] if kept else None,
            )
        with self._errors(f"flush {name}"):
            self.client.flush(name)
        return before - self.row_count(name)

    # --- index and load ------------------------------------------------------------------------

    def build_index(self, name: str, index: IndexSpec | int) -> None:
        """Flush, (re)build the index with these settings, wait for it, load.

        Two ingests finishing together on a server may rebuild the index under each other
        (each sized for the rows it saw): an index that vanished or appeared midway is
        looked at again, a few times, instead of failing the run."""
        self._writable(name)
        spec = index if isinstance(index, IndexSpec) else IndexSpec(nlist=index)
        with faiss_clustering_quiet() if self.is_lite else contextlib.nullcontext():
            self._build_index_retried(name, spec)

    def _build_index_retried(self, name: str, spec: IndexSpec) -> None:
        with self._errors(f"flush {name}"):
            self.client.flush(name)
        for attempt in range(INDEX_RACE_TRIES):
            try:
                self._build_index_once(name, spec)
                return
            except StoreError as exc:
                if attempt == INDEX_RACE_TRIES - 1 or not any(m in str(exc).lower() for m in INDEX_RACE_MESSAGES):
                    raise
                time.sleep(0.5 * (attempt + 1))

    def _build_index_once(self, name: str, spec: IndexSpec) -> None:
        from pymilvus import MilvusClient

        current = self.index_spec(name)
        if _same_index(current, spec):
            self._wait_for_index(name)
            self.ensure_loaded(name)
            return
        with self._errors(f"build index on {name}"):
            if current is not None:
                self.client.release_collection(name)
                for index_name in self.client.list_indexes(name, field_name=VECTOR_FIELD):
                    self.client.drop_index(name, index_name)
            params = MilvusClient.prepare_index_params()
            params.add_index(VECTOR_FIELD, index_type=spec.type, metric_type=spec.metric, params=spec.index_params())
            self.client.create_index(name, params)
        self._wait_for_index(name)
        with self._errors(f"load {name}"):
            self.client.load_collection(name)

    def _wait_for_index(self, name: str, timeout: float = 3600.0) -> None:
        """A server builds indexes asynchronously: load only once every row is indexed."""
        deadline = time.monotonic() + timeout
        while True:
            info = self._index_info(name) or {}
            state = str(info.get("state", "Finished"))
            if state.endswith("Failed"):
                raise StoreError(f"index build on {name} failed: {info.get('index_state_fail_reason', state)}")
            if state.endswith("Finished") and not int(info.get("pending_index_rows") or 0):
                return
            if time.monotonic() > deadline:
                raise StoreError(f"index build on {name} did not finish within {timeout:.0f} s")
            time.sleep(0.5)

    def is_loaded(self, name: str) -> bool:
        from pymilvus.client.types import LoadState

        with self._errors(f"load state of {name}"):
            return self.client.get_load_state(name).get("state") == LoadState.Loaded

    def ensure_loaded(self, name: str) -> None:
        if not self.has_index(name):
            if name in self.external:
                raise StoreError(
                    f"collection {name!r} has no index on field {self.fields(name).vector!r}: "
                    "build one (the harness does not alter collections it did not build)"
                )
            raise StoreError(f"collection {name!r} has no index yet: finish it with harness ingest")
        if not self.is_loaded(name):
            with self._errors(f"load {name}"):
                self.client.load_collection(name)

    # --- search and reading ------------------------------------------------------------------------

    def search(
        self, name: str, vectors: np.ndarray, top_k: int, nprobe: int | None = None, ef: int | None = None
    ) -> list[list[Hit]]:
        """Each vector's ``top_k`` nearest rows; ``nprobe`` (IVF) or ``ef`` (HNSW, raised to
        ``top_k`` when below it, as Milvus requires) set how wide the index search is."""
        fields = self.fields(name)
        metric = self.external[name][1].index.metric if name in self.external else "L2"
        params = SearchParams(top_k, nprobe, metric, ef=max(ef, top_k) if ef else None)
        vectors = np.asarray(vectors, dtype=np.float32)
        step = self._search_batch(name, vectors.shape[1] if vectors.ndim == 2 else 1)
        doc_ids = self.has_doc_ids(name)
        text, group = fields.text, fields.group or ""
        out: list[list[Hit]] = []
        for start in range(0, len(vectors), step):
            with self._errors(f"search {name}"):
                results = self.client.search(
                    name,
                    data=list(vectors[start : start + step]),
                    limit=int(params.top_k),
                    output_fields=[*_readable(fields, vector=False)[1:], *([DOC_ID_FIELD] if doc_ids else [])],
                    search_params=params.search_params(),
                    anns_field=fields.vector,
                )
            out.extend(
                [
                    Hit(
                        int(h.get("id", h.get(fields.id))),
                        float(h["distance"]),
                        h["entity"].get(text, ""),
                        h["entity"].get(group, "") if group else "",
                        str(h["entity"].get(DOC_ID_FIELD) or h.get("id", h.get(fields.id))),
                    )
                    for h in hits
                ]
                for hits in results
            )
        return out

    def _search_batch(self, name: str, dimension: int) -> int:
        """Queries per search call: on Lite, as many as keep its search near LITE_SEARCH_BYTES."""
        if not self.is_lite:
            return SERVER_SEARCH_BATCH
        if name not in self._rows:
            with self._errors(f"stats of {name}"):
                self._rows[name] = int(self.client.get_collection_stats(name).get("row_count", 0))
        return int(max(1, min(SERVER_SEARCH_BATCH, LITE_SEARCH_BYTES // max(1, self._rows[name] * dimension * 8))))

    def sample_rows(self, name: str, limit: int) -> tuple[list[int], list[str], np.ndarray]:
        """Up to ``limit`` rows (ids, texts, vectors), in the server's order."""
        f = self.fields(name)
        with self._errors(f"read rows of {name}"):
            rows = self.client.query(name, filter="", limit=int(limit), output_fields=[f.id, f.text, f.vector])
        return (
            [int(r[f.id]) for r in rows],
            [r[f.text] for r in rows],
            np.asarray([r[f.vector] for r in rows], dtype=np.float32),
        )

    def rows_by_ids(self, name: str, ids: Sequence[int], batch: int = 1000) -> tuple[np.ndarray, list[str], list[str]]:
        """(vectors, texts, groups) of these ids, in the order given; a missing id fails."""
        f = self.fields(name)
        found: dict[int, dict] = {}
        with self._errors(f"read rows of {name}"):
            for start in range(0, len(ids), batch):
                part = [int(i) for i in ids[start : start + batch]]
                for row in self.client.query(name, ids=part, output_fields=_readable(f, vector=True)):
                    found[int(row[f.id])] = row
        missing = [int(i) for i in ids if int(i) not in found]
        if missing:
            raise StoreError(f"collection {name} has no row with id {missing[0]} ({len(missing)} ids missing)")
        rows = [found[int(i)] for i in ids]
        vectors = np.asarray([r[f.vector] for r in rows], dtype=np.float32).reshape(len(rows), -1)
        return vectors, [r[f.text] for r in rows], [r[f.group] if f.group else "" for r in rows]

    def iter_rows(
        self, name: str, vectors: bool = True, batch_size: int = 4096
    ) -> Iterator[tuple[np.ndarray, np.ndarray | None, list[str], list[str]]]:
        """Every row in batches of (ids, vectors or None, texts, groups), in the server's order."""
        f = self.fields(name)
        for batch in self._row_batches(name, _readable(f, vectors), batch_size):
            ids = np.asarray([int(row[f.id]) for row in batch], dtype=np.int64)
            matrix = np.asarray([row[f.vector] for row in batch], dtype=np.float32) if vectors else None
            groups = [row[f.group] if f.group else "" for row in batch]
            yield ids, matrix, [row[f.text] for row in batch], groups

    def _row_batches(self, name: str, output_fields: list[str], batch_size: int) -> Iterator[list[dict]]:
        import logging

        # pymilvus warns on every query_iterator against Lite (no server mvcc timestamp).
        logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)
        with self._errors(f"read {name}"):
            iterator = self.client.query_iterator(name, batch_size=batch_size, output_fields=output_fields)
            try:
                while True:
                    batch = iterator.next()
                    if not batch:
                        break
                    yield batch
            finally:
                iterator.close()

    def fetch_vectors(self, name: str, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
        """All (ids, vectors, texts, groups) of a collection in memory; prefer :meth:`iter_rows`."""
        ids: list[np.ndarray] = []
        vectors: list[np.ndarray] = []
        texts: list[str] = []
        groups: list[str] = []
        for batch_ids, batch_vectors, batch_texts, batch_groups in self.iter_rows(name, True, batch_size):
            assert batch_vectors is not None
            ids.append(batch_ids)
            vectors.append(batch_vectors)
            texts.extend(batch_texts)
            groups.extend(batch_groups)
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32), [], []
        return np.concatenate(ids), np.concatenate(vectors), texts, groups


def _readable(fields: FieldNames, vector: bool) -> list[str]:
    """The fields a read returns: id, text, the group field when there is one, the vector if asked."""
    return [fields.id, fields.text, *([fields.group] if fields.group else []), *([fields.vector] if vector else [])]


def _build_params(index: dict) -> dict:
    """Build parameters from ``describe_index``, which servers return flattened (values as
    strings) and Lite nested in ``params``."""
    found: dict = {}
    for source in (index, index.get("params")):
        if isinstance(source, str):
            source = json.loads(source)
        if not isinstance(source, dict):
            continue
        nested = source.get("params")
        if isinstance(nested, str):
            nested = json.loads(nested)
        for part in (source, nested if isinstance(nested, dict) else {}):
            for key, value in part.items():
                if key in BUILD_KEYS:
                    found[key] = value
    nlist = found.pop("nlist", None)
    return {"nlist": int(nlist) if nlist is not None else None, "params": found}


BUILD_KEYS = {"nlist", "M", "efConstruction", "m", "nbits", "sq_type"}


def _same_index(current: IndexSpec | None, wanted: IndexSpec) -> bool:
    if current is None:
        return False
    return (current.type, current.metric, current.build_params()) == (
        wanted.type,
        wanted.metric,
        wanted.build_params(),
    )


# The name every caller used before the VectorStore protocol; kept for notebooks.
Store = MilvusStore


def connect(uri: str | None = None, token: str | None = None, timeout: float = 10.0) -> MilvusStore:
    """Connect with environment fallbacks: MILVUS_URI and MILVUS_TOKEN."""
    return MilvusStore(
        uri or os.environ.get("MILVUS_URI") or DEFAULT_URI, token or os.environ.get("MILVUS_TOKEN", ""), timeout
    )
