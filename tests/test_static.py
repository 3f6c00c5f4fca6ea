"""Static embedding models (model2vec-style StaticEmbedding) through the CLI, offline."""

import json

import numpy as np
import pandas as pd
import pytest

from harness.models import load_model
from harness.store import Store

from conftest import WORDS


@pytest.fixture(scope="module")
def static_model(tmp_path_factory):
    """A StaticEmbedding with a word-level tokenizer and random float16 weights (32-d)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    vocab = {word: index for index, word in enumerate(dict.fromkeys(["[UNK]", *WORDS]))}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    weights = np.random.default_rng(7).standard_normal((len(vocab), 32)).astype(np.float16)
    folder = tmp_path_factory.mktemp("static") / "tiny-static"
    SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_weights=weights)], device="cpu").save(str(folder))
    return folder


def test_static_model_loads_and_casts_to_float32(static_model):
    embedder = load_model(str(static_model), device="cpu")
    assert embedder.dimension == 32
    assert embedder.max_seq_length is None  # StaticEmbedding reports math.inf
    raw = embedder.model.encode(["love and the night sky"], convert_to_numpy=True)
    assert raw.dtype == np.float16  # the model really produces float16
    vectors = embedder.encode(["love and the night sky", "a child lost in the dark city"])
    assert vectors.dtype == np.float32 and vectors.shape == (2, 32)
    assert embedder.truncation(["sing " * 5000]).truncated == 0
    json.dumps(embedder.describe().to_dict(), allow_nan=False)


def test_static_model_ingest_and_query_through_cli(run_cli, static_model, small_corpus, tmp_path):
    db = str(tmp_path / "static.db")
    result = run_cli("ingest", "--corpus", small_corpus, "--uri", db, "--model", static_model)
    assert result.code == 0, result
    assert "harness_tiny_static" in result.out
    records = len({line for line in small_corpus.read_text().splitlines() if line and not line.startswith("#")})
    with Store(db) as store:
        assert store.row_count("harness_tiny_static") == records
        info = store.describe("harness_tiny_static")
        assert info.dimension == 32 and info.index_type == "IVF_FLAT"
        assert info.meta.complete is True
        assert info.meta.model.max_seq_length is None

    out = tmp_path / "out"
    result = run_cli(
        "query",
        "--uri",
        db,
        "--probe",
        "sweet little lamb",
        "--probe",
        "the cold river at night",
        "--top-k",
        "3",
        "--repeats",
        "1",
        "--output",
        out,
    )
    assert result.code == 0, result
    hits = pd.read_csv(out / "hits.csv")
    own = hits[~hits["collection"].str.startswith("baseline:")]
    assert len(own) == 2 * 3 and set(own["collection"]) == {"harness_tiny_static"}
    json.loads((out / "manifest.json").read_text())
