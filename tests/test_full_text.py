"""Milvus's own full-text (BM25) and hybrid search, on Milvus Lite: a collection built with a
full-text side, the two retrievers over it, and what a collection without one says."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from harness.errors import HarnessError, StoreError
from harness.ingestion import ingest
from harness.records import (
    SCHEMA_VERSION,
    CollectionMeta,
    Fusion,
    IndexPlan,
    ModelRecord,
    SearchParams,
    full_text_parts,
    text_id,
)
from harness.retrieval import CollectionRetriever, HybridRetriever, MilvusBM25Retriever, Queries
from harness.store import connect
from harness.study import StudyPlan

TEXTS = [
    "the tiger burns bright in the forests of the night",
    "little lamb who made thee dost thou know who made thee",
    "o rose thou art sick the invisible worm",
    "tiger tiger burning bright",
    "i wandered through each chartered street",
]


def _meta(full_text: bool) -> CollectionMeta:
    return CollectionMeta(model=ModelRecord("fake", dimension=4), full_text=full_text)


def _collection(uri: str, name: str, full_text: bool):
    store = connect(uri)
    store.create_collection(name, 4, _meta(full_text))
    vectors = np.random.default_rng(0).random((len(TEXTS), 4)).astype(np.float32)
    store.insert(name, list(range(len(TEXTS))), TEXTS, [""] * len(TEXTS), vectors)
    store.build_index(name, 1)
    return store, vectors


def test_bm25_and_hybrid_search_on_lite(tmp_path):
    store, vectors = _collection(str(tmp_path / "m.db"), "c", full_text=True)
    try:
        assert store.has_full_text("c") and store.collection_meta("c").full_text
        found = store.search_text("c", ["tiger", "rose worm"], 3)
        assert [h.id for h in found[0]] == [3, 0]  # the line that says tiger twice first
        assert found[1][0].id == 2 and found[1][0].text == TEXTS[2]
        assert all(a.distance <= b.distance for a, b in zip(found[0], found[0][1:]))  # smaller is nearer
        assert found[0][0].distance < 0

        dense = CollectionRetriever(store, "c", _meta(True), SearchParams(3), lambda texts: vectors[: len(texts)])
        bm25 = MilvusBM25Retriever(store, "c")
        hybrid = HybridRetriever(dense, Fusion(60))
        assert full_text_parts(bm25.name) == ("c", "milvus-bm25")
        assert full_text_parts(hybrid.name) == ("c", "hybrid")
        queries = Queries.of_texts(["tiger"])
        assert [h.id for h in bm25.index_search(queries, 2)[0]] == [3, 0]
        fused = hybrid.index_search(queries, 3)[0]
        assert len(fused) == 3 and {3, 0} & {h.id for h in fused}
        assert all(a.distance <= b.distance for a, b in zip(fused, fused[1:]))
        weighted = HybridRetriever(dense, Fusion(weights=(0.0, 1.0))).index_search(queries, 2)[0]
        assert [h.id for h in weighted] == [3, 0]  # all the weight on BM25: its order
        rows = bm25.index_search(Queries.of_rows([2]), 1)[0]  # a stored row is put as its text
        assert rows[0].id == 2
    finally:
        store.close()


def test_a_collection_without_a_full_text_side_says_so(tmp_path):
    store, _ = _collection(str(tmp_path / "m.db"), "plain", full_text=False)
    try:
        assert not store.has_full_text("plain") and not store.collection_meta("plain").full_text
        with pytest.raises(StoreError, match="no full-text side: rebuild it with --full-text"):
            store.search_text("plain", ["tiger"], 3)
        assert len(store.search("plain", np.ones((1, 4), dtype=np.float32), 2)[0]) == 2  # dense still runs
    finally:
        store.close()


def test_metadata_before_the_full_text_side_reads_as_without_it():
    old = {"schema_version": 3, "model": {"alias": "m"}, "index": {"type": "IVF_FLAT"}, "complete": True}
    meta = CollectionMeta.from_json(json.dumps(old))
    assert meta is not None and meta.full_text is False and meta.schema_version == SCHEMA_VERSION == 4
    assert CollectionMeta.from_json(_meta(True).to_json()).full_text is True


def test_fusion_options():
    assert Fusion.parse(None, None) == Fusion(60) and Fusion.parse(10, None).describe() == "RRF k=10"
    assert Fusion.parse(None, "0.7,0.3").describe() == "weighted 0.7/0.3"
    for bad in ("0.7", "a,b", "1.5,0.2"):
        with pytest.raises(HarnessError, match="--hybrid-weights"):
            Fusion.parse(None, bad)
    with pytest.raises(HarnessError, match="--rrf-k"):
        Fusion(0)
    assert IndexPlan(full_text=True).full_text


def test_ingest_with_full_text_records_it_and_refuses_it_late(tmp_path, tiny_models, small_corpus):
    uri = str(tmp_path / "m.db")
    ingest(small_corpus, [str(tiny_models["tiny-a"])], uri, full_text=True, cache=False)
    ingest(small_corpus, [str(tiny_models["tiny-b"])], uri, cache=False)
    store = connect(uri)
    try:
        assert store.collection_meta("harness_tiny_a").full_text
        assert store.has_full_text("harness_tiny_a") and not store.has_full_text("harness_tiny_b")
        store.ensure_loaded("harness_tiny_a")
        assert store.search_text("harness_tiny_a", ["song"], 2)
    finally:
        store.close()
    # Asked again with --full-text, the collection built without it says what to do.
    with pytest.raises(StoreError, match="without a full-text side: use --recreate with --full-text"):
        ingest(small_corpus, [str(tiny_models["tiny-b"])], uri, full_text=True, cache=False)
    ingest(small_corpus, [str(tiny_models["tiny-b"])], uri, full_text=True, recreate=True, cache=False)
    store = connect(uri)
    try:
        assert store.has_full_text("harness_tiny_b") and store.collection_meta("harness_tiny_b").full_text
    finally:
        store.close()


# --- the study: the two retrievers as rows like any model's -----------------------------------


@pytest.fixture
def judged(tmp_path, small_corpus):
    lines = [line for line in small_corpus.read_text().splitlines() if line and not line.startswith("#")]
    probes = tmp_path / "probes.csv"
    probes.write_text(f"id,text\nq1,{lines[0]}\nq2,{lines[20]}\nq3,love and the night sky\n")
    qrels = tmp_path / "qrels.csv"
    qrels.write_text(
        f"probe_id,corpus_id,relevance\nq1,{text_id(lines[0])},1\nq2,{text_id(lines[20])},1\nq3,{text_id(lines[5])},1\n"
    )
    return probes, qrels


def test_compare_with_full_text_measures_milvus_bm25_and_hybrid(tiny_models, small_corpus, judged, tmp_path):
    import harness

    probes, qrels = judged
    done = harness.compare(
        small_corpus,
        [str(tiny_models["tiny-a"]), str(tiny_models["tiny-b"])],
        str(tmp_path / "c.db"),
        probes=probes,
        qrels=qrels,
        index=IndexPlan(nlist=2, full_text=True),
        plan=StudyPlan(top_k=5, search_repeats=1, repeats=1, measures="retrieval,fusion,agreement,latency,comparison"),
        output=tmp_path / "run",
    )
    retrieval = pd.read_csv(done.run / "study" / "retrieval.csv").set_index("collection")
    ours = {"harness_tiny_a:bm25", "harness_tiny_a:hybrid", "harness_tiny_b:hybrid"}
    assert ours | {"harness_tiny_a", "baseline:bm25"} <= set(retrieval.index)
    assert "harness_tiny_b:bm25" not in set(retrieval.index)  # one corpus, one Milvus BM25 search
    # a probe that is a corpus line finds that line first by BM25, whichever the model
    hits = pd.read_csv(done.run / "query" / "hits.csv")
    first = hits[(hits["collection"] == "harness_tiny_a:bm25") & (hits["rank"] == 1)].set_index("probe_id")
    lines = [line for line in small_corpus.read_text().splitlines() if line and not line.startswith("#")]
    assert first.loc["q1", "text"] == lines[0] and first.loc["q2", "text"] == lines[20]
    latency = pd.read_csv(done.run / "study" / "latency.csv").set_index("collection")
    assert ours <= set(latency.index) and (latency.loc[sorted(ours), "p50_ms"] > 0).all()
    paired = pd.read_csv(done.run / "study" / "paired.csv")
    assert {"harness_tiny_a:hybrid"} <= set(paired["collection_a"]) | set(paired["collection_b"])
    assert "Milvus BM25" in (done.run / "report.html").read_text()
    fusion = pd.read_csv(done.run / "study" / "fusion.csv")
    assert set(fusion["collection"]) == {"harness_tiny_a:hybrid", "harness_tiny_b:hybrid"}
    assert len(fusion) == 2 * 12 and fusion["configured"].sum() == 2  # RRF k=60 is the default
    assert ((fusion["ndcg_at_10_ci_low"] <= fusion["ndcg_at_10"]) & (fusion["ndcg_at_10"] <= 1)).all()
    assert (done.run / "study" / "plots" / "fusion.png").is_file()
    from harness.output.verdict import build_verdict

    lines = [finding.text for finding in build_verdict(done.study).findings]
    assert any("Milvus BM25 against the bm25s baseline" in line for line in lines)
    assert any(line.startswith("Fusion sweep:") for line in lines)


def test_only_some_collections_with_full_text_get_a_note_and_the_dense_rows_run(
    tiny_models, small_corpus, judged, tmp_path
):
    from harness.study import evaluate

    probes, qrels = judged
    uri = str(tmp_path / "m.db")
    ingest(small_corpus, [str(tiny_models["tiny-a"])], uri, nlist=2, full_text=True, cache=False)
    ingest(small_corpus, [str(tiny_models["tiny-b"])], uri, nlist=2, cache=False)
    study = evaluate(None, uri, probes=probes, qrels=qrels, plan=StudyPlan(top_k=5, measures="retrieval"))
    retrieval = study.tables["retrieval"]
    assert {"harness_tiny_a", "harness_tiny_b", "harness_tiny_a:bm25", "harness_tiny_a:hybrid"} <= set(
        retrieval["collection"]
    )
    assert "harness_tiny_b:bm25" not in set(retrieval["collection"])
    assert any("harness_tiny_b has no full-text side" in n and "--full-text" in n for n in study.warnings)


# --- servers: over gRPC, and one without full-text search ---------------------------------------


@pytest.fixture
def lite_server(tmp_path):
    from milvus_lite.adapter.grpc.server import start_server_in_thread

    server, db, port = start_server_in_thread(data_dir=str(tmp_path / "server-data"), host="127.0.0.1", port=0)
    yield f"http://127.0.0.1:{port}"
    server.stop(grace=1)
    db.close()


@pytest.mark.server
def test_full_text_and_hybrid_over_grpc(run_cli, lite_server, tiny_models, small_corpus, judged, tmp_path):
    probes, qrels = judged
    a = str(tiny_models["tiny-a"])
    result = run_cli("ingest", "--corpus", small_corpus, "-m", a, "--uri", lite_server, "--nlist", "2", "--full-text")
    assert result.code == 0, result
    out = tmp_path / "study"
    result = run_cli(
        "evaluate", "--uri", lite_server, "--probes", probes, "--qrels", qrels, "--top-k", "5",
        "--measures", "retrieval", "--hybrid-weights", "0.5,0.5", "--output", out,
    )  # fmt: skip
    assert result.code == 0, result
    retrieval = pd.read_csv(out / "retrieval.csv")
    recall = retrieval[retrieval["metric"] == "recall_at_k"].set_index("collection")["value"]
    assert {"harness_tiny_a:bm25", "harness_tiny_a:hybrid"} <= set(recall.index)
    assert recall["harness_tiny_a:bm25"] >= 2 / 3 - 1e-9  # q1 and q2 are corpus lines: found by their words
    assert '"fusion": "weighted 0.5/0.5"' in (out / "study.json").read_text()


def test_a_server_without_full_text_search_is_one_line_and_keeps_nothing(tmp_path, monkeypatch):
    """Milvus 2.3 refuses the sparse field (or keeps the schema without its function): either
    way one line that says what to do, and no collection left half-made."""
    from pymilvus.exceptions import MilvusException

    store = connect(str(tmp_path / "m.db"))
    try:
        original = store.client.create_collection

        def refuse(name, **kwargs):
            raise MilvusException(message="field data type: 104 is not supported")

        monkeypatch.setattr(store.client, "create_collection", refuse)
        with pytest.raises(StoreError, match=r"full-text search needs Milvus 2.5 or later .*leave out --full-text"):
            store.create_collection("c", 4, _meta(True))
        assert not store.has_collection("c")

        def keep_without_function(name, **kwargs):
            original(name, **kwargs)
            monkeypatch.setattr(store, "_has_bm25_function", lambda name: False)

        monkeypatch.setattr(store.client, "create_collection", keep_without_function)
        with pytest.raises(StoreError, match="leave out --full-text"):
            store.create_collection("c", 4, _meta(True))
        assert not store.has_collection("c")
    finally:
        store.close()


def test_full_text_refused_is_one_error_line_from_the_cli(run_cli, tiny_models, small_corpus, tmp_path, monkeypatch):
    from harness.store.milvus import MilvusStore

    monkeypatch.setattr(MilvusStore, "_has_bm25_function", lambda self, name: False)
    result = run_cli(
        "ingest", "--corpus", small_corpus, "-m", tiny_models["tiny-a"], "--uri", tmp_path / "m.db", "--full-text"
    )
    assert result.code != 0 and "Traceback" not in result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert lines[-1].startswith("error: full-text search needs Milvus 2.5 or later") and len(lines) == 1, result
    store = connect(str(tmp_path / "m.db"))
    try:
        assert store.harness_collections() == []
    finally:
        store.close()
