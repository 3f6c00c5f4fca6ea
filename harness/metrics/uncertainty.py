"""How sure a figure is when it averages over few items (probes, pairs, query lines).

Definitions (the README and every study manifest state them too):

- **Interval**: 95% percentile bootstrap. The items are resampled with replacement
  ``RESAMPLES`` times by ``numpy.random.default_rng(seed)``, the figure is recomputed on
  each resample, and the 2.5th and 97.5th percentiles bound it. Stratified figures (contrast)
  resample within each class, so both classes are always present.
- **Paired difference**: both models' figures on the same resampled items (paired
  bootstrap), so the interval is that of the difference itself. A difference whose interval
  includes zero is a **tie**; otherwise the higher model **wins**.
- **p-value**: paired randomization test. Under "no difference" the two models' values of
  an item are exchangeable, so every pattern of swapping them per item is equally likely;
  p is the share of patterns whose difference is at least as large (in absolute value) as
  the observed one: all 2^n patterns when n <= ``EXACT_ITEMS`` (exact), else ``PERMUTATIONS``
  random ones (Monte Carlo, with the observed pattern counted: (hits + 1) / (draws + 1)).
- **Items needed**: a normal-approximation power estimate of how many items would give a
  two-sided test at level 0.05 power 0.8 at the observed difference:
  ``n * ((z_0.975 + z_0.8) * se / |difference|)^2`` with ``se`` the bootstrap standard error of
  the difference on the ``n`` items measured.

A *statistic* maps a matrix of values (one row per resample, one column per drawn item)
and the matching matrix of item positions to one figure per row, so every resample is
computed at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Callable

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 2000
PERMUTATIONS = 10000
EXACT_ITEMS = 16  # 2^16 swap patterns enumerated
SEED = 0
ALPHA, POWER = 0.05, 0.8
CELLS = 4_000_000  # values per block of resamples held at once

Statistic = Callable[[np.ndarray, np.ndarray], np.ndarray]


def mean_statistic(values: np.ndarray, items: np.ndarray) -> np.ndarray:
    return values.mean(axis=1)


def contrast_statistic(labels: np.ndarray) -> Statistic:
    """Mean of the items labelled 1 minus mean of those labelled 0, per row."""
    labels = np.asarray(labels)

    def statistic(values: np.ndarray, items: np.ndarray) -> np.ndarray:
        similar = labels[items] == 1
        dissimilar = labels[items] == 0
        with np.errstate(invalid="ignore", divide="ignore"):
            return (values * similar).sum(axis=1) / similar.sum(axis=1) - (values * dissimilar).sum(
                axis=1
            ) / dissimilar.sum(axis=1)

    return statistic


def _row_ranks(values: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(values, axis=1)  # ties get their average rank, as Spearman's rho needs


def _row_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (x * y).sum(axis=1) / np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1))


def correlation_statistic(gold: np.ndarray, method: str = "spearman", scale: float = 100.0) -> Statistic:
    """Spearman (or Pearson) correlation of the values with the gold scores, per row (x100)."""
    gold = np.asarray(gold, dtype=np.float64)

    def statistic(values: np.ndarray, items: np.ndarray) -> np.ndarray:
        truth = gold[items]
        if method == "spearman":
            return scale * _row_pearson(_row_ranks(values), _row_ranks(truth))
        return scale * _row_pearson(values, truth)

    return statistic


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    n: int

    def columns(self, name: str) -> dict:
        """``{name: estimate, name_ci_low: low, name_ci_high: high}`` for a table row."""
        return {name: self.estimate, f"{name}_ci_low": self.low, f"{name}_ci_high": self.high}


NAN_INTERVAL = Interval(math.nan, math.nan, math.nan, 0)


def _draws(n: int, rng: np.random.Generator, resamples: int, strata: np.ndarray | None) -> np.ndarray:
    """(resamples, n) item positions drawn with replacement (within each stratum)."""
    if strata is None:
        return rng.integers(0, n, size=(resamples, n))
    out = np.empty((resamples, n), dtype=np.int64)
    column = 0
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        out[:, column : column + len(members)] = members[rng.integers(0, len(members), size=(resamples, len(members)))]
        column += len(members)
    return out


def _blocks(n: int, resamples: int):
    step = max(1, CELLS // max(n, 1))
    for start in range(0, resamples, step):
        yield min(step, resamples - start)


def _percentiles(figures: np.ndarray, confidence: float) -> tuple[float, float]:
    figures = figures[np.isfinite(figures)]
    if not len(figures):
        return math.nan, math.nan
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(figures, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap(
    values: np.ndarray,
    statistic: Statistic = mean_statistic,
    *,
    strata: np.ndarray | None = None,
    seed: int = SEED,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
) -> Interval:
    """Percentile bootstrap interval of ``statistic`` over the items (NaN items dropped)."""
    values = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(values)
    positions = np.flatnonzero(keep)
    values = values[keep]
    strata = np.asarray(strata)[keep] if strata is not None else None
    n = len(values)
    if n == 0:
        return NAN_INTERVAL
    estimate = float(statistic(values[None, :], positions[None, :])[0])
    rng = np.random.default_rng(seed)
    figures = []
    for size in _blocks(n, resamples):
        drawn = _draws(n, rng, size, strata)
        figures.append(statistic(values[drawn], positions[drawn]))
    low, high = _percentiles(np.concatenate(figures), confidence)
    return Interval(estimate, low, high, n)


def index_and_exact(metric: str, index_values, exact_values, seed: int, name: str = "value") -> dict:
    """One metric with the configured index search (``name``) and with exact search over the
    same vectors (``exact``), each with its interval, and what the index loses (exact - index)."""
    index = bootstrap(np.asarray(index_values, dtype=np.float64), seed=seed)
    exact = bootstrap(np.asarray(exact_values, dtype=np.float64), seed=seed)
    return {
        "metric": metric,
        "items": index.n,
        **index.columns(name),
        **exact.columns("exact"),
        "index_loss": exact.estimate - index.estimate,
    }


@dataclass(frozen=True)
class Difference:
    """Figure of a minus figure of b on the same items, with its interval and test."""

    a: float
    b: float
    difference: float
    low: float
    high: float
    se: float
    p_value: float
    exact: bool
    n: int

    @property
    def result(self) -> str:
        return verdict(self.low, self.high)

    @property
    def items_needed(self) -> int | None:
        return items_needed(self.difference, self.se, self.n)

    def to_dict(self) -> dict:
        return {
            "items": self.n,
            "a": self.a,
            "b": self.b,
            "difference": self.difference,
            "ci_low": self.low,
            "ci_high": self.high,
            "p_value": self.p_value,
            "test": "exact" if self.exact else "monte-carlo",
            "result": self.result,
            "items_needed": self.items_needed,
        }


def verdict(low: float, high: float) -> str:
    """``win`` when the whole interval of a - b is above zero, ``loss`` below, else ``tie``."""
    if math.isnan(low) or math.isnan(high):
        return "tie"
    if low > 0:
        return "win"
    if high < 0:
        return "loss"
    return "tie"


def items_needed(difference: float, se: float, n: int, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Items a two-sided test at level ``alpha`` needs to reach ``power`` at this difference
    (normal approximation; the spread per item is ``se * sqrt(n)``). None: no difference seen."""
    if not n or not math.isfinite(difference) or not math.isfinite(se) or difference == 0:
        return None
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    return max(1, math.ceil(n * (z * se / abs(difference)) ** 2))


