"""The Milvus :class:`~harness.store.base.VectorStore`: one collection per model, on Milvus
Lite or a Milvus server.

Order that is right on both (see the Lite notes in the README): create the collection
without an index, insert, flush, create the index (a server builds it; we wait), load,
search. Each collection carries the harness's metadata as a collection property, so a
later ``harness query`` needs no other state.
"""

from __future__ import annotations

import json
import os
import time
from typing import Iterator, Sequence

import numpy as np

from harness.errors import StoreError
from harness.records import CollectionMeta, Hit, IndexSpec, SearchParams
from harness.store.base import CollectionInfo
from harness.store.connection import (
    DEFAULT_URI,
    capabilities,
    milvus_errors,
    open_client,
    redact_uri,
    release_lite,
)

META_KEY = "harness.meta"
VECTOR_FIELD = "vector"
TEXT_MAX = 65535
GROUP_MAX = 1024
INSERT_BYTES = 16 << 20  # well under gRPC's 64 MiB message limit


class MilvusStore:
    """A connection to one Milvus (Lite file or server) with the harness's operations."""

    def __init__(self, uri: str = DEFAULT_URI, token: str = "", timeout: float = 10.0, retries: int = 3):
        self.uri = uri
        self.capabilities = capabilities(uri)
        self.client = open_client(uri, token, timeout, retries)

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

    def has_collection(self, name: str) -> bool:
        with self._errors("has_collection"):
            return self.client.has_collection(name)

    def collection_meta(self, name: str) -> CollectionMeta | None:
        with self._errors(f"describe collection {name}"):
            described = self.client.describe_collection(name)
        return CollectionMeta.from_json((described.get("properties") or {}).get(META_KEY))

    def set_meta(self, name: str, meta: CollectionMeta) -> None:
        with self._errors(f"write metadata of {name}"):
            self.client.alter_collection_properties(name, properties={META_KEY: meta.to_json()})

    def harness_collections(self) -> list[str]:
        """Collections that carry harness metadata, sorted by name."""
        with self._errors("list collections"):
            names = self.client.list_collections()
        return sorted(n for n in names if self.collection_meta(n) is not None)

    def require_collection(self, name: str) -> CollectionMeta:
        if not self.has_collection(name):
            available = ", ".join(self.harness_collections()) or "none; run harness ingest first"
            raise StoreError(f"no collection {name!r} in {redact_uri(self.uri)} (harness collections: {available})")
        meta = self.collection_meta(name)
        if meta is None:
            raise StoreError(f"collection {name!r} was not built by harness (it has no harness metadata)")
        return meta

    def create_collection(self, name: str, dimension: int, meta: CollectionMeta) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("text", DataType.VARCHAR, max_length=TEXT_MAX)
        schema.add_field("group", DataType.VARCHAR, max_length=GROUP_MAX)
        schema.add_field(VECTOR_FIELD, DataType.FLOAT_VECTOR, dim=int(dimension))
        with self._errors(f"create collection {name}"):
            self.client.create_collection(name, schema=schema, properties={META_KEY: meta.to_json()})

    def drop_collection(self, name: str) -> None:
        with self._errors(f"drop collection {name}"):
            self.client.drop_collection(name)

    def row_count(self, name: str) -> int:
        with self._errors(f"count rows of {name}"):
            self.client.flush(name)
            return int(self.client.get_collection_stats(name).get("row_count", 0))

    def dimension(self, name: str) -> int | None:
        with self._errors(f"describe collection {name}"):
            fields = self.client.describe_collection(name)["fields"]
        for field in fields:
            if field["name"] == VECTOR_FIELD:
                return int(field["params"]["dim"])
        return None

    def _index_info(self, name: str) -> dict | None:
        with self._errors(f"describe index of {name}"):
            indexes = self.client.list_indexes(name, field_name=VECTOR_FIELD)
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
        with self._errors(f"look up ids in {name}"):
            rows = self.client.query(name, ids=list(ids), output_fields=["id"])
        return {int(row["id"]) for row in rows}

    def insert(
        self, name: str, ids: Sequence[int], texts: Sequence[str], groups: Sequence[str], vectors: np.ndarray
    ) -> None:
        per_row = vectors.shape[1] * 4 + 256
        step = max(1, INSERT_BYTES // per_row)
        with self._errors(f"insert into {name}"):
            for start in range(0, len(ids), step):
                stop = start + step
                self.client.insert(
                    name,
                    [
                        {"id": int(i), "text": t[: TEXT_MAX // 4], "group": g[: GROUP_MAX // 4], VECTOR_FIELD: v}
                        for i, t, g, v in zip(
                            ids[start:stop], texts[start:stop], groups[start:stop], vectors[start:stop]
                        )
                    ],
                )

    # --- index and load ------------------------------------------------------------------------

    def build_index(self, name: str, index: IndexSpec | int) -> None:
        """Flush, (re)build the index with these settings, wait for it, load."""
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        spec = index if isinstance(index, IndexSpec) else IndexSpec(nlist=index)
        with self._errors(f"flush {name}"):
            self.client.flush(name)
        current = self.index_spec(name)
        if _same_index(current, spec):
            self.ensure_loaded(name)
            return
        with self._errors(f"build index on {name}"):
            if current is not None:
                self.client.release_collection(name)
                for index_name in self.client.list_indexes(name, field_name=VECTOR_FIELD):
                    self.client.drop_index(name, index_name)
            params = MilvusClient.prepare_index_params()
            params.add_index(VECTOR_FIELD, index_type=spec.type, metric_type=spec.metric, params=spec.index_params())
            try:
                self.client.create_index(name, params)
            except MilvusException as exc:
                # A retried call whose first attempt went through finds its own index.
                if "already exists" not in str(exc) or not _same_index(self.index_spec(name), spec):
                    raise
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
        params = SearchParams(top_k, nprobe, ef=max(ef, top_k) if ef else None)
        with self._errors(f"search {name}"):
            results = self.client.search(
                name,
                data=[np.asarray(v, dtype=np.float32) for v in vectors],
                limit=int(params.top_k),
                output_fields=["text", "group"],
                search_params=params.search_params(),
                anns_field=VECTOR_FIELD,
            )
        return [
            [
                Hit(int(h["id"]), float(h["distance"]), h["entity"].get("text", ""), h["entity"].get("group", ""))
                for h in hits
            ]
            for hits in results
        ]

    def sample_rows(self, name: str, limit: int) -> tuple[list[int], list[str], np.ndarray]:
        """Up to ``limit`` rows (ids, texts, vectors), in the server's order."""
        with self._errors(f"read rows of {name}"):
            rows = self.client.query(name, filter="", limit=int(limit), output_fields=["id", "text", VECTOR_FIELD])
        return (
            [int(r["id"]) for r in rows],
            [r["text"] for r in rows],
            np.asarray([r[VECTOR_FIELD] for r in rows], dtype=np.float32),
        )

    def rows_by_ids(self, name: str, ids: Sequence[int], batch: int = 1000) -> tuple[np.ndarray, list[str], list[str]]:
        """(vectors, texts, groups) of these ids, in the order given; a missing id fails."""
        found: dict[int, dict] = {}
        with self._errors(f"read rows of {name}"):
            for start in range(0, len(ids), batch):
                part = [int(i) for i in ids[start : start + batch]]
                for row in self.client.query(name, ids=part, output_fields=["id", "text", "group", VECTOR_FIELD]):
                    found[int(row["id"])] = row
        missing = [int(i) for i in ids if int(i) not in found]
        if missing:
            raise StoreError(f"collection {name} has no row with id {missing[0]} ({len(missing)} ids missing)")
        rows = [found[int(i)] for i in ids]
        vectors = np.asarray([r[VECTOR_FIELD] for r in rows], dtype=np.float32).reshape(len(rows), -1)
        return vectors, [r["text"] for r in rows], [r["group"] for r in rows]

    def iter_rows(
        self, name: str, vectors: bool = True, batch_size: int = 4096
    ) -> Iterator[tuple[np.ndarray, np.ndarray | None, list[str], list[str]]]:
        """Every row in batches of (ids, vectors or None, texts, groups), in the server's order."""
        import logging

        # pymilvus warns on every query_iterator against Lite (no server mvcc timestamp).
        logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)
        fields = ["id", "text", "group", *([VECTOR_FIELD] if vectors else [])]
        with self._errors(f"read {name}"):
            iterator = self.client.query_iterator(name, batch_size=batch_size, output_fields=fields)
            try:
                while True:
                    batch = iterator.next()
                    if not batch:
                        break
                    ids = np.asarray([int(row["id"]) for row in batch], dtype=np.int64)
                    matrix = np.asarray([row[VECTOR_FIELD] for row in batch], dtype=np.float32) if vectors else None
                    yield ids, matrix, [row["text"] for row in batch], [row["group"] for row in batch]
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
