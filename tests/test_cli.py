"""End to end through the real `harness` entry point, on Milvus Lite in a temp folder."""

import json
import subprocess
import sys
import time

import pandas as pd
import pytest

from harness.store import Store


def _ingest(run_cli, corpus, db, *models, extra=()):
    args = ["ingest", "--corpus", corpus, "--uri", db]
    for model in models:
        args += ["--model", model]
    result = run_cli(*args, *extra)
    assert result.code == 0, result
    return result


def test_ingest_query_and_output_files(run_cli, tiny_models, small_corpus, tmp_path):
    db = str(tmp_path / "e2e.db")
    a, b = str(tiny_models["tiny-a"]), str(tiny_models["tiny-b"])
    result = _ingest(run_cli, small_corpus, db, a, b)
    assert "harness_tiny_a" in result.out and "harness_tiny_b" in result.out
    with Store(db) as store:
        names = store.harness_collections()
        assert len(names) == 2
        rows = {n: store.row_count(n) for n in names}
        infos = {n: store.describe(n) for n in names}
    records = len({line for line in small_corpus.read_text().splitlines() if line and not line.startswith("#")})
    assert set(rows.values()) == {records}
    assert all(i.index_type == "IVF_FLAT" and i.nlist >= 1 for i in infos.values())

    out = tmp_path / "out"
    result = run_cli(
        "query",
        "--uri",
        db,
        "--probe",
        "love and the night sky",
        "--probe",
        "a child lost in the dark city",
        "--top-k",
        "5",
        "--repeats",
        "2",
        "--output",
        out,
    )
    assert result.code == 0, result
    assert "Milvus Lite latency does not represent a Milvus server" in result.out
    hits = pd.read_csv(out / "hits.csv")
    assert list(hits.columns) == [
        "probe_id",
        "probe",
        "collection",
        "rank",
        "id",
        "doc_id",
        "text",
        "group",
        "distance",
    ]
    per = hits.groupby("collection").size()
    # the baselines are searched beside the collections; bm25 returns only lines sharing a word
    assert set(per.index) == {"harness_tiny_a", "harness_tiny_b", "baseline:bm25", "baseline:hashing"}
    assert per["harness_tiny_a"] == per["harness_tiny_b"] == per["baseline:hashing"] == 2 * 5
    assert 0 < per["baseline:bm25"] <= 2 * 5
    overlap = pd.read_csv(out / "overlap.csv")
    assert list(overlap.columns) == [
        "probe_id",
        "probe",
        "collection_a",
        "collection_b",
        "k",
        "overlap_at_k",
        "jaccard",
        "rbo",
        "kendall_tau",
        "overlap_at_k_exact",
        "jaccard_exact",
        "rbo_exact",
        "kendall_tau_exact",
    ]
    assert len(overlap) == 6 * 2  # every two of four retrievers, two probes
    models = overlap[(overlap["collection_a"] == "harness_tiny_a") & (overlap["collection_b"] == "harness_tiny_b")]
    # two different random models do not return the same neighbours
    assert models["overlap_at_k"].mean() < 1.0
    agreement = pd.read_csv(out / "agreement.csv")
    row = agreement[(agreement["collection_b"] == "harness_tiny_b") & (agreement["metric"] == "overlap_at_k")].iloc[0]
    assert row["value"] == pytest.approx(models["overlap_at_k"].mean())
    assert row["exact"] == pytest.approx(models["overlap_at_k_exact"].mean())
    assert "is the index's" in result.out
    latency = pd.read_csv(out / "latency.csv")
    assert set(latency["n"]) == {2 * 2}
    assert (latency["p50_ms"] > 0).all() and (latency["embed_ms_per_probe"] > 0).all()
    assert (latency["probes_from_cache"] == 0).all()
    again = run_cli(
        "query",
        "--uri",
        db,
        "--probe",
        "love and the night sky",
        "--probe",
        "a child lost in the dark city",
        "--repeats",
        "1",
        "--output",
        tmp_path / "again",
    )
    assert again.code == 0, again
    assert (pd.read_csv(tmp_path / "again" / "latency.csv")["probes_from_cache"] == 2).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["backend"] == "milvus-lite"
    assert {m["collection_model"]["fingerprint"] for m in manifest["models"].values()} == {
        infos[n].meta.model.fingerprint for n in names
    }
    assert manifest["search"]["top_k"] == 5


def test_same_model_twice_agrees_fully_and_reingest_adds_nothing(run_cli, tiny_models, small_corpus, tmp_path):
    db = str(tmp_path / "self.db")
    a = str(tiny_models["tiny-a"])
    _ingest(run_cli, small_corpus, db, a, extra=["--nlist", "2"])
    _ingest(run_cli, small_corpus, db, a, extra=["--nlist", "2", "--prefix", "copy"])
    with Store(db) as store:
        before = {n: store.row_count(n) for n in store.harness_collections()}
    result = _ingest(run_cli, small_corpus, db, a, extra=["--nlist", "2"])
    assert "rows_added" in result.out
    with Store(db) as store:
        after = {n: store.row_count(n) for n in store.harness_collections()}
    assert before == after and len(after) == 2

    out = tmp_path / "out"
    result = run_cli(
        "query",
        "--uri",
        db,
        "--probe",
        "sweet little lamb",
        "--probe",
        "the cold river at night",
        "--nprobe",
        "2",
        "--repeats",
        "0",
        "--output",
        out,
    )
    assert result.code == 0, result
    overlap = pd.read_csv(out / "overlap.csv")
    same = overlap[~overlap["collection_b"].str.startswith("baseline:")]
    assert len(same) == 2 and (same["overlap_at_k"] == 1.0).all() and (same["overlap_at_k_exact"] == 1.0).all()
    assert (same["rbo"].round(9) == 1.0).all()


