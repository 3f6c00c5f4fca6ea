"""Study metrics checked against hand-worked values and independent computations."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr, spearmanr

from harness import evaluation as ev
from harness.errors import HarnessError

CORPORA = __import__("pathlib").Path(__file__).resolve().parent.parent / "corpora"


def _rotation(dim, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    return q


def test_cka_identity_rotation_and_scale_are_one():
    x = np.random.default_rng(1).normal(size=(60, 12))
    assert ev.linear_cka(x, x) == pytest.approx(1.0)
    assert ev.linear_cka(x, x @ _rotation(12)) == pytest.approx(1.0)
    assert ev.linear_cka(x, 3.5 * x + 2.0) == pytest.approx(1.0)
    y = np.random.default_rng(2).normal(size=(60, 12))
    assert ev.linear_cka(x, y) < 0.5


def test_cka_matches_hsic_formula():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(20, 5)), rng.normal(size=(20, 7))
    h = np.eye(20) - np.ones((20, 20)) / 20
    k, l = h @ x @ x.T @ h, h @ y @ y.T @ h
    expected = np.trace(k @ l) / math.sqrt(np.trace(k @ k) * np.trace(l @ l))
    assert ev.linear_cka(x, y) == pytest.approx(expected)


def test_mutual_knn_identical_rotated_and_random():
    x = np.random.default_rng(4).normal(size=(80, 16))
    assert ev.mutual_knn(x, x, 5) == 1.0
    assert ev.mutual_knn(x, x @ _rotation(16), 5) == pytest.approx(1.0)
    y = np.random.default_rng(5).normal(size=(80, 16))
    assert ev.mutual_knn(x, y, 5) < 0.2


def test_mutual_knn_hand_worked():
    # points on a line: neighbours of 0 are {1}, of 1 {0 or 2}...; use k=1 and a clear layout
    a = np.array([[1, 0], [0.99, 0.14], [0, 1], [0.14, 0.99]])
    b = np.array([[1, 0], [0, 1], [0.99, 0.14], [0.14, 0.99]])
    # a pairs (0,1),(2,3); b pairs (0,2),(1,3): every 1-NN differs
    assert ev.mutual_knn(a, a, 1) == 1.0
    assert ev.mutual_knn(a, b, 1) == 0.0


def test_space_alignment_and_warning():
    x = np.random.default_rng(6).normal(size=(50, 8))
    same = ev.space_alignment(x, x @ _rotation(8), k=5)
    assert same["mutual_knn"] == pytest.approx(1.0) and same["cka"] == pytest.approx(1.0)
    assert ev.alignment_warning(same) is None
    other = ev.space_alignment(x, np.random.default_rng(7).normal(size=(50, 8)), k=5)
    warning = ev.alignment_warning(other)
    assert warning and "close to chance" in warning
    assert ev.alignment_warning({"mutual_knn": 0.9, "cka": 0.3})
    assert ev.alignment_warning({"mutual_knn": 0.1, "cka": 0.9})


def test_contrast_hand_worked():
    result = ev.contrast([0.9, 0.7, 0.2, 0.0, 0.1], [1, 1, 0, 0, 0])
    assert result["mean_similar"] == pytest.approx(0.8)
    assert result["mean_dissimilar"] == pytest.approx(0.1)
    assert result["contrast"] == pytest.approx(0.7)
    assert (result["n_similar"], result["n_dissimilar"]) == (2, 3)


def test_cosine_rows():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    b = np.array([[0.0, 2.0], [2.0, 2.0], [1.0, 0.0]])
    assert ev.cosine_rows(a, b).tolist() == pytest.approx([0.0, 1.0, 0.0])


def test_correlations_match_scipy():
    rng = np.random.default_rng(8)
    gold = rng.uniform(0, 5, 40)
    predicted = gold + rng.normal(0, 1.5, 40)
    result = ev.correlations(predicted, gold)
    assert result["spearman"] == pytest.approx(spearmanr(predicted, gold).statistic * 100)
    assert result["pearson"] == pytest.approx(pearsonr(predicted, gold).statistic * 100)
    assert result["n"] == 40
    assert math.isnan(ev.correlations([1, 2], [3, 3])["spearman"])


def test_retrieval_metrics_hand_worked():
    relevant = {"a": 2, "b": 1, "z": 1, "n": 0}
    retrieved = ["x", "a", "y", "b", "n"]
    assert ev.recall_at_k(retrieved, relevant, 2) == pytest.approx(1 / 3)
    assert ev.recall_at_k(retrieved, relevant, 5) == pytest.approx(2 / 3)
    assert ev.reciprocal_rank(retrieved, relevant) == 0.5
    assert ev.reciprocal_rank(["n", "x"], relevant) == 0.0
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    idcg = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert ev.ndcg_at_k(retrieved, relevant, 10) == pytest.approx(dcg / idcg)
    assert ev.ndcg_at_k(["a", "b", "z"], relevant, 10) == pytest.approx(1.0)


def test_exact_knn_matches_sorting():
    rng = np.random.default_rng(9)
    vectors, queries = rng.normal(size=(300, 6)), rng.normal(size=(17, 6))
    found = ev.exact_knn(queries, vectors, 7, chunk=5)
    distances = ((queries[:, None, :] - vectors[None, :, :]) ** 2).sum(-1)
    assert found.tolist() == np.argsort(distances, axis=1)[:, :7].tolist()
    assert ev.exact_knn(queries[:2], vectors[:3], 10).shape == (2, 3)


def test_group_coherence_and_affinity():
    queries = ["x", "x", "y"]
    neighbours = [["x", "y"], ["x", "x"], ["x", "x"]]
    assert ev.group_coherence(queries, neighbours) == pytest.approx((0.5 + 1 + 0) / 3)
    affinity = ev.group_affinity(queries, neighbours).set_index(["query_group", "neighbour_group"])["share"]
    assert affinity[("x", "x")] == pytest.approx(0.75)
    assert affinity[("x", "y")] == pytest.approx(0.25)
    assert affinity[("y", "x")] == pytest.approx(1.0)


def test_nprobe_sweep_and_thresholds():
    assert ev.nprobe_sweep(10) == [1, 2, 4, 8, 10]
    assert ev.nprobe_sweep(8) == [1, 2, 4, 8]
    assert ev.nprobe_sweep(1) == [1]
    frame = pd.DataFrame({"nprobe": [1, 2, 4, 8], "recall_at_k": [0.5, 0.96, 0.99, 1.0]})
    assert ev.first_reaching(frame, 0.95) == 2
    assert ev.first_reaching(frame, 0.99) == 4
    assert ev.first_reaching(frame.head(2), 0.99) is None


def test_shipped_pairs_and_qrels_parse():
    from harness.corpus import load_probes

    pairs = ev.read_pairs(CORPORA / "pairs.csv", "label")
    assert set(pairs["gold"]) == {0.0, 1.0} and pairs.attrs["kind"] == "label"
    graded = ev.read_pairs(CORPORA / "graded-pairs.csv")
    assert graded.attrs["kind"] == "score" and graded["gold"].nunique() > 2
    probes = load_probes(CORPORA / "blake.probes.csv")
    qrels = ev.read_qrels(CORPORA / "blake.qrels.csv", [p.id for p in probes])
    assert len(qrels) > 100 and qrels["corpus_id"].dtype == np.int64


@pytest.mark.parametrize(
    "content, kind, message",
    [
        ("sentence1,label\na,1\n", "label", "line 1: missing column sentence2"),
        ("sentence1,sentence2,score\na,b,1\nc,d,high\n", "score", "line 3: unparseable score 'high'"),
        ("sentence1,sentence2,label\na,b,1\nc,d,2\n", "label", "line 3: label must be 1 or 0"),
        ("sentence1,sentence2,label\na,,1\n", "label", "line 2: empty sentence1 or sentence2"),
        ("sentence1,sentence2,score\n", "score", "has no pairs"),
    ],
)
def test_bad_pairs_name_file_and_line(tmp_path, content, kind, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(HarnessError) as caught:
        ev.read_pairs(path, kind)
    assert str(path) in str(caught.value) and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_qrels_name_file_and_line(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("probe_id,corpus_id\np1,5\n")
    with pytest.raises(HarnessError, match="line 1: missing column relevance"):
        ev.read_qrels(path, ["p1"])
    path.write_text("probe_id,corpus_id,relevance\np1,5,1\np9,5,1\n")
    with pytest.raises(HarnessError, match=r"line 3: unknown probe id 'p9'"):
        ev.read_qrels(path, ["p1"])
    path.write_text("probe_id,corpus_id,relevance\np1,5,x\n")
    with pytest.raises(HarnessError, match=r"line 2: unparseable relevance 'x'"):
        ev.read_qrels(path, ["p1"])
    path.write_text("probe_id,corpus_id,relevance\np1,5,1\np1,77,1\n")
    qrels = ev.read_qrels(path, ["p1"])
    with pytest.raises(HarnessError, match=r"line 3: unknown corpus id 77 \(not in collection c\)"):
        ev.check_qrels_ids(qrels, [5, 6], path, "c")
    with pytest.raises(HarnessError, match="qrels file not found"):
        ev.read_qrels(tmp_path / "missing.csv")


def test_same_text_cosine_sees_a_rotation_that_cka_cannot():
    import numpy as np

    from harness.evaluation import linear_cka, same_text_cosine

    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 8))
    rotation, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    assert same_text_cosine(x, x) == pytest.approx(1.0)
    assert linear_cka(x, x @ rotation) == pytest.approx(1.0)
    # by hand: rows (1,0)·(0,1) -> 0 and (1,0)·(1,0) -> 1, mean 0.5
    assert same_text_cosine(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 2.0], [3.0, 0.0]])) == pytest.approx(0.5)
    assert abs(same_text_cosine(x, x @ rotation)) < 0.5
    assert np.isnan(same_text_cosine(x, x[:, :4]))
