"""The study end to end on tiny models over Milvus Lite: every table, plot and the HTML."""

import json

import pandas as pd
import pytest

from harness.inputs import text_id
from harness.study import TABLES

CORPORA = __import__("pathlib").Path(__file__).resolve().parent.parent / "corpora"


def test_registry_has_every_table_of_the_study():
    assert set(TABLES) >= {
        "cost",
        "contrast",
        "pair_scores",
        "graded",
        "retrieval",
        "coherence",
        "affinity",
        "fidelity",
        "fidelity_summary",
        "alignment",
        "retrieval_items",
        "coherence_items",
        "agreement",
        "agreement_items",
        "score_distribution",
        "threshold_map",
        "paired",
        "standings",
        "unanswered",
    }


@pytest.fixture
def study_inputs(tmp_path, small_corpus):
    lines = [line for line in small_corpus.read_text().splitlines() if line and not line.startswith("#")]
    probes = tmp_path / "probes.csv"
    probes.write_text("id,text\nq1,love and the night sky\nq2,a child lost in the dark city\n")
    qrels = tmp_path / "qrels.csv"
    qrels.write_text(
        f"probe_id,corpus_id,relevance\nq1,{text_id(lines[0])},2\nq1,{text_id(lines[5])},1\nq2,{text_id(lines[20])},1\n"
    )
    return probes, qrels


