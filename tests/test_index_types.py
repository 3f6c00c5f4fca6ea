"""Index types other than IVF_FLAT on a real Milvus Lite: each one ingests, records its
build and search parameters in the collection contract, searches, and is measured by the
study over its own search parameter; a type the backend lacks is refused in one line."""

from __future__ import annotations

import pytest

from harness.errors import HarnessError
from harness.ingestion import ingest_model
from harness.inputs import CorpusReader
from harness.records import SearchParams
from harness.store import Store
from harness.study import StudyInputs, StudySettings, run_study

from fakes import FakeEmbedder

LITE_TYPES = {
    "FLAT": (None, {}),
    "IVF_FLAT": ("nprobe", {"nlist": 3}),
    "IVF_SQ8": ("nprobe", {"nlist": 3}),
    "HNSW": ("ef", {"M": 16, "efConstruction": 200}),
    "HNSW_SQ": ("ef", {"M": 16, "efConstruction": 200, "sq_type": "SQ8"}),
}


@pytest.fixture
def corpus(small_corpus):
    reader = CorpusReader(small_corpus)
    list(reader)
    return reader


def _ingest(store, corpus, embedder, **kw):
    return ingest_model(store, corpus, embedder, corpus.sha256(), total_hint=corpus.stats.records, **kw)


@pytest.mark.parametrize("kind", list(LITE_TYPES))
def test_each_lite_index_type_ingests_records_and_searches(tmp_path, corpus, kind):
    param, build = LITE_TYPES[kind]
    store = Store(str(tmp_path / "i.db"))
    try:
        embedder = FakeEmbedder("fake-a", dimension=16)
        result = _ingest(store, corpus, embedder, index=kind, nlist=3 if param == "nprobe" else None)
        name = result.collection
        info = store.describe(name)
        assert info.index is not None and info.index.type == kind and info.index.build_params() == build
        meta = store.collection_meta(name)
        assert meta.index == info.index and meta.index.search_param == param
        assert meta.to_dict()["index"]["search_param"] == param
        vector = embedder.encode(["love and the night sky"])
        options = {param: 3 if param == "nprobe" else 32} if param else {}
        hits = store.search(name, vector, 5, **options)[0]
        assert len(hits) == 5 and hits == sorted(hits, key=lambda h: h.distance)
        again = _ingest(store, corpus, embedder, index=kind, nlist=3 if param == "nprobe" else None)
        assert again.rows_added == 0 and store.describe(name).index == info.index
    finally:
        store.close()


def test_another_index_type_rebuilds_the_index_and_the_contract(tmp_path, corpus):
    store = Store(str(tmp_path / "i.db"))
    try:
        embedder = FakeEmbedder("fake-a", dimension=16)
        name = _ingest(store, corpus, embedder).collection
        assert store.describe(name).index.type == "IVF_FLAT"
        _ingest(store, corpus, embedder, index="HNSW")
        assert store.describe(name).index.type == "HNSW"
        assert store.collection_meta(name).index.search_param == "ef"
    finally:
        store.close()


def test_a_type_the_backend_lacks_and_nlist_without_lists_are_one_line(tmp_path, corpus):
    store = Store(str(tmp_path / "i.db"))
    try:
        embedder = FakeEmbedder("fake-a", dimension=16)
        with pytest.raises(HarnessError, match=r"^index type IVF_PQ is not available on milvus-lite \(available: FLAT"):
            _ingest(store, corpus, embedder, index="ivf_pq")
        with pytest.raises(HarnessError, match="^--nlist applies to IVF index types, not HNSW$"):
            _ingest(store, corpus, embedder, index="HNSW", nlist=4)
        with pytest.raises(HarnessError, match="^unknown index type 'ANNOY'; known: FLAT, IVF_FLAT"):
            _ingest(store, corpus, embedder, index="ANNOY")
        assert not store.has_collection("harness_fake_a")  # refused before anything was written
    finally:
        store.close()


def test_the_study_sweeps_hnsw_over_ef_with_latency(tmp_path, corpus):
    store = Store(str(tmp_path / "i.db"))
    try:
        embedder = FakeEmbedder("fake-a", dimension=16)
        _ingest(store, corpus, embedder, index="HNSW")
        settings = StudySettings(top_k=5, ef=20, repeats=1, fidelity_sample=30, baselines=())
        study = run_study(store, None, StudyInputs(), settings, lambda ref: embedder)
        fidelity = study.fidelity
        assert set(fidelity["param"]) == {"ef"} and fidelity["value"].tolist() == [5, 10, 20, 40, 80, 160, 320, 512]
        assert fidelity["recall_at_k"].between(0, 1).all() and (fidelity["latency_p50_ms"] > 0).all()
        summary = study.fidelity_summary.iloc[0]
        assert summary["search"] == "ef=20" and summary["index"] == "HNSW M=16 efConstruction=200"
        assert summary["recall_at_setting"] == fidelity.set_index("value").loc[20, "recall_at_k"]
        assert study.coherence["search"].tolist() == ["ef=20"]
        SearchParams(5, ef=20)  # the setting the study used is a valid one
    finally:
        store.close()
