"""Shared fixtures: tiny random sentence-transformers models, temp state, CLI runner."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO / "corpora"
sys.path.insert(0, str(REPO / "bench"))  # the synthetic corpora of the benchmarks

# No test may reach the Hugging Face hub; a closed local port fails fast.
os.environ["HF_ENDPOINT"] = "http://127.0.0.1:9"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WORDS = (
    "the a and of to in i my you your love heart night day sun moon star sky sea river road rain "
    "fire cold warm light dark child children mother father lamb tiger rose worm tree green sing song "
    "weep cry joy sorrow sweet little lost found city street church chimney sweep soot dream sleep "
    "home away old young bird wing flower garden gold silver king god angel world life death time"
).split()


def _make_model(folder: Path, hidden: int, seed: int) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(seed)
    raw = folder / "raw"
    raw.mkdir(parents=True)
    letters = "abcdefghijklmnopqrstuvwxyz"
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *letters, *[f"##{c}" for c in letters]]
    vocab = {token: index for index, token in enumerate(dict.fromkeys(tokens))}
    # transformers 5 ignores a vocab_file here (every token becomes [UNK]); a dict works.
    tokenizer = BertTokenizerFast(vocab=vocab, do_lower_case=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=hidden * 2,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(raw)
    tokenizer.save_pretrained(raw)
    transformer = Transformer(str(raw), max_seq_length=32)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    out = folder / folder.name
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Three random BERTs: tiny-a and tiny-b (16-d, different weights), tiny-wide (24-d)."""
    base = tmp_path_factory.mktemp("models")
    return {
        "tiny-a": _make_model(base / "tiny-a", 16, seed=1),  # the folder name is the alias
        "tiny-b": _make_model(base / "tiny-b", 16, seed=2),
        "tiny-wide": _make_model(base / "tiny-wide", 24, seed=3),
    }


@pytest.fixture(autouse=True)
def isolated_state(tmp_path, monkeypatch):
    """Each test gets its own cache folder and working directory, and no Milvus env."""
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HARNESS_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("MILVUS_URI", raising=False)
    monkeypatch.delenv("MILVUS_TOKEN", raising=False)
    # Output captured by a test is not a terminal: no progress line unless the test asks for one.
    monkeypatch.setattr("harness.cli.common.PROGRESS_INTERVAL", 3600.0)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield


@pytest.fixture
def small_corpus(tmp_path) -> Path:
    path = tmp_path / "songs.txt"
    lines = []
    for song in range(6):
        lines.append(f"# Song {song}")
        for line in range(12):
            words = [WORDS[(song * 7 + line * 3 + k * 5) % len(WORDS)] for k in range(6)]
            lines.append(" ".join(words) + f" {WORDS[(song + line) % len(WORDS)]}")
        lines.append("")
    path.write_text("\n".join(lines) + "\n")
    return path


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, out={self.out[-2000:]!r}, err={self.err[-2000:]!r})"


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """Run `harness ARGS...` in-process through the real entry point (error handling included)."""
    from harness.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["harness", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def pytest_collection_modifyitems(items):
    # Tests on real (tiny) models load torch and sentence-transformers: integration tests.
    for item in items:
        if {"tiny_models", "static_model"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
