"""The collection contract: today's metadata, and what collections written before the
schema version carry, read the same way."""

from __future__ import annotations

import json

import pytest

from harness.errors import HarnessError
from harness.records import SCHEMA_VERSION, CollectionMeta, IndexSpec, SearchParams

# Exactly what harness 0.1.0 wrote before the schema had a version.
V0 = {
    "harness_version": "0.1.0",
    "model": {
        "alias": "tiny-a",
        "spec": "/models/tiny-a",
        "source": "/models/tiny-a",
        "fingerprint": "0123456789abcdef",
        "dimension": 16,
        "parameters": 1234,
        "max_seq_length": 32,
    },
    "corpus": {"path": "/data/songs.txt", "sha256": "ab" * 32, "records": 72},
    "index": {"type": "IVF_FLAT", "metric": "L2", "nlist": 3},
    "complete": True,
    "updated": "2026-11-01T10:00:00+00:00",
}


def test_version_0_metadata_reads_into_the_typed_contract():
    meta = CollectionMeta.from_json(json.dumps(V0))
    assert meta.model.fingerprint == "0123456789abcdef" and meta.model.dimension == 16
    assert meta.corpus.records == 72 and meta.index == IndexSpec("IVF_FLAT", "L2", 3)
    assert meta.complete is True and meta.prefix is None and meta.schema_version == SCHEMA_VERSION
    assert meta.index.search_param == "nprobe" and meta.index.params == {}
    again = CollectionMeta.from_json(meta.to_json())
    assert again == meta
    assert json.loads(meta.to_json())["model"] == V0["model"]


# Exactly what harness wrote with schema version 1: prefix added, the index still IVF_FLAT only.
V1 = {
    **V0,
    "schema_version": 1,
    "prefix": "exp",
    "index": {"type": "IVF_FLAT", "metric": "L2", "nlist": 22},
}


def test_version_1_metadata_reads_with_the_index_parameters_of_version_2():
    meta = CollectionMeta.from_json(json.dumps(V1))
    assert meta.prefix == "exp" and meta.schema_version == SCHEMA_VERSION == 4
    assert meta.index == IndexSpec("IVF_FLAT", "L2", 22) and meta.index.search_param == "nprobe"
    written = json.loads(meta.to_json())
    assert written["index"] == {"type": "IVF_FLAT", "metric": "L2", "nlist": 22, "params": {}, "search_param": "nprobe"}
    assert CollectionMeta.from_json(meta.to_json()) == meta


def test_version_2_records_an_hnsw_index_and_its_search_parameter():
    spec = IndexSpec("HNSW", "L2", None, {"M": 16, "efConstruction": 200})
    meta = CollectionMeta.from_json(json.dumps({**V1, "schema_version": 2, "index": spec.to_dict()}))
    assert meta.index == spec and meta.index.search_param == "ef"
    assert spec.index_params() == {"M": 16, "efConstruction": 200, "params": {"M": 16, "efConstruction": 200}}
    assert spec.describe() == "HNSW M=16 efConstruction=200"
    # a server echoes build parameters back as strings
    assert IndexSpec.from_dict({"type": "HNSW", "params": {"M": "16", "efConstruction": "200"}}) == spec
    assert IndexSpec("FLAT").search_param is None and IndexSpec("FLAT").index_params() == {}


def test_search_parameters_for_each_index_type():
    params = SearchParams(10, nprobe=8, ef=64)
    assert params.for_index(IndexSpec("HNSW")).search_params()["params"] == {"ef": 64}
    assert params.for_index(IndexSpec("IVF_SQ8", nlist=4)).search_params()["params"] == {"nprobe": 8}
    assert params.for_index(IndexSpec("FLAT")).search_params()["params"] == {}
    assert SearchParams(10).setting(IndexSpec("HNSW")) == "ef=default"
    assert params.setting(IndexSpec("FLAT")) == "exhaustive"
    with pytest.raises(HarnessError, match=r"--ef must be at least --top-k \(10\)"):
        SearchParams(10, ef=5)


def test_unreadable_or_newer_metadata():
    assert CollectionMeta.from_json(None) is None and CollectionMeta.from_json("{not json") is None
    with pytest.raises(HarnessError, match="schema version 99, newer than this harness reads"):
        CollectionMeta.from_json(json.dumps({**V0, "schema_version": 99}))


def test_index_and_search_parameters():
    assert IndexSpec(nlist=8).index_params() == {"nlist": 8, "params": {"nlist": 8}}
    assert SearchParams(5, 4).search_params() == {"metric_type": "L2", "params": {"nprobe": 4}}
    assert SearchParams(5).search_params() == {"metric_type": "L2", "params": {}}
    with pytest.raises(HarnessError, match="--top-k must be at least 1"):
        SearchParams(0)
    with pytest.raises(HarnessError, match="--nprobe must be at least 1"):
        SearchParams(3, 0)


def test_a_collection_written_with_version_0_metadata_keeps_working(run_cli, tiny_models, small_corpus, tmp_path):
    from harness.store import Store
    from harness.store.milvus import META_KEY

    db = str(tmp_path / "old.db")
    model = str(tiny_models["tiny-a"])
    assert run_cli("ingest", "--corpus", small_corpus, "--model", model, "--uri", db, "--nlist", "3").code == 0
    with Store(db) as store:
        meta = store.collection_meta("harness_tiny_a")
        old = {k: v for k, v in meta.to_dict().items() if k not in ("schema_version", "prefix")}
        old["index"] = {k: old["index"][k] for k in ("type", "metric", "nlist")}
        store.client.alter_collection_properties("harness_tiny_a", properties={META_KEY: json.dumps(old)})
        assert "schema_version" not in store.client.describe_collection("harness_tiny_a")["properties"][META_KEY]
    listing = run_cli("collections", "--uri", db)
    assert listing.code == 0 and "harness_tiny_a" in listing.out and "yes" in listing.out
    from harness import ingest

    again = ingest(small_corpus, [model], db, nlist=3)
    # the old collection is recognised as complete: nothing read, nothing added
    assert again.models[0].rows_added == 0 and again.models[0].rows_present == again.records
    result = run_cli("query", "--uri", db, "--probe", "sweet little lamb", "--repeats", "0", "--top-k", "3")
    assert result.code == 0, result


def test_model_records_of_variants_round_trip_and_older_ones_read_as_unknown():
    from harness.records import ModelRecord

    record = ModelRecord(
        "m@onnx,dim=8",
        variant="onnx,dim=8",
        base_fingerprint="0123456789abcdef",
        query_prompt="query: ",
        document_prompt="",  # no prompt: kept, unlike an unrecorded one
        similarity_fn_name="cosine",
        normalized=True,
        size_bytes=10,
    )
    assert ModelRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    assert record.to_dict()["document_prompt"] == ""
    old = ModelRecord.from_dict(V0["model"])
    assert old.query_prompt is None and old.normalized is None and old.variant == ""
