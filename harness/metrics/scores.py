"""Score thresholds across two scales: a threshold tuned on one model's scores, carried to
another model's scores so that it keeps the same share of hits.

A "score" is what the search returns: a distance (L2: smaller is closer) or a similarity
(IP, COSINE: larger is closer). A threshold keeps the hits on its near side; the share it
keeps is the empirical distribution of the scores at the threshold, and the threshold on
another scale that keeps the same share is that scale's quantile at this share.
"""

from __future__ import annotations

import numpy as np

SHARES = (0.1, 0.25, 0.5, 0.75, 0.9)
SIMILARITY_METRICS = {"IP", "COSINE"}


def higher_is_closer(metric: str) -> bool:
    return metric.upper() in SIMILARITY_METRICS


def share_kept(scores: np.ndarray, threshold: float, metric: str = "L2") -> float:
    """Share of the scores on the near side of the threshold (<= for distances, >= for similarities)."""
    scores = np.asarray(scores, dtype=np.float64)
    if not scores.size:
        return float("nan")
    kept = scores >= threshold if higher_is_closer(metric) else scores <= threshold
    return float(np.mean(kept))


def threshold_for_share(scores: np.ndarray, share: float, metric: str = "L2") -> float:
    """The score that keeps this share of the hits (the share-quantile, from the near end)."""
    scores = np.asarray(scores, dtype=np.float64)
    if not scores.size or not 0 <= share <= 1:
        return float("nan")
    level = 1 - share if higher_is_closer(metric) else share
    return float(np.quantile(scores, level))


def quantile_row(scores: np.ndarray, metric: str = "L2", shares: tuple[float, ...] = SHARES) -> dict:
    """The thresholds keeping each share of the hits: ``keep_10`` is the score that keeps 10 %."""
    return {f"keep_{round(share * 100)}": threshold_for_share(scores, share, metric) for share in shares}
