"""Quality measures (pairs, retrieval, groups, index fidelity) against hand-worked values
and independent computations."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr, spearmanr

from harness.metrics import groups, index, pairs, retrieval


def test_contrast_hand_worked():
    result = pairs.contrast([0.9, 0.7, 0.2, 0.0, 0.1], [1, 1, 0, 0, 0])
    assert result["mean_similar"] == pytest.approx(0.8)
    assert result["mean_dissimilar"] == pytest.approx(0.1)
    assert result["contrast"] == pytest.approx(0.7)
    assert (result["n_similar"], result["n_dissimilar"]) == (2, 3)


def test_correlations_match_scipy():
    rng = np.random.default_rng(8)
    gold = rng.uniform(0, 5, 40)
    predicted = gold + rng.normal(0, 1.5, 40)
    result = pairs.correlations(predicted, gold)
    assert result["spearman"] == pytest.approx(spearmanr(predicted, gold).statistic * 100)
    assert result["pearson"] == pytest.approx(pearsonr(predicted, gold).statistic * 100)
    assert result["n"] == 40
    assert math.isnan(pairs.correlations([1, 2], [3, 3])["spearman"])


def test_retrieval_metrics_hand_worked():
    relevant = {"a": 2, "b": 1, "z": 1, "n": 0}
    retrieved = ["x", "a", "y", "b", "n"]
    assert retrieval.recall_at_k(retrieved, relevant, 2) == pytest.approx(1 / 3)
    assert retrieval.recall_at_k(retrieved, relevant, 5) == pytest.approx(2 / 3)
    assert retrieval.reciprocal_rank(retrieved, relevant) == 0.5
    assert retrieval.reciprocal_rank(["n", "x"], relevant) == 0.0
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    idcg = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert retrieval.ndcg_at_k(retrieved, relevant, 10) == pytest.approx(dcg / idcg)
    assert retrieval.ndcg_at_k(["a", "b", "z"], relevant, 10) == pytest.approx(1.0)


def test_exact_knn_matches_sorting():
    rng = np.random.default_rng(9)
    vectors, queries = rng.normal(size=(300, 6)), rng.normal(size=(17, 6))
    found = retrieval.exact_knn(queries, vectors, 7, chunk=5)
    distances = ((queries[:, None, :] - vectors[None, :, :]) ** 2).sum(-1)
    assert found.tolist() == np.argsort(distances, axis=1)[:, :7].tolist()
    assert retrieval.exact_knn(queries[:2], vectors[:3], 10).shape == (2, 3)


def test_group_coherence_and_affinity():
    queries = ["x", "x", "y"]
    neighbours = [["x", "y"], ["x", "x"], ["x", "x"]]
    assert groups.group_coherence(queries, neighbours) == pytest.approx((0.5 + 1 + 0) / 3)
    affinity = groups.group_affinity(queries, neighbours).set_index(["query_group", "neighbour_group"])["share"]
    assert affinity[("x", "x")] == pytest.approx(0.75)
    assert affinity[("x", "y")] == pytest.approx(0.25)
    assert affinity[("y", "x")] == pytest.approx(1.0)


def test_nprobe_sweep_and_thresholds():
    assert index.nprobe_sweep(10) == [1, 2, 4, 8, 10]
    assert index.nprobe_sweep(8) == [1, 2, 4, 8]
    assert index.nprobe_sweep(1) == [1]
    # the row of the server's default setting has no value and never counts as the smallest
    frame = pd.DataFrame({"value": [None, 1, 2, 4, 8], "recall_at_k": [1.0, 0.5, 0.96, 0.99, 1.0]})
    assert index.first_reaching(frame, 0.95) == 2
    assert index.first_reaching(frame, 0.99) == 4
    assert index.first_reaching(frame.head(3), 0.99) is None
    assert index.ef_sweep(10) == [10, 20, 40, 80, 160, 320, 512]
    assert index.ef_sweep(600) == [600]
