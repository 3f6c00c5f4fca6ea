"""Probes are encoded as queries and corpus lines as documents, each with the prompt the
model declares (or the user's), recorded with the collection; and L2 search ranks as the
model's own similarity does (cosine models are normalised; a dot-product model is flagged)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from harness.cache import CachedEmbedder, EmbeddingCache
from harness.models import load_model
from harness.store import Store

from fakes import min_cosine


def _variant_of(folder, target, **config):
    shutil.copytree(folder, target)
    path = target / "config_sentence_transformers.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **config}))
    return target


@pytest.fixture(scope="module")
def prompted(tiny_models, tmp_path_factory):
    """tiny-a whose config names its prompts as e5 does: "query" and "passage" (not "document")."""
    return _variant_of(
        tiny_models["tiny-a"],
        tmp_path_factory.mktemp("prompted") / "tiny-prompted",
        prompts={"query": "query: ", "passage": "passage: "},
    )


def _plain(embedder, texts):
    """The model's raw encode of exactly these texts, no prompt, normalised as the harness stores."""
    raw = embedder.model.encode(list(texts), prompt="", convert_to_numpy=True)
    return raw / np.linalg.norm(raw, axis=1, keepdims=True)


def test_prompts_reach_the_right_side(run_cli, prompted, small_corpus, tmp_path):
    db = tmp_path / "p.db"
    result = run_cli("ingest", "--corpus", small_corpus, "--uri", db, "-m", prompted, "--nlist", "2")
    assert result.code == 0, result
    embedder = load_model(str(prompted), device="cpu")
    with Store(str(db)) as store:
        meta = store.collection_meta("harness_tiny_prompted")
        store.ensure_loaded("harness_tiny_prompted")
        first = next(store.rows("harness_tiny_prompted", batch_size=5))
        texts, stored = first.texts, first.vectors
    assert (meta.model.query_prompt, meta.model.document_prompt) == ("query: ", "passage: ")
    # stored vectors are "passage: " + line, not the line alone, nor "query: " + line
    assert min_cosine(stored, _plain(embedder, ["passage: " + t for t in texts])) >= 0.99999
    assert not np.allclose(stored, _plain(embedder, texts), atol=1e-3)

    out = tmp_path / "q"
    probe = "sweet little lamb"
    result = run_cli("query", "--uri", db, "--probe", probe, "--repeats", "0", "--output", out, "--top-k", "3")
    assert result.code == 0, result
    manifest = json.loads((out / "manifest.json").read_text())
    used = manifest["models"]["harness_tiny_prompted"]["probe_model"]
    assert (used["query_prompt"], used["document_prompt"]) == ("query: ", "passage: ")
    with Store(str(db)) as store:
        store.ensure_loaded("harness_tiny_prompted")
        expected = store.search("harness_tiny_prompted", _plain(embedder, ["query: " + probe]), 3, 2)[0]
    rows = [line.split(",") for line in (out / "hits.csv").read_text().splitlines()[1:]]
    hits = [int(row[4]) for row in rows if row[2] == "harness_tiny_prompted"]  # the baselines are searched too
    assert hits == [h.id for h in expected]


def test_prompt_overrides_and_a_changed_document_prompt_is_refused(run_cli, prompted, small_corpus, tmp_path):
    db = tmp_path / "o.db"
    args = ["ingest", "--corpus", small_corpus, "--uri", db, "-m", prompted, "--nlist", "2"]
    assert run_cli(*args).code == 0
    result = run_cli(*args, "--document-prompt", "")
    assert result.code == 1 and "built with document prompt 'passage: ', not ''" in result.err
    assert run_cli(*args, "--document-prompt", "", "--query-prompt", "find: ", "--recreate").code == 0
    embedder = load_model(str(prompted), device="cpu")
    with Store(str(db)) as store:
        meta = store.collection_meta("harness_tiny_prompted")
        store.ensure_loaded("harness_tiny_prompted")
        _, stored, texts, _ = next(store.rows("harness_tiny_prompted", batch_size=5))
    assert (meta.model.query_prompt, meta.model.document_prompt) == ("find: ", "")
    assert min_cosine(stored, _plain(embedder, texts)) >= 0.99999
    # a later query uses the prompt chosen at ingest, unless told otherwise
    for extra, expected in (((), "find: "), (("--query-prompt", ""), "")):
        out = tmp_path / f"q{len(extra)}"
        result = run_cli("query", "--uri", db, "--probe", "lamb", "--repeats", "0", "--output", out, *extra)
        assert result.code == 0, result
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["models"]["harness_tiny_prompted"]["probe_model"]["query_prompt"] == expected


