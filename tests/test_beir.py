"""Datasets in BEIR's layout: ids kept as given, titles joined as MTEB does, one-line errors
naming file and line, and the dataset's own ids in the hits of a real ingest and study."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.inputs import CorpusReader, load_probes, read_dataset, read_qrels
from harness.records import record_id
from harness.study import StudyPlan

BEIR = Path(__file__).parent / "data" / "beir-tiny"


@pytest.fixture
def dataset_copy(tmp_path) -> Path:
    folder = tmp_path / "beir"
    shutil.copytree(BEIR, folder)
    return folder


def test_a_beir_folder_keeps_its_ids_and_joins_title_and_text():
    dataset = read_dataset(BEIR)
    records = {r.doc_id: r for r in dataset.corpus}
    assert set(records) == {"lamb-1", "tyger-2", "rose-3", "piper-4", "sweep-5", "fly-6", "nurse-7", "9"}
    assert records["lamb-1"].id == record_id("lamb-1") and records["9"].id == 9
    assert records["lamb-1"].text.startswith("The Lamb Little lamb who made thee")
    assert records["sweep-5"].text.startswith("When my mother died")  # no title: no leading space
    # the split's queries, with their own ids; q-train is judged only in the train split
    assert [p.id for p in dataset.probes] == ["q-lamb", "q-tiger", "q-child"]
    assert list(dataset.qrels.columns) == ["probe_id", "corpus_id", "relevance", "line"]
    assert dataset.qrels["corpus_id"].tolist() == [record_id(i) for i in ("lamb-1", "tyger-2", "nurse-7", "piper-4")]
    assert dataset.qrels["line"].tolist() == [2, 3, 4, 5]
    train = read_dataset(BEIR, split="train")
    assert [p.id for p in train.probes] == ["q-train"] and train.qrels_path.name == "train.tsv"
    plain = read_dataset(BEIR, document_template="{text}")
    assert next(iter(plain.corpus)).text.startswith("Little lamb") and plain.corpus_sha256 != dataset.corpus_sha256


def test_the_beir_files_read_directly_as_corpus_probes_and_qrels():
    records = list(CorpusReader(BEIR / "corpus.jsonl"))
    assert records[0].doc_id == "lamb-1" and records[0].text.startswith("The Lamb Little")
    assert [p.id for p in load_probes(BEIR / "queries.jsonl")][:2] == ["q-lamb", "q-tiger"]
    qrels = read_qrels(BEIR / "qrels" / "test.tsv")
    assert qrels["probe_id"].tolist() == ["q-lamb", "q-tiger", "q-child", "q-child"]
    assert qrels["relevance"].tolist() == [1.0, 1.0, 2.0, 1.0]


def test_a_judged_probe_id_missing_from_a_numbered_probe_file_says_why(tmp_path):
    probes = tmp_path / "probes.txt"
    probes.write_text("who made the lamb\nthe tiger\n")
    qrels = tmp_path / "qrels.csv"
    qrels.write_text("probe_id,corpus_id,relevance\n1,5,1\n")
    ids = [p.id for p in load_probes(probes)]
    with pytest.raises(HarnessError, match=r"line 2: unknown probe id '1' .*numbered p1\.\.p2"):
        read_qrels(qrels, ids, probes)


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text)


BAD = [
    (lambda f: (f / "queries.jsonl").unlink(), "no queries.jsonl"),
    (lambda f: (f / "qrels" / "test.tsv").unlink(), r"no qrels/test.tsv .*splits there: train"),
    (
        lambda f: _write(f, "qrels/test.tsv", "query-id\tcorpus-id\tscore\nq-lamb\tlamb-1\t1\nq-lamb\tnope\t1\n"),
        r"test.tsv: line 3: unknown corpus id 'nope'",
    ),
    (
        lambda f: _write(f, "qrels/test.tsv", "query-id\tcorpus-id\tscore\nq-none\tlamb-1\t1\n"),
        r"test.tsv: line 2: unknown probe id 'q-none'",
    ),
    (
        lambda f: _write(f, "qrels/test.tsv", "query-id\tcorpus-id\tscore\nq-lamb\tlamb-1\thigh\n"),
        r"test.tsv: line 2: unparseable score 'high'",
    ),
    (
        lambda f: _write(
            f, "corpus.jsonl", (BEIR / "corpus.jsonl").read_text() + '{"_id": "fly-6", "title": "", "text": "x"}\n'
        ),
        r"corpus.jsonl: line 9: id 'fly-6' repeats line 6",
    ),
    (
        lambda f: _write(f, "corpus.jsonl", (BEIR / "corpus.jsonl").read_text().splitlines()[0] + "\n" * 2 + "{oops\n"),
        r"corpus.jsonl: line 3 is not valid JSON",
    ),
]


@pytest.mark.parametrize("spoil,message", BAD)
def test_bad_beir_folders_fail_in_one_line_naming_file_and_line(dataset_copy, spoil, message):
    spoil(dataset_copy)
    with pytest.raises(HarnessError, match=message):
        read_dataset(dataset_copy)


def test_ingest_of_a_bad_dataset_exits_1_in_one_line_and_writes_nothing(run_cli, dataset_copy, tmp_path):
    _write(dataset_copy, "qrels/test.tsv", "query-id\tcorpus-id\tscore\nq-lamb\tlamb-1\t1\nq-lamb\tnope\t1\n")
    db = tmp_path / "h.db"
    result = run_cli("ingest", "--dataset", dataset_copy, "--model", "hashing", "--uri", db)
    assert result.code == 1 and result.err.count("\n") == 1 and "line 3: unknown corpus id 'nope'" in result.err
    assert not db.exists()
    clash = run_cli("ingest", "--dataset", dataset_copy, "--corpus", BEIR / "corpus.jsonl", "-m", "hashing")
    assert clash.code == 1 and "leave out --corpus" in clash.err
    lone = run_cli("ingest", "--split", "dev", "--corpus", BEIR / "corpus.jsonl", "-m", "hashing", "--uri", db)
    assert lone.code == 1 and "--split chooses the qrels of a --dataset" in lone.err


def test_a_dataset_ingested_and_evaluated_shows_its_own_ids(tiny_models, tmp_path, run_cli):
    from harness import ingest
    from harness.store import connect
    from harness.study import evaluate

    db = str(tmp_path / "beir.db")
    model = str(tiny_models["tiny-a"])
    dataset = read_dataset(BEIR)
    report = ingest(dataset.corpus, [model], db, index="FLAT")
    assert report.models[0].rows_added == 8
    with connect(db) as store:
        store.ensure_loaded("harness_tiny_a")
        hits = store.search("harness_tiny_a", _vectors(model, ["little lamb"]), top_k=8)[0]
    assert {h.doc_id for h in hits} == {"lamb-1", "tyger-2", "rose-3", "piper-4", "sweep-5", "fly-6", "nurse-7", "9"}
    assert all(h.id == record_id(h.doc_id) for h in hits)
    study = evaluate(
        ["harness_tiny_a"],
        db,
        probes=dataset.probes_path,
        qrels=dataset.qrels_path,
        plan=StudyPlan(measures="retrieval", baselines="bm25"),
    )
    retrieval = study.tables["retrieval"]
    assert set(retrieval["collection"]) == {"harness_tiny_a", "baseline:bm25"}
    items = study.tables["retrieval_items"]
    assert set(items["probe_id"]) == {"q-lamb", "q-tiger", "q-child"}  # q-train is not judged in test
    # the words of each test query are in its judged document: BM25 finds every one first
    assert items[items["collection"] == "baseline:bm25"]["mrr"].tolist() == [1.0] * 6  # index and exact
    # the same through the commands
    again = run_cli("ingest", "--dataset", BEIR, "--model", model, "--uri", db, "--index", "FLAT")
    assert again.code == 0, again
    out = tmp_path / "study"
    result = run_cli(
        "evaluate", "--dataset", BEIR, "--uri", db, "--measures", "retrieval", "--baselines", "none", "-o", out
    )
    assert result.code == 0, result


def _vectors(model: str, texts: list[str]):
    from harness.models import load_model

    embedder = load_model(model)
    try:
        return embedder.encode(texts, role="query")
    finally:
        embedder.close()


def test_a_collection_without_the_doc_id_field_reads_its_int_ids(tmp_path):
    import numpy as np
    from pymilvus import DataType, MilvusClient

    from harness.records import CollectionMeta, ModelRecord
    from harness.store import connect
    from harness.store.milvus import META_KEY

    db = str(tmp_path / "old.db")
    with connect(db) as store:
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("text", DataType.VARCHAR, max_length=1000)
        schema.add_field("group", DataType.VARCHAR, max_length=100)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=4)
        meta = CollectionMeta(ModelRecord("old"), complete=True)
        store.client.create_collection("harness_old", schema=schema, properties={META_KEY: meta.to_json()})
        vectors = np.eye(4, dtype=np.float32)
        store.insert("harness_old", [11, 12, 13, 14], ["a", "b", "c", "d"], ["g"] * 4, vectors, ["x", "y", "z", "w"])
        store.build_index("harness_old", 1)
        assert not store.has_doc_ids("harness_old")
        hits = store.search("harness_old", vectors[:1], top_k=2)[0]
        assert hits[0].id == 11 and hits[0].doc_id == "11" and hits[0].key == "11"
        assert store.remove_duplicates("harness_old") == 0
