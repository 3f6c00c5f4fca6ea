"""Alignment of two embedding spaces, checked against hand-worked values and formulas."""

import math

import numpy as np
import pytest

from harness.metrics import spaces


def _rotation(dim, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    return q


def test_cka_identity_rotation_and_scale_are_one():
    x = np.random.default_rng(1).normal(size=(60, 12))
    assert spaces.linear_cka(x, x) == pytest.approx(1.0)
    assert spaces.linear_cka(x, x @ _rotation(12)) == pytest.approx(1.0)
    assert spaces.linear_cka(x, 3.5 * x + 2.0) == pytest.approx(1.0)
    y = np.random.default_rng(2).normal(size=(60, 12))
    assert spaces.linear_cka(x, y) < 0.5


def test_cka_matches_hsic_formula():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(20, 5)), rng.normal(size=(20, 7))
    h = np.eye(20) - np.ones((20, 20)) / 20
    k, l = h @ x @ x.T @ h, h @ y @ y.T @ h  # noqa: E741 (the HSIC formula's names)
    expected = np.trace(k @ l) / math.sqrt(np.trace(k @ k) * np.trace(l @ l))
    assert spaces.linear_cka(x, y) == pytest.approx(expected)


def test_mutual_knn_identical_rotated_and_random():
    x = np.random.default_rng(4).normal(size=(80, 16))
    assert spaces.mutual_knn(x, x, 5) == 1.0
    assert spaces.mutual_knn(x, x @ _rotation(16), 5) == pytest.approx(1.0)
    y = np.random.default_rng(5).normal(size=(80, 16))
    assert spaces.mutual_knn(x, y, 5) < 0.2


def test_mutual_knn_hand_worked():
    # points on a line: neighbours of 0 are {1}, of 1 {0 or 2}...; use k=1 and a clear layout
    a = np.array([[1, 0], [0.99, 0.14], [0, 1], [0.14, 0.99]])
    b = np.array([[1, 0], [0, 1], [0.99, 0.14], [0.14, 0.99]])
    # a pairs (0,1),(2,3); b pairs (0,2),(1,3): every 1-NN differs
    assert spaces.mutual_knn(a, a, 1) == 1.0
    assert spaces.mutual_knn(a, b, 1) == 0.0


def test_space_alignment_and_warning():
    x = np.random.default_rng(6).normal(size=(50, 8))
    same = spaces.space_alignment(x, x @ _rotation(8), k=5)
    assert same["mutual_knn"] == pytest.approx(1.0) and same["cka"] == pytest.approx(1.0)
    assert spaces.alignment_warning(same) is None
    other = spaces.space_alignment(x, np.random.default_rng(7).normal(size=(50, 8)), k=5)
    warning = spaces.alignment_warning(other)
    assert warning and "close to chance" in warning
    assert spaces.alignment_warning({"mutual_knn": 0.9, "cka": 0.3})
    assert spaces.alignment_warning({"mutual_knn": 0.1, "cka": 0.9})


def test_same_text_cosine_sees_a_rotation_that_cka_cannot():
    from harness.metrics.spaces import linear_cka, same_text_cosine

    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 8))
    rotation, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    assert same_text_cosine(x, x) == pytest.approx(1.0)
    assert linear_cka(x, x @ rotation) == pytest.approx(1.0)
    # by hand: rows (1,0)·(0,1) -> 0 and (1,0)·(1,0) -> 1, mean 0.5
    assert same_text_cosine(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 2.0], [3.0, 0.0]])) == pytest.approx(
        0.5
    )
    assert abs(same_text_cosine(x, x @ rotation)) < 0.5
    assert np.isnan(same_text_cosine(x, x[:, :4]))


def test_cosine_rows():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    b = np.array([[0.0, 2.0], [2.0, 2.0], [1.0, 0.0]])
    assert spaces.cosine_rows(a, b).tolist() == pytest.approx([0.0, 1.0, 0.0])
