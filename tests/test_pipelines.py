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
from harness.records import IndexSpec, Probe, SearchParams
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


def test_an_index_the_server_refuses_drops_the_collection_the_ingest_created(corpus, monkeypatch):
    store, embedder = MemoryStore(), FakeEmbedder("fake-a")
    name = "harness_fake_a"

    def refused(self, collection, index):  # Milvus 2.3 on --index HNSW_SQ
        raise StoreError(f"cannot build the index of {collection}: invalid index type: HNSW_SQ")

    monkeypatch.setattr(MemoryStore, "build_index", refused)
    with pytest.raises(StoreError, match=f"invalid index type: HNSW_SQ; collection {name}, created by this ingest"):
        _ingest(store, corpus, embedder)
    assert not store.has_collection(name)  # no collection of rows without an index left behind
    monkeypatch.undo()
    _ingest(store, corpus, embedder)
    monkeypatch.setattr(MemoryStore, "build_index", refused)
    with pytest.raises(StoreError, match="invalid index type") as caught:
        _ingest(store, corpus, embedder, recreate=False)
    assert "dropped" not in str(caught.value) and store.row_count(name) == len(LINES)  # an earlier one is kept


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
# judged relevant to a line it shares no word with: no retriever answers it
UNANSWERABLE = Probe("p3", "dark city burns")


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


def test_query_searches_the_baselines_and_splits_agreement_into_index_and_exact(corpus):
    store = LossyStore()
    a = FakeEmbedder("fake-a")
    _ingest(store, corpus, a)
    _ingest(store, corpus, FakeEmbedder("fake-a", seed=0), prefix="copy")
    params = SearchParams(top_k=4, nprobe=2)
    result = run_query(store, PROBES, None, _loader(a), params=params, repeats=0, baselines=("bm25", "hashing"))
    assert set(result.hits["collection"]) == {
        "harness_fake_a",
        "harness_copy_fake_a",
        "baseline:bm25",
        "baseline:hashing",
    }
    # bm25 ranks the probe's own line first; its distance is the negated score
    bm25 = result.hits[(result.hits["collection"] == "baseline:bm25") & (result.hits["rank"] == 1)]
    assert bm25["text"].tolist() == [p.text for p in PROBES] and (bm25["distance"] < 0).all()
    assert set(result.latency["collection"]) == {"harness_fake_a", "harness_copy_fake_a"}
    same = result.overlap[result.overlap["collection_b"] == "harness_copy_fake_a"]
    assert (same["overlap_at_k"] == 1.0).all() and (same["overlap_at_k_exact"] == 1.0).all()
    summary = result.agreement_summary().set_index(["collection_a", "collection_b", "metric"])
    row = summary.loc[("harness_fake_a", "baseline:hashing", "overlap_at_k")]
    versus = result.overlap[result.overlap["collection_b"] == "baseline:hashing"]
    versus = versus[versus["collection_a"] == "harness_fake_a"]
    assert row["value"] == pytest.approx(versus["overlap_at_k"].mean())
    assert row["exact"] == pytest.approx(versus["overlap_at_k_exact"].mean())
    assert row["value_ci_low"] <= row["value"] <= row["value_ci_high"]
    assert row["index_loss"] == pytest.approx(row["exact"] - row["value"])
    lines = result.index_attribution()
    assert any(line.startswith("harness_fake_a vs baseline:hashing: of the") for line in lines)
    assert not any(line.startswith("baseline:bm25 vs") for line in lines)
    assert result.manifest["search"]["per_collection"]["harness_fake_a"] == "nprobe=2"
    assert set(result.manifest["baselines"]) == {"baseline:bm25", "baseline:hashing"}


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
            "probe_id": ["p1", "p2", "p3"],
            "corpus_id": [text_id("sweet lamb sings"), text_id("cold river weeps"), text_id("little lamb sleeps")],
            "relevance": [1.0, 1.0, 1.0],
            "line": [2, 3, 4],
        }
    )
    return StudyInputs(pairs=pairs, graded=graded, qrels=qrels, probes=[*PROBES, UNANSWERABLE])


