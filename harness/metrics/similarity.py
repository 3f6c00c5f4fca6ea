"""The corpus-wide distribution of a model's similarity scores, and carrying a similarity
threshold from one model to another by quantile.

A threshold tuned on one model ("cosine above 0.5 is a match") means something else for
another whose scores sit higher or lower overall (on the Blake corpus the mean cosine of
two random lines is 0.18 for all-MiniLM-L6-v2 and 0.60 for minilm-sre). Matching
quantiles keeps the share of corpus pairs above the threshold the same.
"""

from __future__ import annotations

import numpy as np

QUANTILES = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999)


def pairwise_cosines(vectors: np.ndarray) -> np.ndarray:
    """Cosine of every two distinct rows (the upper triangle, row-major)."""
    x = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.where(norms > 0, norms, 1)
    upper = np.triu_indices(len(x), k=1)
    return (x @ x.T)[upper]


def distribution(cosines: np.ndarray, quantiles=QUANTILES) -> dict:
    """pairs, mean, std, min, max and the quantiles (linear interpolation) of the scores."""
    values = np.asarray(cosines, dtype=np.float64)
    if not len(values):
        return {"pairs": 0}
    row = {
        "pairs": int(len(values)),
        "mean": float(values.mean()),
        "std": float(values.std()),
        "min": float(values.min()),
    }
    row.update({f"q{q:g}": float(v) for q, v in zip(quantiles, np.quantile(values, quantiles))})
    row["max"] = float(values.max())
    return row


def threshold_quantile(threshold: float, cosines: np.ndarray) -> float:
    """Share of the scores below the threshold (its quantile in this distribution)."""
    values = np.asarray(cosines, dtype=np.float64)
    return float(np.mean(values < threshold)) if len(values) else float("nan")


def map_threshold(threshold: float, source: np.ndarray, target: np.ndarray) -> float:
    """The target model's score at the quantile the threshold has among the source's scores."""
    if not len(source) or not len(target):
        return float("nan")
    return float(np.quantile(np.asarray(target, dtype=np.float64), threshold_quantile(threshold, source)))
