"""Long texts are encoded in smaller batches (about the same tokens per batch), short ones as
asked; the vectors come back in the order given, equal to one batch's."""

import numpy as np

from harness.models import load_model, resolve_model
from harness.models.sentence import TOKENS_PER_BATCH, token_batches

from fakes import min_cosine


def test_short_texts_keep_the_batch_size_and_long_ones_share_a_token_budget():
    assert token_batches(["a short line"] * 100, 64, 256) == {64: None}
    long = "word " * 300  # beyond a 256-token limit: 256 tokens counted
    groups = token_batches(["short", long, "short", long], 64, 256)
    assert groups == {64: [0, 2], TOKENS_PER_BATCH // 256: [1, 3]}


def test_vectors_come_back_in_order_and_equal_one_batch(tiny_models, monkeypatch):
    import harness.models.sentence as sentence

    monkeypatch.setattr(sentence, "TOKENS_PER_BATCH", 64)  # the tiny model reads 32 tokens at most
    model = load_model(resolve_model(str(tiny_models["tiny-a"])))
    texts = [("love night sky " * (40 if i % 3 == 0 else 1)).strip() for i in range(12)]
    assert set(sentence.token_batches(texts, 8, model.max_seq_length)) == {8, 2}
    mixed = model.encode(texts, 8)
    one_by_one = np.stack([model.encode([t], 1)[0] for t in texts])
    assert min_cosine(mixed, one_by_one) > 0.99999
    model.close()
