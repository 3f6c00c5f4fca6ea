"""Retrieval against relevance judgements, and exact nearest neighbours for ground truth."""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np


def recall_at_k(retrieved: Sequence, relevant: dict, k: int) -> float:
    """Share of the relevant items (relevance > 0) found in the top k."""
    wanted = {item for item, rel in relevant.items() if rel > 0}
    if not wanted:
        return float("nan")
    return len(wanted & set(list(retrieved)[:k])) / len(wanted)


def ndcg_at_k(retrieved: Sequence, relevant: dict, k: int = 10) -> float:
    """nDCG@k with linear gain (the relevance) and log2(rank + 1) discount."""
    gains = [float(relevant.get(item, 0)) for item in list(retrieved)[:k]]
    dcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1))
    ideal = sorted((float(r) for r in relevant.values() if r > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else float("nan")


def reciprocal_rank(retrieved: Sequence, relevant: dict) -> float:
    for rank, item in enumerate(retrieved, start=1):
        if relevant.get(item, 0) > 0:
            return 1.0 / rank
    return 0.0


def _squared_distances(queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    q = queries.astype(np.float64)
    v = vectors.astype(np.float64)
    return (q**2).sum(axis=1)[:, None] - 2 * q @ v.T + (v**2).sum(axis=1)[None, :]


def exact_knn(queries: np.ndarray, vectors: np.ndarray, k: int, chunk: int = 512) -> np.ndarray:
    """Indices (into vectors) of each query's k nearest rows by L2, nearest first."""
    queries = np.asarray(queries, dtype=np.float32)
    vectors = np.asarray(vectors, dtype=np.float32)
    k = min(k, len(vectors))
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        distances = _squared_distances(queries[start : start + chunk], vectors)
        if k < len(vectors):
            part = np.argpartition(distances, k - 1, axis=1)[:, :k]
        else:
            part = np.tile(np.arange(len(vectors)), (len(distances), 1))
        order = np.take_along_axis(distances, part, axis=1).argsort(axis=1, kind="stable")
        out[start : start + chunk] = np.take_along_axis(part, order, axis=1)
    return out


def exact_knn_search(
    queries: np.ndarray, batches: Iterable[tuple[np.ndarray, np.ndarray]], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Ids and squared L2 distances of each query's k nearest rows over (ids, vectors)
    batches, nearest first.

    The batches are streamed (a collection read a few thousand rows at a time), so the
    whole matrix is never held; ties keep the row that came first, as :func:`exact_knn`.
    """
    queries = np.asarray(queries, dtype=np.float32)
    best_d = np.full((len(queries), 0), np.inf)
    best_i = np.zeros((len(queries), 0), dtype=np.int64)
    for ids, vectors in batches:
        if not len(ids):
            continue
        distances = _squared_distances(queries, np.asarray(vectors, dtype=np.float32))
        best_d = np.concatenate([best_d, distances], axis=1)
        best_i = np.concatenate([best_i, np.broadcast_to(np.asarray(ids, dtype=np.int64), distances.shape)], axis=1)
        keep = min(k, best_d.shape[1])
        order = np.argsort(best_d, axis=1, kind="stable")[:, :keep]
        best_d = np.take_along_axis(best_d, order, axis=1)
        best_i = np.take_along_axis(best_i, order, axis=1)
    return best_i, best_d