def paired(
    a: np.ndarray,
    b: np.ndarray,
    statistic: Statistic = mean_statistic,
    *,
    strata: np.ndarray | None = None,
    seed: int = SEED,
    resamples: int = RESAMPLES,
    permutations: int = PERMUTATIONS,
    confidence: float = CONFIDENCE,
) -> Difference:
    """Paired bootstrap interval and paired randomization p-value of statistic(a) - statistic(b)
    on the items both have (NaN in either drops the item)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    positions = np.flatnonzero(keep)
    a, b = a[keep], b[keep]
    strata = np.asarray(strata)[keep] if strata is not None else None
    n = len(a)
    if n == 0:
        return Difference(math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, True, 0)
    whole = positions[None, :]
    fa, fb = float(statistic(a[None, :], whole)[0]), float(statistic(b[None, :], whole)[0])
    rng = np.random.default_rng(seed)
    differences = []
    for size in _blocks(n, resamples):
        drawn = _draws(n, rng, size, strata)
        differences.append(statistic(a[drawn], positions[drawn]) - statistic(b[drawn], positions[drawn]))
    spread = np.concatenate(differences)
    low, high = _percentiles(spread, confidence)
    finite = spread[np.isfinite(spread)]
    se = float(finite.std(ddof=1)) if len(finite) > 1 else math.nan
    p_value, exact = randomization_p(a, b, statistic, positions, seed=seed, permutations=permutations)
    return Difference(fa, fb, fa - fb, low, high, se, p_value, exact, n)


def _swap_patterns(n: int, rng: np.random.Generator, permutations: int) -> tuple[np.ndarray, bool]:
    if n <= EXACT_ITEMS:
        codes = np.arange(2**n, dtype=np.int64)
        return ((codes[:, None] >> np.arange(n)) & 1).astype(bool), True
    return rng.random((permutations, n)) < 0.5, False


def randomization_p(
    a: np.ndarray,
    b: np.ndarray,
    statistic: Statistic = mean_statistic,
    positions: np.ndarray | None = None,
    *,
    seed: int = SEED,
    permutations: int = PERMUTATIONS,
) -> tuple[float, bool]:
    """Two-sided p-value of the paired randomization test, and whether it is exact."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n = len(a)
    positions = np.arange(n) if positions is None else np.asarray(positions)
    observed = abs(float(statistic(a[None, :], positions[None, :])[0] - statistic(b[None, :], positions[None, :])[0]))
    swaps, exact = _swap_patterns(n, np.random.default_rng(seed + 1), permutations)
    at_least = 0
    for start in range(0, len(swaps), max(1, CELLS // max(n, 1))):
        block = swaps[start : start + max(1, CELLS // max(n, 1))]
        items = np.broadcast_to(positions, block.shape)
        first, second = np.where(block, b, a), np.where(block, a, b)
        figures = np.abs(statistic(first, items) - statistic(second, items))
        # A relative tolerance: a swapped pattern that reproduces the observed difference counts.
        at_least += int(np.sum(figures >= observed - 1e-12 * max(1.0, observed)))
    if exact:
        return at_least / len(swaps), True
    return (at_least + 1) / (len(swaps) + 1), False