def test_every_measure_on_the_fakes(study_store):
    store, load = study_store
    study = run_study(store, None, _inputs(), StudySettings(top_k=5, repeats=1, fidelity_sample=20), load)
    assert not study.warnings or all("failed" not in w for w in study.warnings)
    for measure in MEASURES:
        if measure.name == "fusion":
            continue  # it needs a collection's full-text side, which the fake store has not: tests/test_full_text.py
        for table in measure.tables:
            assert not study.tables[table.name].empty, table.name
    # exact search in the fake store: the "index" finds what exact search finds
    assert (study.fidelity["recall_at_k"] == 1.0).all()
    assert (study.retrieval["index_loss"] == 0).all() and (study.agreement["index_loss"].fillna(0) == 0).all()
    # a word-bag model puts the judged line itself first
    items = study.retrieval_items
    assert (items.loc[items["probe_id"] != "p3", "mrr"] == 1.0).all()
    assert study.pair_scores.columns.tolist() == [
        "source",
        "sentence1",
        "sentence2",
        "gold",
        "harness_fake_a",
        "harness_fake_a_dim_4",
        "harness_fake_b",
        "baseline:hashing",
    ]
    row = study.contrast.set_index("collection").loc["harness_fake_a"]
    scores = study.pair_scores[study.pair_scores["source"] == "pairs"]
    expected = (
        scores.loc[scores["gold"] == 1, "harness_fake_a"].mean()
        - scores.loc[scores["gold"] == 0, "harness_fake_a"].mean()
    )
    assert row["contrast"] == pytest.approx(expected)
    assert row["contrast_ci_low"] <= row["contrast"] <= row["contrast_ci_high"]
    assert study.alignment["rows"].iloc[0] == len(LINES)
    assert set(study.manifest["definitions"]) >= {m.name for m in MEASURES if m.definition} | {"uncertainty"}
    assert study.manifest["definitions"]["uncertainty"]["seed"] == 0


def test_baselines_are_rows_beside_the_models_and_marked_by_name(study_store):
    store, load = study_store
    study = run_study(store, None, _inputs(), StudySettings(top_k=5, repeats=1, fidelity_sample=20), load)
    both = {"baseline:bm25", "baseline:hashing"}
    models = {"harness_fake_a", "harness_fake_a_dim_4", "harness_fake_b"}
    assert set(study.retrieval["collection"]) == set(study.coherence["collection"]) == models | both
    assert (
        set(study.contrast["collection"])
        == set(study.score_distribution["collection"])
        == models | {"baseline:hashing"}
    )
    assert set(study.cost["collection"]) == models | {"baseline:hashing"}
    pairs = set(zip(study.agreement["collection_a"], study.agreement["collection_b"]))
    assert ("harness_fake_a", "baseline:bm25") in pairs and ("baseline:bm25", "baseline:hashing") in pairs
    # no index, no space to align: fidelity and alignment are for collections only
    aligned = set(study.alignment["collection_b"])
    assert set(study.fidelity["collection"]) == models and aligned == {"harness_fake_a_dim_4", "harness_fake_b"}
    assert study.unanswered["probe_id"].tolist() == ["p3"] and study.unanswered["retrievers"].iloc[0] == 5
    assert set(study.manifest["baselines"]) == both
    # the threshold map reads across: each model's cosine at the same quantile of corpus pairs
    distribution = study.score_distribution.set_index("collection")
    quantiles = study.threshold_map.set_index("quantile")
    assert quantiles.loc[0.5, "harness_fake_a"] == pytest.approx(distribution.loc["harness_fake_a", "q0.5"])


def test_paired_comparisons_follow_the_documented_bootstrap(study_store):
    store, load = study_store
    study = run_study(store, None, _inputs(), StudySettings(top_k=5, repeats=1, fidelity_sample=20), load)
    paired = study.paired
    retrievers = 5  # three collections (one a variant) and two baselines
    assert len(paired[paired["metric"] == "coherence"]) == retrievers * (retrievers - 1) // 2
    assert set(paired["result"]) <= {"win", "tie", "loss"}
    for row in paired.itertuples(index=False):
        expected = "win" if row.ci_low > 0 else "loss" if row.ci_high < 0 else "tie"
        assert row.result == expected
    # reproduce one interval from the per-item file with numpy alone, as the README defines it
    row = paired[(paired["metric"] == "coherence") & (paired["collection_b"] == "baseline:bm25")].iloc[0]
    items = study.coherence_items[study.coherence_items["search"] == "exact"]
    table = items.pivot_table(index="id", columns="collection", values="share")
    differences = (table[row["collection_a"]] - table["baseline:bm25"]).to_numpy()
    draws = np.random.default_rng(0).integers(0, len(differences), size=(2000, len(differences)))
    low, high = np.percentile(differences[draws].mean(axis=1), [2.5, 97.5])
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
    assert row["difference"] == pytest.approx(differences.mean())
    standings = study.standings.set_index("collection")
    for name, row in standings.iterrows():
        appears = ((paired["collection_a"] == name) | (paired["collection_b"] == name)).sum()
        assert row["wins"] + row["ties"] + row["losses"] == appears
    assert "vs baseline:bm25" in standings.loc["harness_fake_a", "against_baselines"]


