"""Fakes of the two seams, for millisecond tests of the pipelines.

``FakeEmbedder`` is deterministic (a seeded random vector per word, summed and normalised:
texts sharing words are near), and ``MemoryStore`` keeps rows in numpy and searches
exactly. Both satisfy the protocols the pipelines use; the real-path tests (tiny models,
Milvus Lite, a real server) stay the integration layer.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from typing import Iterator, Sequence

import numpy as np

from harness.errors import StoreError
from harness.models import ModelRef
from harness.records import CollectionMeta, ExternalCollection, FieldNames, Hit, IndexSpec, ModelRecord, Truncation
from harness.store import Capabilities, CollectionInfo, RowBatch


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The lowest cosine between matching rows: vectors from two runtimes or batchings are
    compared by direction, never by an absolute tolerance tuned to one CPU."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(((a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)).min())


class FakeEmbedder:
    def __init__(self, alias: str = "fake", dimension: int = 8, seed: int = 0, fingerprint: str | None = None):
        self.ref = ModelRef(alias, alias, None, alias)
        self.dimension = dimension
        self.seed = seed
        self.fingerprint = fingerprint or hashlib.sha256(f"{alias}:{dimension}:{seed}".encode()).hexdigest()[:16]
        self.device = "cpu"
        self.load_seconds = 0.001
        self.parameters = 1000
        self.max_seq_length = 32
        self.calls = 0
        self.encoded = 0

    @property
    def alias(self) -> str:
        return self.ref.alias

    @property
    def cache_key(self) -> str:
        return self.fingerprint

    def _word(self, word: str) -> np.ndarray:
        digest = hashlib.blake2b(f"{self.seed}:{word}".encode(), digest_size=8).digest()
        return np.random.default_rng(int.from_bytes(digest, "big")).standard_normal(self.dimension)

    def encode(self, texts: Sequence[str], batch_size: int = 64, role: str = "document") -> np.ndarray:
        self.calls += 1
        self.encoded += len(texts)
        out = np.zeros((len(texts), self.dimension))
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i] += self._word(word)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms > 0, norms, 1)).astype(np.float32)

    def truncation(self, texts: Sequence[str]) -> Truncation:
        return Truncation.of(len(texts), [len(t.split()) for t in texts], self.max_seq_length)

    def describe(self) -> ModelRecord:
        return ModelRecord(
            self.alias,
            self.ref.spec,
            self.ref.source,
            self.fingerprint,
            self.dimension,
            self.parameters,
            self.max_seq_length,
        )

    def close(self) -> None:
        pass


class FakeVariant(FakeEmbedder):
    """A truncation variant of a fake (``fake-a@dim=N``): the base's vectors cut to N
    dimensions and renormalised, recorded with its base's fingerprint."""

    def __init__(self, base: FakeEmbedder, dimension: int):
        super().__init__(base.alias, base.dimension, base.seed)
        self.base = base
        self.label = f"dim={dimension}"
        self.ref = ModelRef(f"{base.alias}@{self.label}", f"{base.alias}@{self.label}", None, base.alias)
        self.fingerprint = hashlib.sha256(f"{base.fingerprint}|{self.label}".encode()).hexdigest()[:16]
        self.dimension = dimension

    def encode(self, texts: Sequence[str], batch_size: int = 64, role: str = "document") -> np.ndarray:
        full = self.base.encode(texts, batch_size, role)[:, : self.dimension]
        norms = np.linalg.norm(full, axis=1, keepdims=True)
        return (full / np.where(norms > 0, norms, 1)).astype(np.float32)

    def describe(self) -> ModelRecord:
        return replace(super().describe(), variant=self.label, base_fingerprint=self.base.fingerprint)