def test_reingest_reports_rows_already_present(tiny_models, small_corpus, tmp_path):
    from harness import ingest

    db = str(tmp_path / "api.db")
    first = ingest(small_corpus, [str(tiny_models["tiny-a"])], db)
    second = ingest(small_corpus, [str(tiny_models["tiny-a"])], db)
    assert first.models[0].rows_added == first.records
    assert second.models[0].rows_added == 0
    assert second.models[0].rows_present == first.records
    assert second.models[0].rows_total == first.records


def _error_line(result):
    assert result.code != 0, result
    assert "Traceback" not in result.err and "Traceback" not in result.out
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result
    return lines[0]


def test_error_missing_corpus(run_cli, tmp_path):
    line = _error_line(
        run_cli("ingest", "--corpus", tmp_path / "missing.txt", "--model", "x", "--uri", tmp_path / "e.db")
    )
    assert "corpus file not found" in line


def test_error_unknown_model_offline(run_cli, small_corpus, tmp_path):
    started = time.perf_counter()
    line = _error_line(
        run_cli("ingest", "--corpus", small_corpus, "--model", "someone/no-such-model", "--uri", tmp_path / "e.db")
    )
    assert "Hugging Face hub is unreachable" in line and "someone/no-such-model" in line
    assert time.perf_counter() - started < 20


def test_error_dimension_mismatch(run_cli, tiny_models, small_corpus, tmp_path):
    db = str(tmp_path / "dim.db")
    _ingest(run_cli, small_corpus, db, str(tiny_models["tiny-a"]))
    line = _error_line(
        run_cli("query", "--uri", db, "--probe", "hello", "--probe-model", str(tiny_models["tiny-wide"]))
    )
    assert "24-dimensional" in line and "16-dimensional" in line


def test_error_missing_collection(run_cli, tiny_models, small_corpus, tmp_path):
    db = str(tmp_path / "m.db")
    _ingest(run_cli, small_corpus, db, str(tiny_models["tiny-a"]))
    line = _error_line(run_cli("query", "--uri", db, "--probe", "hello", "--collection", "harness_nope"))
    assert "no collection 'harness_nope'" in line and "harness_tiny_a" in line


def test_error_lite_database_locked_by_another_process(run_cli, tmp_path):
    db = tmp_path / "locked.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from pymilvus import MilvusClient; import time; MilvusClient({str(db)!r}); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        line = _error_line(run_cli("collections", "--uri", db))
        assert "in use by another process" in line
    finally:
        holder.kill()
        holder.wait()


def test_collections_lists_model_rows_and_nlist(run_cli, tiny_models, small_corpus, tmp_path):
    db = str(tmp_path / "l.db")
    _ingest(run_cli, small_corpus, db, str(tiny_models["tiny-a"]), extra=["--nlist", "3"])
    result = run_cli("collections", "--uri", db)
    assert result.code == 0, result
    header = next(row for row in result.out.splitlines() if "collection" in row and "nlist" in row)
    line = next(row for row in result.out.splitlines() if "harness_tiny_a" in row)
    cells = dict(zip([c.strip() for c in header.split("┃")], [c.strip() for c in line.split("│")]))
    assert (
        cells["index"] == "IVF_FLAT"
        and cells["nlist"] == "3"
        and cells["dimension"] == "16"
        and cells["complete"] == "yes"
    )


def test_help_does_not_import_torch():
    code = (
        "import sys; from harness.cli import app; import harness.store, harness.inputs; "
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_cross_model_probe_reports_alignment_and_warns(run_cli, tiny_models, small_corpus, tmp_path):
    db = str(tmp_path / "cross.db")
    _ingest(run_cli, small_corpus, db, str(tiny_models["tiny-a"]))
    out = tmp_path / "out"
    result = run_cli(
        "query",
        "--uri",
        db,
        "--probe",
        "sweet little lamb",
        "--probe-model",
        str(tiny_models["tiny-b"]),
        "--repeats",
        "0",
        "--output",
        out,
    )
    assert result.code == 0, result
    alignment = pd.read_csv(out / "alignment.csv")
    row = alignment.iloc[0]
    assert row["collection"] == "harness_tiny_a" and row["probe_model"] == "tiny-b"
    # two unrelated random models: the probe model's vector of a stored line rarely finds that line
    assert row["self_retrieval_at_1"] < 0.1
    assert "not aligned" in result.out and "close to chance" in result.out

    same = run_cli(
        "query",
        "--uri",
        db,
        "--probe",
        "sweet little lamb",
        "--probe-model",
        str(tiny_models["tiny-a"]),
        "--repeats",
        "0",
        "--output",
        tmp_path / "same",
    )
    assert same.code == 0, same
    assert not (tmp_path / "same" / "alignment.csv").exists()
    assert "not aligned" not in same.out


@pytest.mark.parametrize(
    "args, message",
    [
        (["query", "--probe", "x", "--top-k", "0"], "--top-k must be at least 1"),
        (["query", "--probe", "x", "--nprobe", "0"], "--nprobe must be at least 1"),
        (["evaluate", "--top-k", "0"], "--top-k must be at least 1"),
        (["ingest", "--corpus", "c.txt", "--model", "m", "--nlist", "0"], "--nlist must be at least 1"),
    ],
)
def test_out_of_range_options_are_one_line_errors(run_cli, tmp_path, args, message):
    (tmp_path / "work" / "c.txt").write_text("a line\n")
    line = _error_line(run_cli(*args, "--uri", tmp_path / "o.db"))
    assert message in line
