"""What an alignment works on: its settings, the two sides (the old collection, the new model
or its collection), the rows they share, and the seeded split of those rows into a held-out
test set and an ordered training pool."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from harness.errors import HarnessError
from harness.maps import MAP_KINDS, MapError, Space
from harness.models import Embedder, ModelRef, ref_for_record
from harness.records import CollectionMeta
from harness.store import VectorStore, require_searchable

EmbedderLoader = Callable[[ModelRef], Embedder]
MAX_TRAIN = 5000  # the largest default training sample: Drift-Adapter trains on a few thousand pairs
MAX_TEST = 1000


@dataclass(frozen=True)
class AlignSettings:
    kinds: tuple[str, ...] | None = None  # None: every kind the two dimensions allow
    train_sizes: tuple[int, ...] | None = None  # None: cap/8, cap/4, cap/2, cap (cap: pool, at most MAX_TRAIN)
    test_size: int | None = None  # None: a fifth of the shared rows, at most MAX_TEST
    top_k: int = 10
    nprobe: int | None = None
    seed: int = 0
    batch_size: int = 64
    rbo_p: float = 0.9
    score_threshold: float | None = None  # a threshold tuned on the old model's scores
    ef: int | None = None  # HNSW search breadth; each collection is searched with its own index's parameter

    def __post_init__(self) -> None:
        if self.score_threshold is not None and not math.isfinite(self.score_threshold):
            raise HarnessError(f"--score-threshold must be a number, not {self.score_threshold}")
        for sizes, option in (
            (self.train_sizes, "--train-sizes"),
            ((self.test_size,) if self.test_size else (), "--test-size"),
        ):
            bad = [n for n in sizes or () if n < 1]
            if bad:
                raise HarnessError(f"{option} must be at least 1, not {bad[0]}")

    def to_dict(self) -> dict:
        return {
            "kinds": list(self.kinds) if self.kinds else None,
            "train_sizes": list(self.train_sizes) if self.train_sizes else None,
            "test_size": self.test_size,
            "top_k": self.top_k,
            "nprobe": self.nprobe,
            "ef": self.ef,
            "seed": self.seed,
            "rbo_p": self.rbo_p,
            "score_threshold": self.score_threshold,
        }


@dataclass(frozen=True)
class Split:
    test: np.ndarray  # ids never used in fitting
    pool: np.ndarray  # training ids, in the order samples are drawn: size N trains on pool[:N]


def split_ids(ids: Sequence[int] | np.ndarray, test_size: int | None, seed: int = 0) -> Split:
    """A seeded split of the shared ids into held-out test rows and an ordered training pool.

    The ids are sorted first, so the split depends only on which ids are shared, not on the
    order a server returns them in.
    """
    ids = np.unique(np.asarray(ids, dtype=np.int64))
    if len(ids) < 4:
        raise HarnessError(f"only {len(ids)} rows in common: fitting and testing a map needs at least 4")
    test = test_size if test_size is not None else min(MAX_TEST, max(2, len(ids) // 5))
    if test < 1 or test > len(ids) - 2:
        raise HarnessError(f"--test-size {test} leaves too few of the {len(ids)} shared rows to fit on (2 at least)")
    order = np.random.default_rng(seed).permutation(len(ids))
    return Split(test=ids[order[:test]], pool=ids[order[test:]])


def train_sizes(given: Sequence[int] | None, pool: int, test: int) -> list[int]:
    if given:
        for size in given:
            if size < 2:
                raise HarnessError(f"--train-size {size}: a map needs at least 2 training rows")
            if size > pool:
                raise HarnessError(
                    f"training sample of {size} rows is larger than the {pool} shared rows left after holding out "
                    f"{test} for testing"
                )
        return sorted(set(int(s) for s in given))
    cap = min(pool, MAX_TRAIN)
    return sorted({s for s in (cap // 8, cap // 4, cap // 2, cap) if s >= 2})


class Side:
    """One model of the migration: its collection (when it has one) and its model, loaded once."""

    def __init__(
        self,
        load: EmbedderLoader,
        ref: ModelRef,
        collection: str | None,
        meta: CollectionMeta | None,
        store: VectorStore | None = None,
    ):
        self.load, self.ref, self.collection, self.meta, self.store = load, ref, collection, meta, store
        self._embedder: Embedder | None = None

    @property
    def embedder(self) -> Embedder:
        """The model, loaded on first use; refused when its vectors do not fit its collection."""
        if self._embedder is None:
            embedder = self.load(self.ref)
            dimension = self.store.describe(self.collection).dimension if self.store and self.collection else None
            if dimension is not None and dimension != embedder.dimension:
                embedder.close()
                raise HarnessError(
                    f"model {self.ref.spec} makes {embedder.dimension}-dimensional vectors, "
                    f"but collection {self.collection} holds {dimension}-dimensional vectors"
                )
            self._embedder = embedder
        return self._embedder

    def dimension(self, store: VectorStore) -> int:
        if self.collection:
            return int(store.describe(self.collection).dimension or 0)
        return self.embedder.dimension

    def space(self, store: VectorStore) -> Space:
        model = self.meta.model if self.meta else None
        fingerprint = model.fingerprint if model and model.fingerprint else ""
        if not fingerprint and (self._embedder is not None or not self.collection):
            fingerprint = self.embedder.fingerprint
        return Space(
            alias=model.alias if model else self.ref.alias,
            fingerprint=fingerprint,
            dimension=self.dimension(store),
            spec=(model.spec if model else "") or self.ref.spec,
            collection=self.collection or "",
        )

    def close(self) -> None:
        if self._embedder is not None:
            self._embedder.close()


def collection_side(store: VectorStore, name: str, load: EmbedderLoader) -> Side:
    meta = store.require_collection(name)
    require_searchable(store, name)
    return Side(load, ref_for_record(meta.model), name, meta, store)


def map_kinds(wanted: tuple[str, ...] | None, new_dim: int, old_dim: int, notes: list[str]) -> list[str]:
    for kind in wanted or ():
        if kind not in MAP_KINDS:
            raise MapError(f"unknown map kind {kind!r} (known: {', '.join(MAP_KINDS)})")
    if wanted and "procrustes" in wanted and new_dim != old_dim:
        raise MapError(
            f"procrustes needs the same dimension in both spaces (new model {new_dim}-d, old collection "
            f"{old_dim}-d): use ridge, low-rank or mlp"
        )
    kinds = list(dict.fromkeys(wanted or MAP_KINDS))
    if new_dim != old_dim and "procrustes" in kinds:
        kinds.remove("procrustes")
        notes.append(f"procrustes skipped: the new model is {new_dim}-d and the old collection {old_dim}-d")
    return kinds


def all_ids(store: VectorStore, name: str) -> np.ndarray:
    parts = [batch.ids for batch in store.rows(name, vectors=False)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def split_table(split: Split) -> pd.DataFrame:
    test = pd.DataFrame({"id": split.test, "role": "test", "order": np.arange(len(split.test))})
    pool = pd.DataFrame({"id": split.pool, "role": "train", "order": np.arange(len(split.pool))})
    return pd.concat([test, pool], ignore_index=True)
