"""The server code path: Milvus Lite's gRPC server on 127.0.0.1, and a real Milvus binary."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from harness.metrics.prometheus import parse_search_histogram

pytestmark = pytest.mark.server

TOKEN = "s3cret-token-value"


@pytest.fixture
def lite_server(tmp_path):
    from milvus_lite.adapter.grpc.server import start_server_in_thread

    server, db, port = start_server_in_thread(data_dir=str(tmp_path / "server-data"), host="127.0.0.1", port=0)
    yield f"http://127.0.0.1:{port}"
    server.stop(grace=1)
    db.close()


def test_ingest_and_query_over_grpc_without_leaking_the_token(
    run_cli, lite_server, tiny_models, small_corpus, tmp_path, monkeypatch
):
    monkeypatch.setenv("MILVUS_TOKEN", TOKEN)
    a, b = str(tiny_models["tiny-a"]), str(tiny_models["tiny-b"])
    result = run_cli(
        "ingest", "--corpus", small_corpus, "--model", a, "--model", b, "--uri", lite_server, "--nlist", "3"
    )
    assert result.code == 0, result
    again = run_cli("ingest", "--corpus", small_corpus, "--model", a, "--uri", lite_server, "--nlist", "3")
    assert again.code == 0, again
    listing = run_cli("collections", "--uri", lite_server)
    assert listing.code == 0 and "harness_tiny_a" in listing.out and "harness_tiny_b" in listing.out
    out = tmp_path / "out"
    result = run_cli(
        "query",
        "--uri",
        lite_server,
        "--token",
        TOKEN,
        "--probe",
        "sweet little lamb",
        "--top-k",
        "4",
        "--repeats",
        "2",
        "--output",
        out,
    )
    assert result.code == 0, result
    hits = pd.read_csv(out / "hits.csv")
    collections = hits[~hits["collection"].str.startswith("baseline:")]
    assert set(collections["collection"]) == {"harness_tiny_a", "harness_tiny_b"} and len(collections) == 8
    assert {"baseline:bm25", "baseline:hashing"} <= set(hits["collection"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["backend"] == "milvus-server" and manifest["uri"] == lite_server
    everything = result.out + result.err + again.out + "".join(p.read_text() for p in out.iterdir())
    assert TOKEN not in everything


def test_align_and_query_with_the_map_over_grpc(run_cli, lite_server, tiny_models, small_corpus, tmp_path):
    a, b = str(tiny_models["tiny-a"]), str(tiny_models["tiny-b"])
    result = run_cli("ingest", "--corpus", small_corpus, "-m", a, "-m", b, "--uri", lite_server, "--nlist", "2")
    assert result.code == 0, result
    out = tmp_path / "aligned"
    result = run_cli(
        "align", "--uri", lite_server, "--old", "harness_tiny_a", "--new-collection", "harness_tiny_b",
        "--kind", "procrustes,ridge", "--train-size", "30", "-p", "sweet little lamb", "-k", "4", "--nprobe", "2",
        "--output", out,
    )  # fmt: skip
    assert result.code == 0, result
    assert json.loads((out / "manifest.json").read_text())["backend"] == "milvus-server"
    result = run_cli(
        "query", "--uri", lite_server, "-c", "harness_tiny_a", "--probe-model", b, "--map", out / "maps" / "ridge.npz",
        "-p", "sweet little lamb", "-k", "4", "--nprobe", "2", "--repeats", "1", "--output", tmp_path / "q",
    )  # fmt: skip
    assert result.code == 0, result
    aligned = pd.read_csv(out / "hits.csv").query("method == 'ridge'").sort_values("rank")["id"].tolist()[:4]
    queried = pd.read_csv(tmp_path / "q" / "hits.csv").query("collection == 'harness_tiny_a'")
    assert queried.sort_values("rank")["id"].tolist() == aligned


@pytest.mark.parametrize("kind", ["HNSW", "IVF_SQ8", "FLAT"])
def test_index_types_over_grpc_ingest_query_and_evaluate(
    run_cli, lite_server, tiny_models, small_corpus, tmp_path, kind
):
    model = str(tiny_models["tiny-a"])
    result = run_cli("ingest", "--corpus", small_corpus, "--model", model, "--uri", lite_server, "--index", kind)
    assert result.code == 0, result
    from harness.store import Store

    with Store(lite_server) as store:
        index = store.describe("harness_tiny_a").index
        assert index.type == kind and store.collection_meta("harness_tiny_a").index == index
    again = run_cli("ingest", "--corpus", small_corpus, "--model", model, "--uri", lite_server, "--index", kind)
    assert again.code == 0, again  # the same index is recognised, not rebuilt
    out = tmp_path / "q"
    query = ["query", "--uri", lite_server, "--probe", "sweet little lamb", "--top-k", "4", "--repeats", "1"]
    result = run_cli(*query, "--ef", "8", "--nprobe", "2", "--output", out)
    assert result.code == 0, result
    setting = json.loads((out / "manifest.json").read_text())["search"]["per_collection"]["harness_tiny_a"]
    assert setting == {"HNSW": "ef=8", "IVF_SQ8": "nprobe=2", "FLAT": "exhaustive"}[kind]
    study = tmp_path / "s"
    result = run_cli(
        "evaluate", "--uri", lite_server, "--top-k", "4", "--repeats", "1", "--cost-sample", "10", "--output", study
    )
    assert result.code == 0, result
    fidelity = pd.read_csv(study / "fidelity.csv")
    assert fidelity["recall_at_k"].between(0, 1).all()
    # a FLAT index has no search parameter: its one row's param is empty (NaN once read back)
    assert set(fidelity["param"].dropna()) == {"HNSW": {"ef"}, "IVF_SQ8": {"nprobe"}, "FLAT": set()}[kind]


def test_credentials_in_the_uri_are_never_shown(run_cli, tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_cli("collections", "--uri", f"http://root:{TOKEN}@127.0.0.1:{port}")
    assert result.code == 1
    assert f"cannot reach Milvus at http://127.0.0.1:{port}" in result.err
    assert TOKEN not in result.err + result.out


def test_prometheus_histogram_difference():
    before = parse_search_histogram(
        "# TYPE milvus_proxy_sq_latency histogram\n"
        'milvus_proxy_sq_latency_bucket{node_id="1",query_type="search",le="1"} 4\n'
        'milvus_proxy_sq_latency_bucket{node_id="1",query_type="search",le="4"} 5\n'
        'milvus_proxy_sq_latency_bucket{node_id="1",query_type="search",le="+Inf"} 5\n'
        'milvus_proxy_sq_latency_bucket{node_id="1",query_type="query",le="+Inf"} 50\n'
        'milvus_proxy_sq_latency_sum{node_id="1",query_type="search"} 7\n'
        'milvus_proxy_sq_latency_count{node_id="1",query_type="search"} 5\n'
    )
    after = parse_search_histogram(
        'milvus_proxy_sq_latency_bucket{node_id="1",query_type="search",le="1"} 4\n'
        'milvus_proxy_sq_latency_bucket{node_id="1",query_type="search",le="4"} 9\n'
        'milvus_proxy_sq_latency_bucket{node_id="1",query_type="search",le="+Inf"} 15\n'
        'milvus_proxy_sq_latency_sum{node_id="1",query_type="search"} 47\n'
        'milvus_proxy_sq_latency_count{node_id="1",query_type="search"} 15\n'
    )
    delta = after.minus(before)
    summary = delta.summary()
    assert summary["server_n"] == 10
    assert summary["server_mean_ms"] == pytest.approx(4.0)
    # 10 new searches: 4 in (1, 4] ms, 6 above 4 ms; the median (rank 5) lies past the 4 ms bucket
    assert summary["server_p50_ms"] == pytest.approx(4.0)
    assert delta.quantile(0.2) == pytest.approx(1 + 3 * (2 / 4))


def _namespace_problem() -> str | None:
    if sys.platform != "linux" or not shutil.which("unshare") or not shutil.which("ip"):
        return "needs Linux with unshare and ip"
    probe = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"cannot create a private network namespace: {probe.stderr.strip() or probe.returncode}"
    return None


@pytest.mark.slow
def test_real_milvus_server_in_a_private_network_namespace(tiny_models, small_corpus):
    try:
        import milvus  # noqa: F401  (the embedded Milvus 2.3.5 server; `make test` installs it)
    except ImportError:
        pytest.fail("the milvus==2.3.5 package is not installed: pip install --no-deps milvus==2.3.5")
    problem = _namespace_problem()
    if problem:
        print(f"skipping the real Milvus test: {problem}")
        pytest.skip(problem)
    script = Path(__file__).with_name("real_milvus_smoke.py")
    # The embedded server listens on every interface: only loopback exists in here.
    command = f"ip link set lo up && exec {sys.executable} {script} {small_corpus} {tiny_models['tiny-a']}"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    run = subprocess.run(["unshare", "-n", "sh", "-c", command], capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert figures["rows"] == figures["records"] > 0
    assert figures["added_again"] == 0
    assert (figures["index_type"], figures["nlist"]) == ("IVF_FLAT", 4)
    assert figures["hits"] == 2 * 5 and figures["baselines"] == ["baseline:bm25", "baseline:hashing"]
    assert figures["backend"] == "milvus-server"
    # an HNSW collection on a real server: its build parameters round-trip, ef reaches the search
    assert figures["hnsw_index"] == figures["hnsw_meta_index"]
    assert figures["hnsw_index"]["type"] == "HNSW" and figures["hnsw_index"]["params"] == {
        "M": 16,
        "efConstruction": 200,
    }
    assert figures["hnsw_hits"] == 5 and figures["hnsw_setting"] == "ef=16"
    assert 0 <= figures["hnsw_exact_overlap"] <= 1
    latency = figures["latency"][0]
    assert latency["server_n"] == 2 * 3
    assert latency["server_mean_ms"] >= 0
    records = figures["records"]
    # two ingests at once into one collection: both succeed, each row stored once
    assert figures["concurrent"] == {"codes": [0, 0], "rows": records, "distinct": records}
    # ten rows planted twice by a plain insert are found and rewritten once
    assert figures["duplicates"] == {
        "planted_rows": records + 10,
        "removed": 10,
        "rows_after": records,
        "distinct": records,
    }
    # after a restart Milvus 2.3 shows an earlier metadata write: said so, and ingest confirms it
    assert figures["restart"]["complete"] is False and "forgot the last metadata update" in figures["restart"]["note"]
    assert figures["restart"]["after_ingest"] == {"added": 0, "complete": True}
    # HNSW_SQ on Milvus 2.3: refused at the index build, and the collection that ingest created is dropped
    assert "was dropped" in figures["hnsw_sq"]["error"] and figures["hnsw_sq"]["left"] == []
    # a wrong token is named as such, once, not as a dead server
    assert "refused the credentials" in figures["auth"]["wrong"] and figures["auth"]["right"] >= 1