def test_evaluate_and_report_end_to_end(run_cli, tiny_models, small_corpus, study_inputs, tmp_path):
    probes, qrels = study_inputs
    db = str(tmp_path / "study.db")
    args = ["ingest", "--corpus", small_corpus, "--uri", db, "--nlist", "2"]
    for name in ("tiny-a", "tiny-b"):
        args += ["--model", tiny_models[name]]
    args += ["--model", f"{tiny_models['tiny-a']}@dim=8"]  # a variant, compared with its base too
    assert run_cli(*args).code == 0
    query_dir = tmp_path / "q"
    result = run_cli("query", "--uri", db, "--probes", probes, "--repeats", "2", "--output", query_dir, "--show", "0")
    assert result.code == 0, result

    out, html = tmp_path / "study", tmp_path / "report.html"
    result = run_cli(
        "evaluate",
        "--uri",
        db,
        "--corpus",
        small_corpus,
        "--pairs",
        CORPORA / "pairs.csv",
        "--graded",
        CORPORA / "graded-pairs.csv",
        "--qrels",
        qrels,
        "--probes",
        probes,
        "--top-k",
        "5",
        "--repeats",
        "2",
        "--cost-sample",
        "40",
        "--output",
        out,
        "--html",
        html,
        "--query",
        query_dir,
        "--current",
        "tiny-b",
        "--details",
    )
    assert result.code == 0, result
    # the key tables for people, every finding (--details), and last the recommendation, from the current model
    assert "Contrast" in result.out and "Index fidelity" in result.out and "Every finding" in result.out
    assert "best model" in result.out and ("a tie with" in result.out or "ahead of" in result.out)
    ending = result.out[result.out.index("Recommendation (exact search") :]
    assert "  1. " in ending and "run " not in ending and "note:" not in ending
    assert "from tiny-b (current)" in ending or "Keep tiny-b" in ending

    for name in TABLES:
        if name in ("unanswered", "fusion") and not (out / f"{name}.csv").read_text().strip():
            continue  # every probe answered, no full-text side: an empty table has no Parquet file
        for suffix in ("csv", "json", "parquet"):
            assert (out / f"{name}.{suffix}").is_file(), f"{name}.{suffix}"
    collections = ["harness_tiny_a", "harness_tiny_a_dim_8", "harness_tiny_b"]
    cost = pd.read_csv(out / "cost.csv")
    assert cost["collection"].tolist() == [*collections, "baseline:hashing"]
    cost = cost[cost["collection"].isin(collections)]
    assert cost["dimension"].tolist() == [16, 8, 16]
    assert (cost["sentences_per_s"] > 0).all() and (cost["size_mb"] > 0).all()
    # a peak that could not be measured is blank (NaN), never 0
    assert (cost["parameters"] > 0).all() and (cost["load_s"] > 0).all() and not (cost["peak_memory_mb"] == 0).any()
    contrast = pd.read_csv(out / "contrast.csv")
    pairs = pd.read_csv(out / "pair_scores.csv")
    labelled = pairs[pairs["source"] == "pairs"]
    for name in [*collections, "baseline:hashing"]:
        row = contrast.set_index("collection").loc[name]
        expected = labelled.loc[labelled["gold"] == 1, name].mean() - labelled.loc[labelled["gold"] == 0, name].mean()
        assert row["contrast"] == pytest.approx(expected)
    assert set(pairs["source"]) == {"pairs", "graded"}
    graded = pd.read_csv(out / "graded.csv")
    assert graded["spearman"].between(-100, 100).all() and (graded["n"] > 10).all()
    retrieval = pd.read_csv(out / "retrieval.csv")
    assert set(retrieval["collection"]) == {*collections, "baseline:bm25", "baseline:hashing"}
    assert (retrieval["items"] == 2).all() and set(retrieval["metric"]) == {"recall_at_k", "ndcg_at_10", "mrr"}
    assert retrieval[["value", "exact"]].apply(lambda c: c.between(0, 1)).all().all()
    assert (retrieval["value_ci_low"] <= retrieval["value"]).all() and (
        retrieval["value"] <= retrieval["value_ci_high"]
    ).all()
    items = pd.read_csv(out / "retrieval_items.csv")
    for row in retrieval.itertuples(index=False):
        mine = items[(items["collection"] == row.collection) & (items["search"] == "index")]
        assert row.value == pytest.approx(mine[row.metric].mean())
    paired = pd.read_csv(out / "paired.csv")
    assert set(paired["result"]) <= {"win", "tie", "loss"} and len(paired) > 0
    coherence = pd.read_csv(out / "coherence.csv")
    assert (coherence["groups"] == 6).all() and coherence["coherence"].between(0, 1).all()
    affinity = pd.read_csv(out / "affinity.csv")
    sums = affinity.groupby(["collection", "query_group"])["share"].sum()
    assert sums.values == pytest.approx(1.0)
    fidelity = pd.read_csv(out / "fidelity.csv")
    # no --nprobe: the server's default is measured too, as the row without a value
    assert set(fidelity["value"].dropna()) == {1, 2} and fidelity["value"].isna().sum() == 3
    assert set(fidelity["param"]) == {"nprobe"} and (fidelity["latency_p50_ms"] > 0).all()
    # searching every list is exact search
    assert fidelity.loc[fidelity["value"] == 2, "recall_at_k"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    summary = pd.read_csv(out / "fidelity_summary.csv")
    assert summary["value_for_0_99"].le(2).all() and (summary["search"] == "nprobe=default").all()
    alignment = pd.read_csv(out / "alignment.csv")
    records = len({line for line in small_corpus.read_text().splitlines() if line and not line.startswith("#")})
    assert len(alignment) == 3 and (alignment["rows"] == records).all()
    variants = pd.read_csv(out / "variants.csv")
    assert variants[["collection", "base", "variant"]].values.tolist() == [
        ["harness_tiny_a_dim_8", "harness_tiny_a", "dim=8"]
    ]
    # truncation keeps the direction of the first 8 dimensions: same-text cosine 1 against them
    assert variants["same_text_cosine_min"].iloc[0] == pytest.approx(1.0, abs=1e-5)
    assert variants[["bytes_per_row", "base_bytes_per_row"]].values.tolist() == [[32, 64]]
    assert variants["overlap_at_k"].between(0, 1).all() and variants["recall_at_k_delta"].notna().all()
    assert alignment["cka"].between(0, 1.0000001).all()

    study = json.loads((out / "study.json").read_text())
    plots = study["plots"]
    assert {
        "similarity",
        "efficiency",
        "contrast_vs_time",
        "overlap",
        "latency",
        "ivf_recall",
        "recall_latency",
        "retrieval",
        "variants",
    } <= set(plots)
    assert sum(name.startswith("affinity:") for name in plots) == 5  # the two baselines too
    for path in plots.values():
        assert (out / path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = html.read_text()
    assert text.count("data:image/png;base64,") == len(plots)
    assert "<script" not in text and 'src="http' not in text
    assert "Run manifest" in text and "harness_tiny_a" in text
    assert "from tiny-b (current)" in text or "Keep tiny-b" in text  # the report's recommendation is the terminal's

    again = tmp_path / "again.html"
    result = run_cli("report", "--study", out, "--query", query_dir, "--html", again)
    assert result.code == 0, result
    assert again.read_text().count("data:image/png;base64,") == len(plots)

    # bad input: one line naming the file and the line; exit != 0
    bad = tmp_path / "bad-qrels.csv"
    bad.write_text("probe_id,corpus_id,relevance\nq1,12345,1\n")
    result = run_cli("evaluate", "--uri", db, "--qrels", bad, "--probes", probes, "--repeats", "1")
    assert result.code == 1
    assert (
        result.err.strip()
        == f"error: qrels file {bad}: line 2: unknown corpus id 12345 (not in collection harness_tiny_a)"
    )
    bad_pairs = tmp_path / "bad-pairs.csv"
    bad_pairs.write_text("sentence1,sentence2,score\na,b,lots\n")
    result = run_cli("evaluate", "--uri", db, "--graded", bad_pairs)
    assert (
        result.code == 1
        and result.err.strip() == f"error: graded pairs file {bad_pairs}: line 2: unparseable score 'lots'"
    )


def test_report_without_study_is_one_line(run_cli, tmp_path):
    result = run_cli("report", "--study", tmp_path, "--html", tmp_path / "r.html")
    assert result.code == 1 and "no study.json" in result.err and len(result.err.strip().splitlines()) == 1


def test_html_from_python_api(tmp_path):

    from harness.output.report import write_study
    from harness.study import empty_study

    study = empty_study({"created": "now", "collections": {"c": {}}})
    study.fidelity = pd.DataFrame(
        {
            "collection": ["c", "c"],
            "index": ["IVF_FLAT", "IVF_FLAT"],
            "nlist": [4, 4],
            "param": ["nprobe", "nprobe"],
            "value": [1, 4],
            "k": [5, 5],
            "queries": [10, 10],
            "recall_at_k": [0.8, 1.0],
            "latency_p50_ms": [1.0, 2.0],
        }
    )
    study.cost = pd.DataFrame(
        {"collection": ["c"], "dimension": [8], "size_mb": [1.0], "corpus_encode_s": [2.0], "total_s": [3.0]}
    )
    written = write_study(study, tmp_path / "s", html=tmp_path / "s.html")
    assert (tmp_path / "s" / "plots" / "ivf_recall.png").is_file()
    assert (tmp_path / "s" / "plots" / "recall_latency.png").is_file()
    assert (tmp_path / "s.html").read_text().count("data:image/png") == 3
    assert all(p.exists() for p in written)


def test_hnsw_ingests_queries_and_is_evaluated_over_ef(run_cli, tiny_models, small_corpus, study_inputs, tmp_path):
    probes, qrels = study_inputs
    db = str(tmp_path / "hnsw.db")
    result = run_cli(
        "ingest", "--corpus", small_corpus, "--uri", db, "--model", tiny_models["tiny-a"], "--index", "hnsw"
    )
    assert result.code == 0, result
    assert "HNSW M=16 efConstruction=200" in result.out
    listing = run_cli("collections", "--uri", db)
    assert "HNSW" in listing.out and "M=16 efConstruction=200" in listing.out
    out = tmp_path / "q"
    result = run_cli("query", "--uri", db, "--probes", probes, "--ef", "16", "--top-k", "5", "--output", out)
    assert result.code == 0, result
    assert json.loads((out / "manifest.json").read_text())["search"]["per_collection"]["harness_tiny_a"] == "ef=16"
    study = tmp_path / "study"
    result = run_cli(
        "evaluate",
        "--uri",
        db,
        "--probes",
        probes,
        "--qrels",
        qrels,
        "--top-k",
        "5",
        "--ef",
        "16",
        "--ef-sweep",
        "8",
        "--ef-sweep",
        "32",
        "--repeats",
        "1",
        "--cost-sample",
        "20",
        "--output",
        study,
    )
    assert result.code == 0, result
    fidelity = pd.read_csv(study / "fidelity.csv")
    assert fidelity["param"].tolist() == ["ef"] * 3 and fidelity["value"].tolist() == [8, 16, 32]
    assert pd.read_csv(study / "retrieval.csv").query("collection == 'harness_tiny_a'")["search"].eq("ef=16").all()
    refused = run_cli(
        "ingest", "--corpus", small_corpus, "--uri", db, "--model", tiny_models["tiny-a"], "--index", "IVF_PQ"
    )
    assert refused.code == 1 and refused.err.strip() == (
        "error: index type IVF_PQ is not available on milvus-lite (available: FLAT, IVF_FLAT, IVF_SQ8, HNSW, HNSW_SQ)"
    )


def test_the_verdict_names_every_model_it_ranks_not_only_the_first_three():
    from harness.output.verdict import build_verdict
    from harness.study import Study

    values = {"m1": 0.70, "m2": 0.65, "m3": 0.60, "m4": 0.40, "baseline:hashing": 0.30}
    contrast = pd.DataFrame({"collection": list(values), "contrast": list(values.values())})
    verdict = build_verdict(Study({"contrast": contrast}))
    (text,) = [f.text for f in verdict.findings if f.topic == "contrast"]
    assert text.startswith("Contrast on labelled pairs: best model m1 0.700")
    assert "m2 0.650" in text and "m3 0.600" in text and "hashing" in text
    assert text.endswith("; then m4 0.400.")  # the rest, by value, after the tested comparisons
