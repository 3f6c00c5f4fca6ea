"""The baselines: BM25 as bm25s scores it (checked against the library and the formula),
and the hashing encoder, which runs through the same paths as any model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.baselines import (
    BM25_SETTINGS,
    BM25S_DEFAULTS,
    DEFINITIONS,
    Baseline,
    Bm25Settings,
    CorpusRows,
    KeywordIndex,
    configure_bm25,
    parse_baselines,
)
from harness.errors import HarnessError
from harness.models import HashingEmbedder, load_model, resolve_model

TEXTS = [
    "Tyger Tyger, burning bright, in the forests of the night",
    "Little Lamb, who made thee? Dost thou know who made thee?",
    "O Rose, thou art sick: the invisible worm that flies in the night",
    "The little boy lost in the lonely fen, led by the wandring light",
    "When my mother died I was very young, and my father sold me",
]


def _lucene_bm25(query: list[str], documents: list[list[str]], k1=1.5, b=0.75) -> list[float]:
    """BM25 as Lucene (and bm25s's default) defines it, written out."""
    n = len(documents)
    average = sum(map(len, documents)) / n
    scores = []
    for document in documents:
        score = 0.0
        for term in set(query):
            df = sum(term in d for d in documents)
            if not df:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            tf = document.count(term)
            score += idf * tf / (tf + k1 * (1 - b + b * len(document) / average))
        scores.append(score)
    return scores


def test_bm25_scores_equal_bm25s_and_the_lucene_formula():
    import bm25s

    index = KeywordIndex(TEXTS, BM25S_DEFAULTS)
    library = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    tokens = bm25s.tokenize(TEXTS, stopwords="en", return_ids=False, show_progress=False)
    library.index(tokens, show_progress=False)
    query = "the little lamb in the night"
    query_tokens = bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)[0]
    ours = index.scores(query)
    assert ours == pytest.approx(library.get_scores(query_tokens), rel=1e-6)
    assert ours == pytest.approx(_lucene_bm25(query_tokens, tokens), rel=1e-5)
    assert BM25_SETTINGS["method"] == "lucene"
    hits = index.search([query], k=10)[0]
    # best first, as many as share a word with the query, each with its own score
    assert [p for p, _ in hits] == sorted(np.flatnonzero(ours > 0), key=lambda p: -ours[p])
    assert [s for _, s in hits] == pytest.approx(sorted(ours[ours > 0], reverse=True), rel=1e-6)
    assert index.search(["zebra"], k=3) == [[]]


def test_the_default_bm25_is_anserinis_beir_setting_with_porter_stemming():
    import Stemmer

    assert Bm25Settings() == Bm25Settings("lucene", 0.9, 0.4, "porter", "en")
    assert "k1 0.9, b 0.4" in DEFINITIONS["bm25"] and "porter stemming" in DEFINITIONS["bm25"]
    songs = ["piping songs of pleasant glee", "the lamb sleeps", "a tiger burning"]
    stemmed, plain = KeywordIndex(songs), KeywordIndex(songs, BM25S_DEFAULTS)
    assert stemmed.search(["a song"], k=3) == [[(0, pytest.approx(stemmed.scores("a song")[0]))]]
    assert plain.search(["a song"], k=3) == [[]]  # the old setting: "song" is not "songs"
    # the scores are Lucene's formula over Porter-stemmed tokens, with k1 0.9 and b 0.4
    stem = Stemmer.Stemmer("porter").stemWords
    words = [stem([w for w in t.lower().replace(",", " ").split() if w not in ("the", "a", "of")]) for t in songs]
    query = stem(["song", "lamb", "sleeping"])
    expected = _lucene_bm25(query, words, k1=0.9, b=0.4)
    assert stemmed.scores("song lamb sleeping") == pytest.approx(expected, rel=1e-5)


def test_the_experiment_file_sets_the_bm25_baseline(tmp_path, run_cli):
    from harness.config import load_experiment

    config = tmp_path / "harness.toml"
    config.write_text('[baselines.bm25]\nk1 = 1.2\nb = 0.75\nstemmer = "english"\n')
    settings = Bm25Settings.from_dict(load_experiment(config).bm25)
    assert settings == Bm25Settings(k1=1.2, b=0.75, stemmer="english")
    try:
        configure_bm25(settings)
        assert KeywordIndex(TEXTS).settings == settings and "k1 1.2, b 0.75" in DEFINITIONS["bm25"]
        assert BM25_SETTINGS["stemmer"] == "english"
    finally:
        configure_bm25()
    assert KeywordIndex(TEXTS).settings == Bm25Settings()
    for text, message in (
        ("[baselines.bm25]\nk_1 = 1.2\n", "unknown key 'k_1' in \\[baselines.bm25\\]"),
        ("[baselines.bm25]\nb = 2\n", "b = 2: expected a number from 0 to 1"),
        ('[baselines.bm25]\nstemmer = "portr"\n', "stemmer = 'portr': expected a PyStemmer algorithm"),
        ("[baselines.bm2]\nk1 = 1\n", "unknown section \\[baselines.bm2\\]"),
    ):
        config.write_text(text)
        with pytest.raises(HarnessError, match=message):
            load_experiment(config)
    config.write_text("[baselines.bm25]\nk_1 = 1.2\n")
    result = run_cli("query", "--config", config, "--probe", "x")
    assert result.code == 1 and "unknown key 'k_1'" in result.err and result.err.count("\n") == 1


def test_baselines_search_by_text_and_from_a_stored_row():
    rows = CorpusRows(np.array([11, 12, 13, 14, 15]), TEXTS, ["a", "a", "b", "b", "c"])
    bm25, hashing = Baseline("bm25", rows), Baseline("hashing", rows)
    assert bm25.name == "baseline:bm25" and not bm25.has_vectors and hashing.has_vectors
    hits = bm25.search_texts(["a sick rose and a worm"], 3)[0]
    assert hits[0].id == 13 and hits[0].distance < 0 and hits[0].group == "b"
    assert [h.id for h in hashing.search_rows([12], 2)[0]][0] == 12  # a stored row finds itself
    found = hashing.search_texts(["little lamb who made thee"], 1)[0][0]
    assert found.id == 12 and found.distance == pytest.approx(
        float(((hashing.vectors([12])[0] - hashing.embedder.encode(["little lamb who made thee"])[0]) ** 2).sum()),
        rel=1e-5,
    )


def test_the_hashing_encoder_is_a_model_like_any_other():
    ref = resolve_model("hashing")
    assert ref.builtin and ref.source == "builtin:hashing" and ref.alias == "hashing"
    embedder = load_model("hashing")
    assert isinstance(embedder, HashingEmbedder) and embedder.dimension == 256
    vectors = embedder.encode(["the little lamb", "The little LAMB!", "a burning tiger"])
    assert vectors.dtype == np.float32 and np.linalg.norm(vectors, axis=1) == pytest.approx(1.0)
    assert vectors[0] @ vectors[1] == pytest.approx(1.0) and abs(vectors[0] @ vectors[2]) < 0.5
    assert embedder.describe().fingerprint == HashingEmbedder().fingerprint


def test_baseline_names_parse_in_one_line():
    assert parse_baselines(None) == ("bm25", "hashing")
    assert parse_baselines("hashing") == ("hashing",) and parse_baselines("none") == ()
    assert parse_baselines(["bm25", "bm25,hashing"]) == ("bm25", "hashing")
    with pytest.raises(HarnessError, match="unknown baseline 'tfidf'; known: bm25, hashing"):
        parse_baselines("tfidf")
