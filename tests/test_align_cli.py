"""`harness align` and `harness query --map` end to end: tiny real models, Milvus Lite, the
gate's exit codes, bad input, and a collection some other tool built."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from harness.records import text_id
from harness.store import Store

A, B = "harness_tiny_a", "harness_tiny_b"


@pytest.fixture
def probe_files(small_corpus, tmp_path):
    lines = [line for line in small_corpus.read_text().splitlines() if line and not line.startswith("#")]
    probes = tmp_path / "probes.csv"
    # two probes are corpus lines, so every model finds a judged line and the recovered share is defined
    probes.write_text(f"id,text\np1,{lines[3]}\np2,{lines[40]}\np3,a child lost in the night\n")
    qrels = tmp_path / "qrels.csv"
    judged = [("p1", lines[3]), ("p2", lines[40]), ("p3", lines[7]), ("p3", lines[50])]
    qrels.write_text("probe_id,corpus_id,relevance\n" + "".join(f"{p},{text_id(line)},1\n" for p, line in judged))
    return probes, qrels


@pytest.fixture
def lite(run_cli, tiny_models, small_corpus, tmp_path):
    db = str(tmp_path / "align.db")
    for model in ("tiny-a", "tiny-b"):
        result = run_cli("ingest", "--corpus", small_corpus, "--model", tiny_models[model], "--uri", db, "--nlist", "2")
        assert result.code == 0, result
    return db


def _hits(frame: pd.DataFrame, probe: str, k: int) -> list[int]:
    own = frame[~frame["collection"].astype(str).str.startswith("baseline:")] if "collection" in frame else frame
    return own[own["probe_id"] == probe].sort_values("rank")["id"].tolist()[:k]


def test_align_writes_maps_that_query_applies(run_cli, lite, tiny_models, probe_files, tmp_path):
    probes, _ = probe_files
    out = tmp_path / "aligned"
    result = run_cli(
        "align", "--old", A, "--new-model", tiny_models["tiny-b"], "--uri", lite, "--probes", probes,
        "--kind", "ridge,mlp", "--train-size", "20", "--train-size", "40", "--nprobe", "2", "-k", "5",
        "--output", out,
    )  # fmt: skip
    assert result.code == 0, result
    assert "Learning curve" in result.out and "best map:" in result.out
    results = pd.read_csv(out / "results.csv")
    assert set(results["method"]) == {"old-native", "unmapped", "ridge", "mlp"}
    assert set(results.loc[results["method"] == "mlp", "train_size"]) == {20, 40}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["maps"] == {"ridge": "maps/ridge.npz", "mlp": "maps/mlp.npz"}
    with np.load(out / "maps" / "mlp.npz") as raw:
        header = json.loads(str(raw["header"]))
    with Store(lite) as store:
        fingerprints = {n: store.collection_meta(n).model.fingerprint for n in (A, B)}
    assert header["source"]["fingerprint"] == fingerprints[B] and header["target"]["fingerprint"] == fingerprints[A]
    assert header["train_rows"] == 40 and 0 <= header["heldout"]["self_retrieval_at_1"] <= 1

    for kind in ("ridge", "mlp"):
        queried, space_map = tmp_path / f"q-{kind}", out / "maps" / f"{kind}.npz"
        result = run_cli(
            "query", "--uri", lite, "-c", A, "--probe-model", tiny_models["tiny-b"], "--map", space_map,
            "--probes", probes, "-k", "5", "--nprobe", "2", "--repeats", "0", "--output", queried,
        )  # fmt: skip
        assert result.code == 0, result
        hits = pd.read_csv(queried / "hits.csv")
        aligned = pd.read_csv(out / "hits.csv").query(f"method == '{kind}' and train_size == 40")
        for probe in ("p1", "p2", "p3"):
            assert _hits(hits, probe, 5) == _hits(aligned, probe, 5)
        recorded = json.loads((queried / "manifest.json").read_text())["map"]
        assert recorded["kind"] == kind and recorded["path"].endswith(f"{kind}.npz") and len(recorded["sha256"]) == 64
        assert pd.read_csv(queried / "alignment.csv")["map"].iloc[0].endswith(f"{kind}.npz")


def test_the_gate_exits_0_or_3_and_errors_exit_1(run_cli, lite, probe_files, tmp_path):
    probes, qrels = probe_files
    common = ["align", "--old", A, "--new-collection", B, "--uri", lite, "--probes", probes, "--qrels", qrels]
    common += ["--kind", "procrustes,ridge", "--train-size", "40", "-k", "5"]
    out = tmp_path / "gated"
    passed = run_cli(*common, "--min-recovery", "0", "--min-overlap", "0", "--output", out)
    assert passed.code == 0, passed
    assert "gate passed" in passed.out
    gate = json.loads((out / "manifest.json").read_text())["gate"]
    assert gate["passed"] is True and len(gate["checks"]) == 2
    results = pd.read_csv(out / "results.csv")
    best = results[results["method"] == json.loads((out / "manifest.json").read_text())["best"]].iloc[-1]
    assert best["overlap_at_k_vs_old"] < 1  # two random models: the gate below can fail
    failed = run_cli(*common, "--min-overlap", f"{best['overlap_at_k_vs_old'] + 1e-3:.4f}")
    assert failed.code == 3, failed
    assert "gate failed (exit 3)" in failed.out and failed.err == ""
    no_qrels = run_cli("align", "--old", A, "--new-collection", B, "--uri", lite, "--min-recovery", "0.9")
    assert no_qrels.code == 1 and no_qrels.err.startswith("error: --min-recovery needs --qrels")
    usage = run_cli("align", "--new-collection", B, "--uri", lite)
    assert usage.code == 2 and "--old" in usage.err


BAD_INPUT = [
    (["--new-model", "tiny-wide", "--kind", "procrustes"], "procrustes needs the same dimension"),
    (["--new-collection", B, "--train-size", "1000"], "training sample of 1000 rows is larger than the 58 shared"),
    (["--new-collection", A], "the old and the new collection are the same"),
    (["--new-collection", B, "--new-model", "tiny-b"], "either as a spec"),
    (["--new-collection", B, "--kind", "rotation"], "unknown map kind 'rotation'"),
]


def test_bad_align_input_is_one_line(run_cli, lite, tiny_models):
    for args, message in BAD_INPUT:
        args = [str(tiny_models.get(a, a)) for a in args]
        result = run_cli("align", "--old", A, "--uri", lite, *args)
        assert result.code == 1, result
        assert result.err.startswith("error: ") and message in result.err and len(result.err.strip().splitlines()) == 1


def test_bad_maps_are_refused_by_query_in_one_line(run_cli, lite, tiny_models, tmp_path):
    out = tmp_path / "aligned"
    result = run_cli(
        "align", "--old", A, "--new-collection", B, "--uri", lite, "--kind", "ridge", "--train-size", "20", "-o", out
    )
    assert result.code == 0, result
    not_a_map = tmp_path / "notes.npz"
    not_a_map.write_text("hello")
    cases = [
        (["--probe-model", tiny_models["tiny-b"], "--map", not_a_map], "is not a harness map file"),
        (
            ["--probe-model", tiny_models["tiny-a"], "--map", out / "maps" / "ridge.npz"],
            "but the probe model is tiny-a",
        ),
        (["--map", out / "maps" / "ridge.npz"], "--map needs --probe-model"),
    ]
    for args, message in cases:
        result = run_cli("query", "--uri", lite, "-c", A, "-p", "sweet lamb", "--repeats", "0", *args)
        assert result.code == 1, result
        assert message in result.err and len(result.err.strip().splitlines()) == 1


def _foreign(db: str, vectors: np.ndarray, texts: list[str]) -> None:
    """A collection some other tool built: its own field names, a COSINE index, no harness metadata."""
    from pymilvus import DataType, MilvusClient

    with Store(db) as store:
        client = store.client
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("pk", DataType.INT64, is_primary=True)
        schema.add_field("body", DataType.VARCHAR, max_length=2048)
        schema.add_field("emb", DataType.FLOAT_VECTOR, dim=vectors.shape[1])
        client.create_collection("products", schema=schema)
        rows = [{"pk": text_id(t), "body": t, "emb": v.tolist()} for t, v in zip(texts, vectors)]
        client.insert("products", rows)
        client.flush("products")
        params = MilvusClient.prepare_index_params()
        params.add_index("emb", index_type="FLAT", metric_type="COSINE")
        client.create_index("products", params)
        client.load_collection("products")


def _snapshot(db: str) -> dict:
    with Store(db) as store:
        client = store.client
        client.load_collection("products")  # a reopened Lite database starts released
        described = client.describe_collection("products")
        indexes = [client.describe_index("products", name) for name in client.list_indexes("products")]
        rows = client.query("products", filter="", limit=10000, output_fields=["pk", "body", "emb"])
        return {
            "described": repr(described),
            "indexes": repr(indexes),
            "collections": sorted(client.list_collections()),
            "rows": sorted((r["pk"], r["body"], tuple(np.round(r["emb"], 6))) for r in rows),
        }


def test_a_collection_the_harness_did_not_build(run_cli, lite, tiny_models, small_corpus, probe_files, tmp_path):
    from harness.models import load_model, resolve_model

    probes, _ = probe_files
    texts = [line for line in small_corpus.read_text().splitlines() if line and not line.startswith("#")]
    model = load_model(resolve_model(str(tiny_models["tiny-a"])), device="cpu")
    _foreign(lite, model.encode(texts), texts)
    model.close()
    sidecar = tmp_path / "products.json"
    sidecar.write_text(
        json.dumps(
            {"collection": "products", "model": str(tiny_models["tiny-a"]), "id_field": "pk", "text_field": "body",
             "vector_field": "emb", "group_field": None, "alias": "shop"}
        )
    )  # fmt: skip
    before = _snapshot(lite)
    queried = run_cli(
        "query", "--uri", lite, "--external", sidecar, "-c", "products", "--probes", probes, "--repeats", "0",
        "-o", tmp_path / "q",
    )  # fmt: skip
    assert queried.code == 0, queried
    assert json.loads((tmp_path / "q" / "manifest.json").read_text())["external"] == ["products"]
    hits = pd.read_csv(tmp_path / "q" / "hits.csv")
    hits = hits[~hits["collection"].str.startswith("baseline:")]  # BM25 and hashing stand beside it
    assert set(hits["collection"]) == {"products"} and (hits["distance"] <= 1.0001).all()  # COSINE similarity
    assert set(hits["text"]) <= set(texts)
    aligned = run_cli(
        "align", "--uri", lite, "--external", sidecar, "--old", "products", "--new-collection", B,
        "--kind", "ridge", "--train-size", "30", "--probes", probes, "-o", tmp_path / "a",
    )  # fmt: skip
    assert aligned.code == 0, aligned
    assert json.loads((tmp_path / "a" / "manifest.json").read_text())["external"] == ["products"]
    study = run_cli(
        "evaluate", "--uri", lite, "--external", sidecar, "-c", "products", "--repeats", "1", "--cost-sample", "10",
        "--fidelity-sample", "5", "-o", tmp_path / "s",
    )  # fmt: skip
    assert study.code == 0, study
    assert "products" in set(pd.read_csv(tmp_path / "s" / "cost.csv")["collection"])
    assert _snapshot(lite) == before  # read, never altered

    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"collection": "products", "model": str(tiny_models["tiny-a"]), "id_field": "pk"}))
    refused = run_cli("query", "--uri", lite, "--external", wrong, "-c", "products", "-p", "x", "--repeats", "0")
    assert refused.code == 1 and "has no text field 'text'" in refused.err
    assert "its fields: pk, body, emb" in refused.err and len(refused.err.strip().splitlines()) == 1
    narrow = tmp_path / "narrow.json"
    narrow.write_text(
        json.dumps({"collection": "products", "model": str(tiny_models["tiny-wide"]), "id_field": "pk",
                    "text_field": "body", "vector_field": "emb", "group_field": None})
    )  # fmt: skip
    refused = run_cli("query", "--uri", lite, "--external", narrow, "-c", "products", "-p", "x", "--repeats", "0")
    assert refused.code == 1 and "24-dimensional vectors, but collection products holds 16-dimensional" in refused.err
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"collection": "products", "model": "x", "vector": "emb"}))
    refused = run_cli("query", "--uri", lite, "--external", unknown, "-p", "x")
    assert refused.code == 1 and "unknown key 'vector'" in refused.err
    assert _snapshot(lite) == before