class LossyStore(MemoryStore):
    """Exact search that, with an nprobe given, misses every row whose id is odd: an index
    that loses recall, so exact and index figures must differ by what it loses."""

    def search(self, name, vectors, top_k, nprobe=None, ef=None):
        if nprobe is None:
            return super().search(name, vectors, top_k)
        found = super().search(name, vectors, 10 * top_k)
        return [[h for h in hits if h.id % 2 == 0][:top_k] for hits in found]


def test_exact_figures_equal_a_numpy_brute_force_and_the_index_loss_is_their_difference(corpus):
    store = LossyStore()
    a = FakeEmbedder("fake-a")
    _ingest(store, corpus, a)
    settings = StudySettings(top_k=3, nprobe=1, repeats=1, fidelity_sample=0, baselines=())
    study = run_study(store, None, _inputs(), settings, _loader(a))
    ids, _, _ = store._matrix("harness_fake_a")
    matrix = np.stack([row[3] for row in store.collections["harness_fake_a"]["rows"]]).astype(np.float64)
    probes = [*PROBES, UNANSWERABLE]
    queries = a.encode([p.text for p in probes]).astype(np.float64)
    distances = ((queries[:, None, :] - matrix[None, :, :]) ** 2).sum(axis=2)
    brute = [[ids[j] for j in np.argsort(row, kind="stable")[:10]] for row in distances]
    judged = dict(zip(_inputs().qrels["probe_id"], _inputs().qrels["corpus_id"]))
    expected_rr = [
        1 / (found.index(judged[p.id]) + 1) if judged[p.id] in found else 0.0 for p, found in zip(probes, brute)
    ]
    items = study.retrieval_items
    exact = items[items["search"] == "exact"].set_index("probe_id")["mrr"]
    assert exact.loc[[p.id for p in probes]].tolist() == pytest.approx(expected_rr)
    summary = study.retrieval.set_index("metric")
    assert summary.loc["mrr", "exact"] == pytest.approx(np.mean(expected_rr))
    index = items[items["search"] == "index"]["mrr"].mean()
    assert summary.loc["mrr", "value"] == pytest.approx(index)
    assert summary.loc["mrr", "index_loss"] == pytest.approx(np.mean(expected_rr) - index)
    assert summary.loc["recall_at_k", "index_loss"] > 0  # odd ids are lost by the index
    assert study.fidelity.set_index("value").loc[1, "recall_at_k"] < 1.0


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


def test_every_search_of_a_collection_uses_its_own_index_parameter(study_store):
    """The variants measure once searched an HNSW collection with ef = nprobe; every measure now
    searches each collection through its retriever: nprobe for IVF, ef for HNSW."""
    store, load = study_store
    variant = next(n for n in store.collections if n.endswith("dim_4"))
    store.collections[variant]["index"] = IndexSpec("HNSW", "L2", None, {"M": 16})
    run_study(store, None, _inputs(), StudySettings(top_k=5, nprobe=2, ef=20, repeats=1, fidelity_sample=20), load)
    by_collection: dict[str, set] = {}
    for name, nprobe, ef in store.searches:
        by_collection.setdefault(name, set()).add((nprobe, ef))
    efs = {ef for _, ef in by_collection[variant]}
    assert 20 in efs and min(efs) >= 5  # the configured ef (and the fidelity sweep from k up), never ef = nprobe
    assert all(nprobe is None for nprobe, _ in by_collection[variant])
    assert all(ef is None for nprobe, ef in by_collection["harness_fake_a"])
