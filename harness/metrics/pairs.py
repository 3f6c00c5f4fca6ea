"""Quality on sentence pairs: contrast on labelled pairs, correlation with graded scores."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def contrast(scores: Sequence[float], labels: Sequence[int]) -> dict:
    """Mean score of similar pairs (label 1) minus mean score of dissimilar pairs (label 0)."""
    values = np.asarray(scores, dtype=np.float64)
    classes = np.asarray(labels)
    similar, dissimilar = values[classes == 1], values[classes == 0]
    mean_s = float(similar.mean()) if len(similar) else float("nan")
    mean_d = float(dissimilar.mean()) if len(dissimilar) else float("nan")
    return {
        "n_similar": int(len(similar)),
        "n_dissimilar": int(len(dissimilar)),
        "mean_similar": mean_s,
        "mean_dissimilar": mean_d,
        "contrast": mean_s - mean_d,
    }


def correlations(predicted: Sequence[float], gold: Sequence[float]) -> dict:
    """Spearman and Pearson correlation, x100 (STS convention)."""
    from scipy.stats import pearsonr, spearmanr

    x = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(gold, dtype=np.float64)
    if len(y) < 2 or np.ptp(y) == 0 or np.ptp(x) == 0:
        return {"n": int(len(y)), "spearman": float("nan"), "pearson": float("nan")}
    return {
        "n": int(len(y)),
        "spearman": float(spearmanr(x, y).statistic) * 100,
        "pearson": float(pearsonr(x, y).statistic) * 100,
    }
