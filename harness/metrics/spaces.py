"""How far two embedding spaces agree, and every threshold and verdict on alignment.

Mutual kNN and CKA compare the two spaces' shapes; both are blind to a rotation, so they
cannot tell whether one model's vectors land near the other's. The same-text cosine and
self-retrieval (does model B's vector of a stored line find that line in model A's
collection?) measure exactly that, and decide whether a cross-model query can be trusted.
"""

from __future__ import annotations

import math

import numpy as np

from harness.errors import HarnessError

MUTUAL_KNN_MIN = 0.2
CKA_MIN = 0.5
SAME_TEXT_COSINE_MIN = 0.8
SELF_RETRIEVAL_GOOD = 0.9
SELF_RETRIEVAL_CHANCE = 0.1


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of a with the same row of b."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    dots = np.einsum("ij,ij->i", a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, dots / np.where(norms > 0, norms, 1), 0.0)


def _knn_self(vectors: np.ndarray, k: int) -> np.ndarray:
    """Each row's k nearest other rows by cosine (self excluded)."""
    x = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.where(norms > 0, norms, 1)
    similarity = x @ x.T
    np.fill_diagonal(similarity, -np.inf)
    k = min(k, len(x) - 1)
    return np.argpartition(-similarity, k - 1, axis=1)[:, :k]


def mutual_knn(vectors_a: np.ndarray, vectors_b: np.ndarray, k: int = 10) -> float:
    """Mean share of each row's k nearest neighbours (cosine) that both spaces agree on."""
    if len(vectors_a) != len(vectors_b):
        raise HarnessError("mutual kNN needs the same rows embedded by both models")
    if len(vectors_a) < 2:
        return float("nan")
    na, nb = _knn_self(vectors_a, k), _knn_self(vectors_b, k)
    kk = na.shape[1]
    return float(np.mean([len(set(ra) & set(rb)) / kk for ra, rb in zip(na.tolist(), nb.tolist())]))


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear centred kernel alignment (Kornblith et al. 2019): 1 for identical or rotated spaces."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) != len(y):
        raise HarnessError("CKA needs the same rows embedded by both models")
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    cross = np.linalg.norm(y.T @ x, "fro") ** 2
    denominator = np.linalg.norm(x.T @ x, "fro") * np.linalg.norm(y.T @ y, "fro")
    return float(cross / denominator) if denominator > 0 else float("nan")


def space_alignment(vectors_a: np.ndarray, vectors_b: np.ndarray, k: int = 10) -> dict:
    """How far two embeddings of the same rows agree: mutual kNN (cosine) and linear CKA."""
    return {"mutual_knn": mutual_knn(vectors_a, vectors_b, k), "cka": linear_cka(vectors_a, vectors_b)}


def same_text_cosine(vectors_a: np.ndarray, vectors_b: np.ndarray) -> float:
    """Mean cosine between two models' vectors of the same rows (NaN when dimensions differ).

    Unlike CKA and mutual kNN, this sees whether the two spaces share coordinates, which is
    what querying one model's collection with the other model's vectors needs.
    """
    if vectors_a.shape != vectors_b.shape or not len(vectors_a):
        return float("nan")
    return float(np.mean(cosine_rows(vectors_a, vectors_b)))


def alignment_warning(alignment: dict) -> str | None:
    """A plain-words warning when two spaces are not aligned in shape, else None."""
    knn, cka = alignment.get("mutual_knn"), alignment.get("cka")
    low_knn = knn is not None and not math.isnan(knn) and knn < MUTUAL_KNN_MIN
    low_cka = cka is not None and not math.isnan(cka) and cka < CKA_MIN
    if not (low_knn or low_cka):
        return None
    return (
        f"the two models' embedding spaces are not aligned (mutual kNN {knn:.2f}, CKA {cka:.2f}): "
        "searching one model's collection with the other model's vectors gives results close to chance"
    )


def cross_model_warning(alignment: dict) -> str | None:
    """Plain words on whether a cross-model query can be trusted, from the measured figures."""
    cosine = alignment.get("same_text_cosine", float("nan"))
    self_hits = alignment.get("self_retrieval_at_1", float("nan"))
    measured = f"same-text cosine {cosine:.2f}, self-retrieval@1 {self_hits:.2f}"
    if self_hits < SELF_RETRIEVAL_CHANCE:
        return (
            f"the probe model's space is not aligned with this collection's model ({measured}): "
            "results of this cross-model query are close to chance"
        )
    shape = alignment_warning(alignment)
    if shape:
        return f"{shape} ({measured})"
    if cosine < SAME_TEXT_COSINE_MIN or self_hits < SELF_RETRIEVAL_GOOD:
        return (
            f"the probe model's space is only partly aligned with this collection's model ({measured}): "
            "cross-model results differ from what the collection's own model would return"
        )
    return None
