"""The Milvus store's index operations: build (or rebuild) a collection's vector index with
its settings, wait until a server has built it, and load the collection."""

from __future__ import annotations

import contextlib
import json
import time

from harness.errors import StoreError
from harness.records import IndexSpec
from harness.store.connection import faiss_clustering_quiet
from harness.store.milvus_base import SPARSE_FIELD, VECTOR_FIELD, MilvusBase

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


class MilvusIndex(MilvusBase):
    def _index_info(self, name: str, vector_field: str | None = None) -> dict | None:
        with self._errors(f"describe index of {name}"):
            indexes = self.client.list_indexes(name, field_name=vector_field or self.fields(name).vector)
            if not indexes:
                return None
            return self.client.describe_index(name, indexes[0])

    def _has_sparse_index(self, name: str) -> bool:
        with self._errors(f"describe index of {name}"):
            return bool(self.client.list_indexes(name, field_name=SPARSE_FIELD))

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
        sparse_missing = self.has_full_text(name) and not self._has_sparse_index(name)
        if _same_index(current, spec) and not sparse_missing:
            self._wait_for_index(name)
            self.ensure_loaded(name)
            return
        with self._errors(f"build index on {name}"):
            if current is not None:
                self._loaded.discard(name)
                self.client.release_collection(name)
            params = MilvusClient.prepare_index_params()
            if not _same_index(current, spec):
                for index_name in self.client.list_indexes(name, field_name=VECTOR_FIELD):
                    self.client.drop_index(name, index_name)
                params.add_index(
                    VECTOR_FIELD, index_type=spec.type, metric_type=spec.metric, params=spec.index_params()
                )
            if sparse_missing:
                # Every vector field is indexed before a load: the full-text side's index is
                # built with the dense one, and kept when only the dense one changes.
                params.add_index(SPARSE_FIELD, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
            self.client.create_index(name, params)
        self._wait_for_index(name)
        with self._errors(f"load {name}"):
            self.client.load_collection(name)

    def _wait_for_index(self, name: str, timeout: float = 3600.0) -> None:
        """A server builds indexes asynchronously: load only once every row is indexed."""
        deadline = time.monotonic() + timeout
        fields = [None, SPARSE_FIELD] if self.has_full_text(name) else [None]
        while True:
            done = True
            for field in fields:  # the vector index, and the full-text side's where there is one
                info = self._index_info(name, field) or {}
                state = str(info.get("state", "Finished"))
                if state.endswith("Failed"):
                    raise StoreError(f"index build on {name} failed: {info.get('index_state_fail_reason', state)}")
                done = done and state.endswith("Finished") and not int(info.get("pending_index_rows") or 0)
            if done:
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
        self._loaded.add(name)

    # --- search and reading ------------------------------------------------------------------------

    def _loaded_or_load(self, name: str) -> bool:
        """A server counts and queries only a loaded (hence indexed) collection."""
        if not self.has_index(name):
            return False
        if not self.is_loaded(name):
            self.client.load_collection(name)
        return True


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
