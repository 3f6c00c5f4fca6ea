"""The Milvus side: one collection per model, on Milvus Lite or a Milvus server.

Order that is right on both (see the Lite notes in the README): create the collection
without an index, insert, flush, create the index (a server builds it; we wait), load,
search. Each collection carries the harness's metadata as a collection property, so a
later ``harness query`` needs no other state.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from harness.errors import StoreError

META_KEY = "harness.meta"
COLLECTION_PREFIX = "harness_"
DEFAULT_URI = "harness.db"
INDEX_TYPE = "IVF_FLAT"
METRIC = "L2"
VECTOR_FIELD = "vector"
TEXT_MAX = 65535
GROUP_MAX = 1024
INSERT_BYTES = 16 << 20  # well under gRPC's 64 MiB message limit
MAX_NLIST = 65536

# gRPC's C core logs keepalive chatter (GOAWAY too_many_pings after a long encode) straight
# to stderr; the connection recovers, and real failures reach us as exceptions. Read when
# grpc first loads, which pymilvus does lazily after this module.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")


# pymilvus pings every 10 s; Lite's in-process gRPC server allows one ping per 5 minutes
# without data and answers more with GOAWAY, which fails a long call (an index build over
# a million rows) and makes pymilvus retry it. Local calls need no keepalive.
LITE_GRPC_OPTIONS = {"grpc.keepalive_time_ms": 3_600_000, "grpc.keepalive_permit_without_calls": False}


def lite_segment_rows() -> int:
    try:
        from milvus_lite.constants import MAX_SEGMENT_ROWS

        return int(MAX_SEGMENT_ROWS)
    except (ImportError, AttributeError, ValueError):
        return 100_000


def is_lite_uri(uri: str) -> bool:
    return uri.endswith(".db")


def redact_uri(uri: str) -> str:
    """The URI without any credentials (https://user:pass@host -> https://host)."""
    if "://" in uri and "@" in uri.split("://", 1)[1]:
        scheme, rest = uri.split("://", 1)
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return uri


def default_nlist(rows: int, segment_rows: int | None = None) -> int:
    """4 * sqrt(rows), with at least 39 training points per list (FAISS's minimum).

    Milvus trains an IVF index per segment, so on a store whose segments hold at most
    ``segment_rows`` rows the 39-point rule applies to a segment, not to the collection.
    """
    if rows <= 0:
        return 1
    trainable = min(rows, segment_rows) if segment_rows else rows
    return max(1, min(round(4 * math.sqrt(rows)), trainable // 39, MAX_NLIST))


def collection_name(model_alias: str, prefix: str = "") -> str:
    from harness.models import sanitize_name

    parts = [COLLECTION_PREFIX.rstrip("_")]
    if prefix:
        parts.append(sanitize_name(prefix))
    parts.append(sanitize_name(model_alias))
    return "_".join(parts)[:255]


@dataclass(frozen=True)
class Hit:
    id: int
    distance: float
    text: str
    group: str


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    rows: int
    dimension: int | None
    index_type: str | None
    metric: str | None
    nlist: int | None
    meta: dict

    @property
    def model_alias(self) -> str:
        return self.meta.get("model", {}).get("alias", "?")


def _first_line(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message).strip().splitlines()[0]


@contextmanager
def _milvus_errors(action: str, uri: str) -> Iterator[None]:
    from pymilvus.exceptions import MilvusException

    try:
        yield
    except MilvusException as exc:
        raise StoreError(f"Milvus at {redact_uri(uri)}: {action} failed: {_first_line(exc)}") from None


def _lite_locked(path: Path) -> bool:
    lock = path / "LOCK"
    if not lock.exists():
        return False
    try:
        import fcntl
    except ImportError:
        return False
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


class Store:
    """A connection to one Milvus (Lite file or server) with the harness's operations."""

    def __init__(self, uri: str = DEFAULT_URI, token: str = "", timeout: float = 10.0, retries: int = 3):
        # pymilvus and Lite's gRPC server log tracebacks for errors that we raise as clear ones.
        for logger in ("pymilvus", "milvus_lite", "grpc._server"):
            logging.getLogger(logger).setLevel(logging.CRITICAL)
        self.uri = uri
        self.is_lite = is_lite_uri(uri)
        self.segment_rows = lite_segment_rows() if self.is_lite else None
        self.client = self._connect(token, timeout, retries)

    # --- connection -------------------------------------------------------------------

    def _connect(self, token: str, timeout: float, retries: int):
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        if self.is_lite:
            return self._connect_lite()
        last = None
        for attempt in range(max(1, retries)):
            try:
                return MilvusClient(uri=self.uri, token=token, timeout=timeout)
            except MilvusException as exc:
                last = exc
                if "auth" in _first_line(exc).lower() or "permission" in _first_line(exc).lower():
                    break
                time.sleep(min(2.0, 0.5 * (attempt + 1)))
        raise StoreError(f"cannot reach Milvus at {redact_uri(self.uri)}: {_first_line(last)}")

    def _connect_lite(self):
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        path = Path(self.uri).expanduser().resolve()
        if not path.parent.is_dir():
            raise StoreError(f"cannot create Milvus Lite database {self.uri}: folder {path.parent} does not exist")
        if path.exists() and not path.is_dir():
            raise StoreError(f"{self.uri} exists and is not a Milvus Lite database (expected a folder)")
        try:
            return MilvusClient(str(path), grpc_options=LITE_GRPC_OPTIONS)
        except MilvusException as exc:
            if _lite_locked(path):
                raise StoreError(
                    f"Milvus Lite database {self.uri} is in use by another process "
                    "(Lite allows one process at a time): stop it, or use a Milvus server (--uri http://...)"
                ) from None
            raise StoreError(f"cannot open Milvus Lite database {self.uri}: {_first_line(exc)}") from None
        except ImportError:
            raise StoreError("Milvus Lite is not installed: pip install milvus-lite") from None

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:
            pass
        if self.is_lite:
            # Release the file lock now, not at interpreter exit.
            try:
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(str(Path(self.uri).expanduser().resolve()))
            except Exception:
                pass

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _errors(self, action: str):
        return _milvus_errors(action, self.uri)

    # --- collections and metadata --------------------------------------------------------

    def has_collection(self, name: str) -> bool:
        with self._errors("has_collection"):
            return self.client.has_collection(name)

    def collection_meta(self, name: str) -> dict | None:
        with self._errors(f"describe collection {name}"):
            described = self.client.describe_collection(name)
        raw = (described.get("properties") or {}).get(META_KEY)
        if not raw:
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return None

    def set_meta(self, name: str, meta: dict) -> None:
        with self._errors(f"write metadata of {name}"):
            self.client.alter_collection_properties(name, properties={META_KEY: json.dumps(meta, sort_keys=True)})

    def harness_collections(self) -> list[str]:
        """Collections that carry harness metadata, sorted by name."""
        with self._errors("list collections"):
            names = self.client.list_collections()
        return sorted(n for n in names if self.collection_meta(n) is not None)

    def require_collection(self, name: str) -> dict:
        if not self.has_collection(name):
            available = ", ".join(self.harness_collections()) or "none; run harness ingest first"
            raise StoreError(f"no collection {name!r} in {redact_uri(self.uri)} (harness collections: {available})")
        meta = self.collection_meta(name)
        if meta is None:
            raise StoreError(f"collection {name!r} was not built by harness (it has no harness metadata)")
        return meta

    def create_collection(self, name: str, dimension: int, meta: dict) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("text", DataType.VARCHAR, max_length=TEXT_MAX)
        schema.add_field("group", DataType.VARCHAR, max_length=GROUP_MAX)
        schema.add_field(VECTOR_FIELD, DataType.FLOAT_VECTOR, dim=int(dimension))
        with self._errors(f"create collection {name}"):
            self.client.create_collection(
                name, schema=schema, properties={META_KEY: json.dumps(meta, sort_keys=True)}
            )

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

    def index_info(self, name: str) -> dict | None:
        with self._errors(f"describe index of {name}"):
            indexes = self.client.list_indexes(name, field_name=VECTOR_FIELD)
            if not indexes:
                return None
            return self.client.describe_index(name, indexes[0])

    def index_settings(self, name: str) -> tuple[str | None, str | None, int | None]:
        """(index type, metric, nlist) of the vector index, Nones when there is none."""
        index = self.index_info(name) or {}
        params = index.get("params") or {}
        if isinstance(params, str):
            params = json.loads(params)
        nested = params.get("params")
        if isinstance(nested, str):
            nested = json.loads(nested)
        nlist = params.get("nlist") or (nested or {}).get("nlist")
        return index.get("index_type"), index.get("metric_type"), int(nlist) if nlist is not None else None

    def describe(self, name: str) -> CollectionInfo:
        meta = self.collection_meta(name) or {}
        index_type, metric, nlist = self.index_settings(name)
        with self._errors(f"stats of {name}"):
            rows = int(self.client.get_collection_stats(name).get("row_count", 0))
        return CollectionInfo(
            name=name,
            rows=rows,
            dimension=self.dimension(name),
            index_type=index_type,
            metric=metric,
            nlist=nlist,
            meta=meta,
        )

    # --- rows ------------------------------------------------------------------------------

    def existing_ids(self, name: str, ids: Sequence[int]) -> set[int]:
        if not ids:
            return set()
        with self._errors(f"look up ids in {name}"):
            rows = self.client.query(name, ids=list(ids), output_fields=["id"])
        return {int(row["id"]) for row in rows}

    def insert(self, name: str, ids: Sequence[int], texts: Sequence[str], groups: Sequence[str], vectors: np.ndarray) -> None:
        per_row = vectors.shape[1] * 4 + 256
        step = max(1, INSERT_BYTES // per_row)
        with self._errors(f"insert into {name}"):
            for start in range(0, len(ids), step):
                stop = start + step
                self.client.insert(
                    name,
                    [
                        {"id": int(i), "text": t[: TEXT_MAX // 4], "group": g[: GROUP_MAX // 4], VECTOR_FIELD: v}
                        for i, t, g, v in zip(ids[start:stop], texts[start:stop], groups[start:stop], vectors[start:stop])
                    ],
                )

    # --- index and load ------------------------------------------------------------------------

    def build_index(self, name: str, nlist: int) -> None:
        """Flush, (re)build IVF_FLAT with this nlist, wait for it, load."""
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        with self._errors(f"flush {name}"):
            self.client.flush(name)
        current = self.index_settings(name)
        if current == (INDEX_TYPE, METRIC, nlist):
            self.ensure_loaded(name)
            return
        with self._errors(f"build index on {name}"):
            if current[0] is not None:
                self.client.release_collection(name)
                for index_name in self.client.list_indexes(name, field_name=VECTOR_FIELD):
                    self.client.drop_index(name, index_name)
            params = MilvusClient.prepare_index_params()
            # Lite reads nlist only from the nested "params"; servers read the flat one.
            params.add_index(
                VECTOR_FIELD, index_type=INDEX_TYPE, metric_type=METRIC, params={"nlist": nlist, "params": {"nlist": nlist}}
            )
            try:
                self.client.create_index(name, params)
            except MilvusException as exc:
                # A retried call whose first attempt went through finds its own index.
                if "already exists" not in str(exc) or self.index_settings(name) != (INDEX_TYPE, METRIC, nlist):
                    raise
        self._wait_for_index(name)
        with self._errors(f"load {name}"):
            self.client.load_collection(name)

    def _wait_for_index(self, name: str, timeout: float = 3600.0) -> None:
        """A server builds indexes asynchronously: load only once every row is indexed."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.index_info(name) or {}
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
        if self.index_info(name) is None:
            raise StoreError(f"collection {name!r} has no index yet: finish it with harness ingest")
        if not self.is_loaded(name):
            with self._errors(f"load {name}"):
                self.client.load_collection(name)

    # --- search ------------------------------------------------------------------------------------

    def search(self, name: str, vectors: np.ndarray, top_k: int, nprobe: int | None = None) -> list[list[Hit]]:
        params: dict = {"metric_type": METRIC, "params": {}}
        if nprobe:
            params["params"]["nprobe"] = int(nprobe)
        with self._errors(f"search {name}"):
            results = self.client.search(
                name,
                data=[np.asarray(v, dtype=np.float32) for v in vectors],
                limit=int(top_k),
                output_fields=["text", "group"],
                search_params=params,
                anns_field=VECTOR_FIELD,
            )
        return [
            [Hit(int(h["id"]), float(h["distance"]), h["entity"].get("text", ""), h["entity"].get("group", "")) for h in hits]
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

    def fetch_vectors(self, name: str, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
        """All (ids, vectors, texts, groups) of a collection, for exact-search comparisons."""
        ids, vectors, texts, groups = [], [], [], []
        with self._errors(f"read {name}"):
            iterator = self.client.query_iterator(
                name, batch_size=batch_size, output_fields=["id", "text", "group", VECTOR_FIELD]
            )
            try:
                while True:
                    batch = iterator.next()
                    if not batch:
                        break
                    for row in batch:
                        ids.append(int(row["id"]))
                        vectors.append(row[VECTOR_FIELD])
                        texts.append(row["text"])
                        groups.append(row["group"])
            finally:
                iterator.close()
        return np.asarray(ids, dtype=np.int64), np.asarray(vectors, dtype=np.float32), texts, groups


def connect(uri: str | None = None, token: str | None = None, timeout: float = 10.0) -> Store:
    """Connect with environment fallbacks: MILVUS_URI and MILVUS_TOKEN."""
    return Store(uri or os.environ.get("MILVUS_URI") or DEFAULT_URI, token or os.environ.get("MILVUS_TOKEN", ""), timeout)