def test_the_cache_never_serves_one_roles_vectors_for_the_other(prompted, tmp_path):
    embedder = load_model(str(prompted), device="cpu")
    cached = CachedEmbedder(embedder, EmbeddingCache(tmp_path / "cache"))
    text = ["the cold river at night"]
    as_query = cached.encode(text, role="query")
    as_document = cached.encode(text, role="document")
    assert cached.stats.hits == 0 and cached.key_for("query") != cached.key_for("document")
    assert min_cosine(as_query, _plain(embedder, ["query: " + text[0]])) >= 0.99999
    assert min_cosine(as_document, _plain(embedder, ["passage: " + text[0]])) >= 0.99999
    assert cached.encode(text, role="query").tolist() == as_query.tolist() and cached.stats.hits == 1


def test_l2_search_ranks_as_cosine_for_an_unnormalised_cosine_model(run_cli, tiny_models, small_corpus, tmp_path):
    folder = tiny_models["tiny-a"]  # Transformer + mean Pooling: no Normalize, similarity cosine
    db = tmp_path / "s.db"
    assert run_cli("ingest", "--corpus", small_corpus, "--uri", db, "-m", folder, "--nlist", "1").code == 0
    embedder = load_model(str(folder), device="cpu")
    lines = [line for line in small_corpus.read_text().splitlines() if line and not line.startswith("#")]
    raw_lines = embedder.model.encode(lines, convert_to_numpy=True)
    assert np.ptp(np.linalg.norm(raw_lines, axis=1)) > 0.05  # the raw vectors really differ in length
    probes = ["sweet little lamb", "the cold river at night", "love and sorrow", "a dark city street"]
    raw_probes = embedder.model.encode(probes, convert_to_numpy=True)
    with Store(str(db)) as store:
        meta = store.collection_meta("harness_tiny_a")
        store.ensure_loaded("harness_tiny_a")
        found = store.search("harness_tiny_a", embedder.encode(probes, role="query"), 10, 1)
    assert meta.model.similarity_fn_name == "cosine" and meta.model.normalized is True
    unit = raw_lines / np.linalg.norm(raw_lines, axis=1, keepdims=True)
    ids = {text: i for i, text in enumerate(lines)}
    raw_l2_differs = False
    for probe, hits in zip(raw_probes, found):
        cosine = unit @ (probe / np.linalg.norm(probe))
        assert [ids[h.text] for h in hits] == list(np.argsort(-cosine, kind="stable")[:10])
        raw_l2 = np.argsort(((raw_lines - probe) ** 2).sum(axis=1), kind="stable")[:10]
        raw_l2_differs |= list(raw_l2) != [ids[h.text] for h in hits]
    assert raw_l2_differs  # without normalising, L2 would have ranked otherwise


def test_a_dot_product_model_is_flagged(run_cli, tiny_models, small_corpus, tmp_path):
    dot = _variant_of(tiny_models["tiny-a"], tmp_path / "tiny-dot", similarity_fn_name="dot")
    db = tmp_path / "d.db"
    result = run_cli("ingest", "--corpus", small_corpus, "--uri", db, "-m", dot, "--nlist", "2")
    assert result.code == 0, result
    assert "scores by dot similarity" in result.out and "ranks differently" in result.out
    with Store(str(db)) as store:
        model = store.collection_meta("harness_tiny_dot").model
    assert model.similarity_fn_name == "dot" and model.normalized is False
    result = run_cli("query", "--uri", db, "--probe", "sweet lamb", "--repeats", "0")
    assert result.code == 0 and "ranks differently" in result.out
