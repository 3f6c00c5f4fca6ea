"""Truncation measured and carried through: counted by the model's own tokenizer at ingest,
recorded with the collection, in the ingest report and in the study's cost table."""

from __future__ import annotations

import json

import pytest

from harness.records import CollectionMeta, Truncation
from harness.study import StudyPlan


@pytest.fixture
def long_corpus(tmp_path):
    path = tmp_path / "long.txt"
    short = [f"love and the night sky {i}" for i in range(6)]
    long = [" ".join(["love", "night", "sky", "sea"] * 15) + f" {i}" for i in range(2)]  # 61 words + 2 specials
    path.write_text("\n".join(short + long) + "\n")
    return path


def test_ingest_records_truncation_and_the_cost_table_shows_it(run_cli, tiny_models, long_corpus, tmp_path):
    from harness import ingest
    from harness.store import connect
    from harness.study import evaluate

    db = str(tmp_path / "t.db")
    model = str(tiny_models["tiny-a"])
    report = ingest(long_corpus, [model], db, index="FLAT")
    row = report.models[0]
    # the tiny model reads 32 tokens: each long line has 63 (61 words, [CLS], [SEP]), 31 cut off
    assert (row.truncated, row.max_seq_length) == (2, 32)
    assert row.cut_share == pytest.approx(31 / 63)
    with connect(db) as store:
        meta = store.collection_meta("harness_tiny_a")
    assert meta.truncation is not None and (meta.truncation.documents, meta.truncation.truncated) == (8, 2)
    assert meta.truncation.mean_cut_share == pytest.approx(31 / 63, abs=1e-6)
    assert json.loads(meta.to_json())["truncation"] == {
        "documents": 8,
        "truncated": 2,
        "truncated_share": 0.25,
        "mean_cut_share": round(31 / 63, 6),
    }
    assert meta.summary()["truncation"]["truncated"] == 2
    again = ingest(long_corpus, [model], db, index="FLAT")  # nothing to do: the recorded figures
    assert (again.models[0].rows_added, again.models[0].truncated) == (0, 2)
    study = evaluate(
        ["harness_tiny_a"], db, plan=StudyPlan(measures="cost", baselines="none", repeats=1, cost_sample=4)
    )
    assert study.tables["cost"]["truncated_share"].tolist() == [0.25]
    shown = run_cli("ingest", "--corpus", long_corpus, "-m", model, "--uri", db, "--index", "FLAT", "--recreate")
    assert shown.code == 0, shown
    assert "2 of 8 documents (25%) are longer than tiny-a's max sequence length (32 tokens)" in shown.out
    assert "49% of their tokens on average are not read" in shown.out


def test_max_seq_length_is_recorded_and_a_collection_read_to_another_length_is_refused(
    run_cli, tiny_models, long_corpus, tmp_path
):
    from harness.store import connect

    db = str(tmp_path / "m.db")
    model = str(tiny_models["tiny-a"])
    args = ("ingest", "--corpus", long_corpus, "-m", model, "--uri", db, "--index", "FLAT")
    longer = run_cli(*args, "--max-seq-length", "64")
    assert longer.code == 0, longer
    assert "longer than" not in longer.out  # 63 tokens fit in 64
    with connect(db) as store:
        meta = store.collection_meta("harness_tiny_a")
    assert meta.model.max_seq_length == 64 and meta.truncation == Truncation(8, 0, 0.0)
    refused = run_cli(*args)
    assert refused.code == 1 and "built with max sequence length 64, not 32" in refused.err
    too_long = run_cli(*args, "--max-seq-length", "65", "--recreate")
    assert too_long.code == 1 and "reads at most 64 tokens" in too_long.err


def test_metadata_without_truncation_reads_as_not_measured():
    old = {"schema_version": 2, "model": {"alias": "m"}, "corpus": {}, "index": {"type": "FLAT"}, "complete": True}
    meta = CollectionMeta.from_dict(old)
    assert meta.truncation is None and "truncation" not in meta.to_dict() and "truncation" not in meta.summary()
