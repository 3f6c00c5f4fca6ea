"""Intervals, paired tests and the power estimate, checked against synthetic data with a
known answer and against cases worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from harness.metrics.pairs import contrast
from harness.metrics.similarity import distribution, map_threshold, pairwise_cosines
from harness.metrics.uncertainty import (
    bootstrap,
    contrast_statistic,
    correlation_statistic,
    items_needed,
    paired,
    randomization_p,
    verdict,
)


def test_bootstrap_intervals_cover_a_known_mean_at_about_the_nominal_rate():
    rng = np.random.default_rng(7)
    trials, covered = 400, 0
    for trial in range(trials):
        values = rng.exponential(2.0, size=40)  # skewed, mean 2
        interval = bootstrap(values, seed=trial, resamples=1000)
        covered += interval.low <= 2.0 <= interval.high
    # percentile intervals run a little short on small skewed samples; 95% nominal
    assert 0.90 <= covered / trials <= 0.98


def test_bootstrap_drops_missing_items_and_is_seeded():
    values = [1.0, float("nan"), 3.0, 2.0]
    first, again = bootstrap(values, seed=3), bootstrap(values, seed=3)
    assert first == again and first.n == 3 and first.estimate == pytest.approx(2.0)
    assert first.low >= 1.0 and first.high <= 3.0
    assert math.isnan(bootstrap([]).estimate)


def test_the_randomization_test_is_exact_on_cases_worked_by_hand():
    # differences 1, 2, 3: of the 8 sign patterns only +++ and --- reach |mean| 2
    assert randomization_p([1, 2, 3], [0, 0, 0]) == (0.25, True)
    # differences 1, 0, 1: the zero item's sign is free, the two ones must agree: 4 of 8
    assert randomization_p([1, 0, 1], [0, 0, 0]) == (0.5, True)
    assert randomization_p([1, 2], [1, 2]) == (1.0, True)
    # past 16 items it samples swaps; a clear difference is rare under swapping
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 30)
    p, exact = randomization_p(a + 2.0, a)
    assert not exact and p == pytest.approx(1 / 10001)


def test_paired_difference_interval_verdict_and_items_needed():
    a = np.array([0.9, 0.8, 0.7, 1.0, 0.6, 0.9, 0.8, 0.7])
    same = paired(a, a)
    assert same.difference == 0 and same.result == "tie" and same.items_needed is None and same.p_value == 1.0
    better = paired(a, a - 0.2)
    assert better.difference == pytest.approx(0.2) and better.result == "win" and better.low == pytest.approx(0.2)
    assert paired(a - 0.2, a).result == "loss"
    assert verdict(-0.1, 0.3) == "tie" and verdict(0.01, 0.3) == "win" and verdict(-0.3, -0.01) == "loss"
    # n * ((z_0.975 + z_0.8) * se / d)^2 = 15 * (2.8016 * 0.05 / 0.1)^2 = 29.4 -> 30
    assert items_needed(0.1, 0.05, 15) == 30
    assert items_needed(0.0, 0.05, 15) is None


def test_statistics_match_the_figures_they_resample():
    rng = np.random.default_rng(1)
    scores, labels, gold = rng.random(30), (rng.random(30) > 0.5).astype(int), rng.random(30)
    items = np.arange(30)[None, :]
    assert contrast_statistic(labels)(scores[None, :], items)[0] == pytest.approx(contrast(scores, labels)["contrast"])
    rho = correlation_statistic(gold)(scores[None, :], items)[0]
    assert rho == pytest.approx(spearmanr(scores, gold).statistic * 100)
    interval = bootstrap(scores, contrast_statistic(labels), strata=labels)
    assert interval.low <= interval.estimate <= interval.high


def test_similarity_distribution_and_threshold_map():
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(20, 5))
    cosines = pairwise_cosines(vectors)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    brute = [unit[i] @ unit[j] for i in range(20) for j in range(i + 1, 20)]
    assert cosines == pytest.approx(brute) and len(cosines) == 190
    figures = distribution(cosines)
    assert figures["pairs"] == 190 and figures["q0.5"] == pytest.approx(np.median(brute))
    source = np.linspace(0, 1, 1001)
    # the target's scores are the source's doubled: a threshold maps to its double
    assert map_threshold(0.3, source, 2 * source) == pytest.approx(0.6, abs=0.005)
