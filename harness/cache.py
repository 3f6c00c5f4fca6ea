"""On-disk embedding cache keyed by (model fingerprint, text hash).

One SQLite file per model fingerprint, so clearing one model's vectors is deleting a
file. It wraps any encoder: ``EmbeddingCache.encode(embedder, texts)``.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from harness.corpus import text_id

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
        self.stats = CacheStats()
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

    def encode(self, embedder, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """The embedder's vectors for texts, computing only those not cached."""
        key = cache_key(embedder)
        ids = [text_id(t) for t in texts]
        cached = self.get(key, list(dict.fromkeys(ids)), embedder.dimension)
        missing = [i for i, row_id in enumerate(ids) if row_id not in cached]
        out = np.empty((len(texts), embedder.dimension), dtype=np.float32)
        if missing:
            fresh = embedder.encode([texts[i] for i in missing], batch_size=batch_size)
            out[missing] = fresh
            self.put(key, [ids[i] for i in missing], fresh)
        hit_rows = [i for i, row_id in enumerate(ids) if row_id in cached]
        if hit_rows:
            out[hit_rows] = np.stack([cached[ids[i]] for i in hit_rows])
        self.stats.hits += len(hit_rows)
        self.stats.misses += len(missing)
        return out

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def summary(self) -> list[dict]:
        """One row per cached model: fingerprint key, vectors, size."""
        rows = []
        if not self.directory.is_dir():
            return rows
        for path in sorted(self.directory.glob("*.sqlite")):
            connection = sqlite3.connect(path)
            try:
                count = connection.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
            except sqlite3.DatabaseError:
                count = None
            finally:
                connection.close()
            size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
            rows.append({"model_key": path.stem, "vectors": count, "size_mb": round(size / 1e6, 2), "path": str(path)})
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


def cache_key(embedder) -> str:
    """Vectors depend on the weights and the precision they ran in."""
    suffix = "-fp16" if getattr(embedder, "half", False) else ""
    return f"{embedder.fingerprint}{suffix}"
