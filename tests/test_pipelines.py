"""Ingest, query and the study's measures on the fakes: the pipelines' logic in milliseconds.

The same behaviour is tested end to end on tiny real models and Milvus Lite elsewhere;
here each rule is isolated (resume, fingerprint refusal, cross-model checks, each measure).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.errors import HarnessError, ModelError, StoreError
from harness.ingestion import ingest_model
from harness.inputs import CorpusReader
from harness.querying import run_query
from harness.records import Probe
from harness.study import MEASURES, StudyInputs, StudySettings, run_study
from harness.study.base import Measure, Table

from fakes import FakeEmbedder, FakeVariant, MemoryStore

LINES = [
    f"{a} {b} {c}"
    for a in ("sweet", "cold", "dark", "little")
    for b in ("lamb", "river", "night", "city")
    for c in ("sings", "weeps", "sleeps", "burns")
]


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "c.txt"
    groups = [LINES[i : i + 16] for i in range(0, len(LINES), 16)]
    path.write_text("\n".join(f"# Song {n}\n" + "\n".join(g) + "\n" for n, g in enumerate(groups)))
    return CorpusReader(path)


def _ingest(store, corpus, embedder, **kw):
    list(corpus)  # stats
    return ingest_model(store, corpus, embedder, corpus.sha256(), chunk_size=10, total_hint=corpus.stats.records, **kw)


def test_ingest_resumes_after_a_failure_without_duplicates(corpus):
    store, embedder = MemoryStore(), FakeEmbedder("fake-a")
    store.fail_insert_after = 25
    with pytest.raises(StoreError, match="server gone"):
        _ingest(store, corpus, embedder)
    name = "harness_fake_a"
    assert 0 < store.row_count(name) < len(LINES)
    assert store.collection_meta(name).complete is False
    store.fail_insert_after = None
    before = embedder.encoded
    result = _ingest(store, corpus, embedder)
    ids = store.ids(name)
    assert len(ids) == len(set(ids)) == len(LINES)
    assert result.rows_present + result.rows_added == len(LINES)
    assert embedder.encoded - before == result.rows_added  # only the missing rows were encoded
    assert store.collection_meta(name).complete is True
    again = _ingest(store, corpus, embedder)
    assert again.rows_added == 0 and again.rows_present == len(LINES)


def test_other_weights_under_the_same_name_are_refused(corpus):
    store = MemoryStore()
    _ingest(store, corpus, FakeEmbedder("fake-a", seed=0))
    with pytest.raises(StoreError, match="was built by model fake-a .*use --recreate"):
        _ingest(store, corpus, FakeEmbedder("fake-a", seed=1))
    _ingest(store, corpus, FakeEmbedder("fake-a", seed=1), recreate=True)


def _loader(*embedders):
    by_alias = {e.alias: e for e in embedders}
    return lambda ref: by_alias[ref.alias]


PROBES = [Probe("p1", "sweet lamb sings"), Probe("p2", "cold river weeps")]


def test_query_agreement_and_cross_model_warning(corpus):
    store = MemoryStore()
    a, b, wide = FakeEmbedder("fake-a"), FakeEmbedder("fake-b", seed=5), FakeEmbedder("fake-wide", dimension=12)
    _ingest(store, corpus, a)
    _ingest(store, corpus, FakeEmbedder("fake-a", seed=0), prefix="copy")
    result = run_query(store, PROBES, None, _loader(a, b, wide), repeats=0)
    assert (result.overlap["overlap_at_k"] == 1.0).all()  # the same model twice agrees fully
    crossed = run_query(store, PROBES, ["harness_fake_a"], _loader(a, b, wide), probe_model="fake-b", repeats=0)
    row = crossed.alignment.iloc[0]
    assert row["probe_model"] == "fake-b" and row["self_retrieval_at_1"] < 0.5
    assert any("not aligned" in w for w in crossed.warnings)
    with pytest.raises(ModelError, match="12-dimensional .* 8-dimensional"):
        run_query(store, PROBES, ["harness_fake_a"], _loader(a, b, wide), probe_model="fake-wide", repeats=0)


@pytest.fixture
def study_store(corpus):
    store = MemoryStore()
    a, b = FakeEmbedder("fake-a"), FakeEmbedder("fake-b", seed=3)
    cut = FakeVariant(a, 4)
    for embedder in (a, b, cut):
        _ingest(store, corpus, embedder)
    return store, _loader(a, b, cut)


def _inputs():
    pairs = pd.DataFrame(
        {
            "sentence1": ["sweet lamb", "cold river", "dark city"],
            "sentence2": ["sweet lamb sings", "burning city", "dark city sleeps"],
            "gold": [1.0, 0.0, 1.0],
        }
    )
    graded = pairs.assign(gold=[4.5, 0.5, 4.0])
    from harness.records import text_id

    qrels = pd.DataFrame(
        {
            "probe_id": ["p1", "p2"],
            "corpus_id": [text_id("sweet lamb sings"), text_id("cold river weeps")],
            "relevance": [1.0, 1.0],
            "line": [2, 3],
        }
    )
    return StudyInputs(pairs=pairs, graded=graded, qrels=qrels, probes=PROBES)


def test_every_measure_on_the_fakes(study_store):
    store, load = study_store
    study = run_study(store, None, _inputs(), StudySettings(top_k=5, repeats=1, fidelity_sample=20), load)
    assert not study.warnings or all("failed" not in w for w in study.warnings)
    for measure in MEASURES:
        for table in measure.tables:
            assert not study.tables[table.name].empty, table.name
    # exact search in the fake store: the "index" finds what exact search finds
    assert (study.fidelity["recall_at_k"] == 1.0).all()
    # a word-bag model puts the judged line itself first
    assert (study.retrieval["mrr"] == 1.0).all()
    assert study.pair_scores.columns.tolist() == [
        "source",
        "sentence1",
        "sentence2",
        "gold",
        "harness_fake_a",
        "harness_fake_a_dim_4",
        "harness_fake_b",
    ]
    row = study.contrast.set_index("collection").loc["harness_fake_a"]
    scores = study.pair_scores[study.pair_scores["source"] == "pairs"]
    expected = (
        scores.loc[scores["gold"] == 1, "harness_fake_a"].mean()
        - scores.loc[scores["gold"] == 0, "harness_fake_a"].mean()
    )
    assert row["contrast"] == pytest.approx(expected)
    assert study.alignment["rows"].iloc[0] == len(LINES)
    assert set(study.manifest["definitions"]) >= {m.name for m in MEASURES if m.definition}


def test_a_failing_measure_is_reported_and_the_others_run(study_store):
    store, load = study_store

    class Broken(Measure):
        name = "broken"
        tables = (Table("broken", "Broken"),)

        def run(self, ctx, inputs):
            raise ZeroDivisionError("boom")

    study = run_study(
        store, None, StudyInputs(), StudySettings(top_k=3, repeats=1), load, measures=(Broken(), *MEASURES)
    )
    assert any(w.startswith("broken failed on harness_fake_a: ZeroDivisionError: boom") for w in study.warnings)
    assert not study.coherence.empty and not study.fidelity.empty


def test_qrels_naming_a_line_the_collection_lacks_stop_the_study_before_it_runs(study_store):
    store, load = study_store
    inputs = _inputs()
    inputs.qrels.loc[0, "corpus_id"] = 12345
    inputs.qrels_path = "q.csv"
    with pytest.raises(
        HarnessError, match=r"q.csv: line 2: unknown corpus id 12345 \(not in collection harness_fake_a\)"
    ):
        run_study(store, None, inputs, StudySettings(repeats=1), load)


def test_context_never_reads_the_whole_matrix_at_once(study_store):
    from harness.study.context import CollectionContext

    store, load = study_store
    ctx = CollectionContext(store, "harness_fake_a", store.require_collection("harness_fake_a"), StudySettings(), load)
    batches = list(ctx.stream(batch_size=7))
    assert max(len(ids) for ids, _ in batches) == 7
    assert np.concatenate([ids for ids, _ in batches]).tolist() == ctx.ids.tolist()