class MemoryStore:
    """An in-memory VectorStore: exact L2 search (nprobe and ef are ignored), no index to build.

    Like Milvus, an insert of an id already present adds a second row: duplicates are
    possible, so a test of "no duplicate ids" can fail."""

    def __init__(self, uri: str = "memory://"):
        self.uri = uri
        self.capabilities = Capabilities(backend="memory", embedded=True, segment_rows=None, prometheus=False)
        self.collections: dict[str, dict] = {}
        self.fail_insert_after: int | None = None  # rows; then insert raises, as a dying server would
        self.external: dict[str, ExternalCollection] = {}
        self.writes: list[tuple[str, str]] = []  # (operation, collection): what a test can check was never done
        self.scans: Counter[str] = Counter()  # full reads of a collection's vectors, per collection
        self.searches: list[tuple[str, int | None, int | None]] = []  # (collection, nprobe, ef) of each search

    def close(self) -> None:
        pass

    def _get(self, name: str) -> dict:
        if name not in self.collections:
            raise StoreError(f"no collection {name!r}")
        return self.collections[name]

    def has_collection(self, name: str) -> bool:
        return name in self.collections

    def harness_collections(self) -> list[str]:
        return sorted(n for n, c in self.collections.items() if c["meta"] is not None and n not in self.external)

    def collection_meta(self, name: str) -> CollectionMeta | None:
        return self._get(name)["meta"]

    def add_foreign(self, name: str, dimension: int, fields: FieldNames | None = None, index: bool = True) -> None:
        """A collection some other tool built: no harness metadata, its own field names."""
        self.collections[name] = {
            "dimension": dimension,
            "meta": None,
            "rows": [],
            "index": None,
            "fields": fields or FieldNames(),
        }
        self.collections[name]["index"] = IndexSpec("FLAT") if index else None

    def attach(self, external: ExternalCollection) -> CollectionMeta:
        name = external.collection
        if name not in self.collections:
            raise StoreError(f"no collection {name!r} in {self.uri} (named by {external.sidecar})")
        collection = self.collections[name]
        if collection["meta"] is not None and name not in self.external:
            raise StoreError(f"collection {name!r} was built by harness: use it without a sidecar")
        own = collection.get("fields", FieldNames())
        for role in ("id", "text", "vector", "group"):
            wanted = getattr(external.fields, role)
            if wanted and wanted != getattr(own, role):
                raise StoreError(f"collection {name!r} has no {role} field {wanted!r}")
        meta = CollectionMeta(model=external.model_record(collection["dimension"]), complete=True)
        collection["meta"] = meta
        self.external[name] = external
        return meta

    def is_external(self, name: str) -> bool:
        return name in self.external

    def _writable(self, operation: str, name: str) -> None:
        self.writes.append((operation, name))
        if name in self.external:
            raise StoreError(f"collection {name!r} was not built by harness: the harness never alters it")

    def require_collection(self, name: str) -> CollectionMeta:
        meta = self._get(name)["meta"]
        if meta is None:
            raise StoreError(f"collection {name!r} was not built by harness (it has no harness metadata)")
        return meta

    def set_meta(self, name: str, meta: CollectionMeta) -> None:
        self._writable("set_meta", name)
        self._get(name)["meta"] = meta

    def create_collection(self, name: str, dimension: int, meta: CollectionMeta) -> None:
        self._writable("create_collection", name)
        self.collections[name] = {"dimension": dimension, "meta": meta, "rows": [], "index": None}

    def drop_collection(self, name: str) -> None:
        self._writable("drop_collection", name)
        self.collections.pop(name, None)

    def row_count(self, name: str) -> int:
        """Test convenience (not the protocol): the rows held, duplicates counted."""
        return len(self._get(name)["rows"])

    def describe(self, name: str) -> CollectionInfo:
        collection = self._get(name)
        return CollectionInfo(
            name,
            len(collection["rows"]),
            collection["dimension"],
            collection["index"],
            collection["meta"],
            external=name in self.external,
        )

    def ids(self, name: str) -> list[int]:
        return [row[0] for row in self._get(name)["rows"]]

    def existing_ids(self, name: str, ids: Sequence[int]) -> set[int]:
        present = set(self.ids(name))
        return {int(i) for i in ids if int(i) in present}

    def insert(
        self,
        name: str,
        ids: Sequence[int],
        texts: Sequence[str],
        groups: Sequence[str],
        vectors: np.ndarray,
        doc_ids: Sequence[str] | None = None,
    ) -> None:
        self._writable("insert", name)
        rows = self._get(name)["rows"]
        own = self._get(name).setdefault("doc_ids", {})
        for i, doc_id in zip(ids, doc_ids or ()):
            own[int(i)] = doc_id
        for i, t, g, v in zip(ids, texts, groups, vectors):
            if self.fail_insert_after is not None and len(rows) >= self.fail_insert_after:
                raise StoreError(f"Milvus at {self.uri}: insert into {name} failed: server gone")
            rows.append((int(i), t, g, np.asarray(v, dtype=np.float32)))

    def remove_duplicates(self, name: str) -> int:
        rows = self._get(name)["rows"]
        kept = list({row[0]: row for row in rows}.values())
        removed = len(rows) - len(kept)
        rows[:] = kept
        return removed

    def build_index(self, name: str, index: IndexSpec | int) -> None:
        self._writable("build_index", name)
        self._get(name)["index"] = index if isinstance(index, IndexSpec) else IndexSpec(nlist=index)

    def _searchable(self, name: str) -> None:
        if self._get(name)["index"] is None:
            raise StoreError(f"collection {name!r} has no index yet: finish it with harness ingest")

    def _matrix(self, name: str) -> tuple[list[int], np.ndarray, list[tuple]]:
        rows = self._get(name)["rows"]
        ids = [row[0] for row in rows]
        vectors = np.stack([row[3] for row in rows]) if rows else np.zeros((0, self._get(name)["dimension"] or 0))
        return ids, vectors, [row[1:3] for row in rows]

    def search(
        self, name: str, vectors: np.ndarray, top_k: int, nprobe: int | None = None, ef: int | None = None
    ) -> list[list[Hit]]:
        self.searches.append((name, nprobe, ef))
        self._searchable(name)
        ids, matrix, rows = self._matrix(name)
        out = []
        for query in np.asarray(vectors, dtype=np.float32):
            distances = ((matrix - query) ** 2).sum(axis=1)
            order = np.argsort(distances, kind="stable")[:top_k]
            own = self._get(name).get("doc_ids", {})
            out.append(
                [
                    Hit(ids[j], float(distances[j]), rows[j][0], rows[j][1], own.get(ids[j]) or str(ids[j]))
                    for j in order
                ]
            )
        return out

    def has_full_text(self, name: str) -> bool:
        return False  # an in-memory store has no full-text side

    def search_text(self, name: str, texts: Sequence[str], top_k: int) -> list[list[Hit]]:
        raise StoreError(f"collection {name} has no full-text side")

    def hybrid_search(self, name, vectors, texts, top_k, fusion, nprobe=None, ef=None, depth=None) -> list[list[Hit]]:
        raise StoreError(f"collection {name} has no full-text side")

    def rows(
        self, name: str, ids: Sequence[int] | None = None, vectors: bool = True, batch_size: int = 4096
    ) -> Iterator[RowBatch]:
        self._searchable(name)
        all_ids, matrix, rows = self._matrix(name)
        if ids is None:
            if vectors:
                self.scans[name] += 1
            positions = list(range(len(all_ids)))
        else:
            where = {i: n for n, i in enumerate(all_ids)}
            missing = [int(i) for i in ids if int(i) not in where]
            if missing:
                raise StoreError(f"collection {name} has no row with id {missing[0]}")
            positions = [where[int(i)] for i in ids]
        for start in range(0, len(positions), batch_size):
            part = positions[start : start + batch_size]
            yield RowBatch(
                np.asarray([all_ids[j] for j in part], dtype=np.int64),
                matrix[part].reshape(len(part), -1) if vectors else None,
                [rows[j][0] for j in part],
                [rows[j][1] for j in part],
            )
