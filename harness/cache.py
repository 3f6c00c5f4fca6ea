"""On-disk embedding cache keyed by (what the vectors depend on, text hash).

One SQLite file per key (a model's fingerprint, which covers its weights and variant, with
its precision, normalisation and the prompt of the role encoded), so clearing one model's
vectors is deleting a file. :class:`CachedEmbedder` wraps any embedder and is
itself one, so a pipeline encodes the same way with or without the cache.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from harness.models.base import Embedder, Role, WrappedEmbedder
from harness.records import text_id

SQL_VARS = 900  # below SQLite's default limit on bound parameters


def default_cache_dir() -> Path:
    configured = os.environ.get("HARNESS_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "harness" / "embeddings"


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


class EmbeddingCache:
    def __init__(self, directory: str | Path | None = None):
        self.directory = Path(directory) if directory else default_cache_dir()
        self._connections: dict[str, sqlite3.Connection] = {}

    def _db(self, key: str) -> sqlite3.Connection:
        if key not in self._connections:
            self.directory.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.directory / f"{key}.sqlite", check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("CREATE TABLE IF NOT EXISTS vectors (id INTEGER PRIMARY KEY, vector BLOB NOT NULL)")
            self._connections[key] = connection
        return self._connections[key]

    def get(self, key: str, ids: Sequence[int], dimension: int) -> dict[int, np.ndarray]:
        db = self._db(key)
        found: dict[int, np.ndarray] = {}
        for start in range(0, len(ids), SQL_VARS):
            part = ids[start : start + SQL_VARS]
            rows = db.execute(
                f"SELECT id, vector FROM vectors WHERE id IN ({','.join('?' * len(part))})", list(part)
            ).fetchall()
            for row_id, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.size == dimension:
                    found[row_id] = vector
        return found

    def put(self, key: str, ids: Sequence[int], vectors: np.ndarray) -> None:
        db = self._db(key)
        with db:
            db.executemany(
                "INSERT OR REPLACE INTO vectors (id, vector) VALUES (?, ?)",
                ((int(i), np.ascontiguousarray(v, dtype=np.float32).tobytes()) for i, v in zip(ids, vectors)),
            )

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def summary(self) -> list[dict]:
        """One row per cached model: fingerprint key, vectors, size."""
        rows: list[dict] = []
        if not self.directory.is_dir():
            return rows
        for path in sorted(self.directory.glob("*.sqlite")):
            count, problem = None, ""
            try:
                connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                try:
                    count = connection.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
                finally:
                    connection.close()
            except sqlite3.Error as exc:
                problem = f"unreadable ({exc}): harness cache --clear"
            size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
            rows.append(
                {
                    "model_key": path.stem,
                    "vectors": count,
                    "size_mb": round(size / 1e6, 2),
                    "path": str(path),
                    "problem": problem,
                }
            )
        return rows

    def clear(self) -> int:
        """Delete every cache file; returns how many model caches were removed."""
        self.close()
        removed = 0
        if self.directory.is_dir():
            for path in self.directory.glob("*.sqlite*"):
                path.unlink()
                removed += path.suffix == ".sqlite"
        return removed


class CachedEmbedder(WrappedEmbedder):
    """An :class:`Embedder` that computes only the vectors the cache lacks, and stores them."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache):
        super().__init__(inner)
        self.cache = cache
        self.stats = CacheStats()
        self.problem: str | None = None  # set when the cache failed and is no longer used
        self._prompts: dict[str, str] | None = None

    def key_for(self, role: Role) -> str:
        """The cache file for one role: the model's key, and the prompt put before the texts
        (a model with no prompts shares its vectors between probes and corpus lines)."""
        if self._prompts is None:
            record = self.inner.describe()
            self._prompts = {"query": record.query_prompt or "", "document": record.document_prompt or ""}
        prompt = self._prompts[role]
        if not prompt:
            return self.inner.cache_key
        return f"{self.inner.cache_key}-p{hashlib.blake2b(prompt.encode('utf-8'), digest_size=4).hexdigest()}"

    def encode(self, texts: Sequence[str], batch_size: int = 64, role: Role = "document") -> np.ndarray:
        if self.problem is not None:
            return self.inner.encode(texts, batch_size=batch_size, role=role)
        key = self.key_for(role)
        ids = [text_id(t) for t in texts]
        try:
            cached = self.cache.get(key, list(dict.fromkeys(ids)), self.dimension)
        except (sqlite3.Error, OSError) as exc:
            self._give_up(exc)
            return self.inner.encode(texts, batch_size=batch_size, role=role)
        missing = [i for i, row_id in enumerate(ids) if row_id not in cached]
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if missing:
            fresh = self.inner.encode([texts[i] for i in missing], batch_size=batch_size, role=role)
            out[missing] = fresh
            try:
                self.cache.put(key, [ids[i] for i in missing], fresh)
            except (sqlite3.Error, OSError) as exc:
                self._give_up(exc)
        hit_rows = [i for i, row_id in enumerate(ids) if row_id in cached]
        if hit_rows:
            out[hit_rows] = np.stack([cached[ids[i]] for i in hit_rows])
        self.stats.hits += len(hit_rows)
        self.stats.misses += len(missing)
        return out

    def _give_up(self, exc: BaseException) -> None:
        """A broken cache (corrupt, read-only, no space) must not stop the run: encode without it."""
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        self.problem = (
            f"embedding cache {self.cache.directory} is unusable ({reason}): "
            "encoding without it; harness cache --clear resets it"
        )


def open_cache(cache: bool | str | Path) -> EmbeddingCache | None:
    """``True``: the default folder; a path: that folder; ``False``: no cache."""
    if cache is False:
        return None
    return EmbeddingCache(None if cache is True else cache)


def with_cache(embedder: Embedder, cache: EmbeddingCache | None) -> Embedder:
    return CachedEmbedder(embedder, cache) if cache is not None else embedder
