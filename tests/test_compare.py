"""`harness compare` (the whole experiment in one process, each model loaded once) and models
compared without a collection (`harness evaluate -m`, no Milvus at all)."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from harness.inputs import text_id
from harness.models import load_model
from harness.records import IndexPlan
from harness.study import StudyInputs, StudyPlan, StudySettings, read_inputs, run_study

from conftest import CORPORA, REPO
from fakes import FakeEmbedder


def _loader(*embedders):
    by_alias = {e.alias: e for e in embedders}
    return lambda ref: by_alias[ref.alias] if ref.alias in by_alias else load_model(ref)


# --- models without a collection, on the fakes ------------------------------------------------------


def test_models_are_compared_without_a_store(tmp_path):
    probes = tmp_path / "p.csv"
    probes.write_text("id,text\np1,a probe\n")
    qrels = tmp_path / "q.csv"
    qrels.write_text(f"probe_id,corpus_id,relevance\np1,{text_id('x')},1\n")
    inputs = read_inputs(None, CORPORA / "pairs.csv", CORPORA / "graded-pairs.csv", qrels, probes)
    a, b = FakeEmbedder("fake-a"), FakeEmbedder("fake-b", seed=3)
    settings = StudySettings(repeats=1, baselines=("bm25", "hashing"))
    study = run_study(None, None, inputs, settings, _loader(a, b), models=["fake-a", "fake-b"])
    names = ["fake-a", "fake-b", "baseline:hashing"]
    assert study.contrast["collection"].tolist() == names and study.graded["collection"].tolist() == names
    assert study.cost["collection"].tolist() == names
    sentences = {*inputs.pairs["sentence1"], *inputs.pairs["sentence2"], *inputs.graded["sentence1"]}
    sentences |= set(inputs.graded["sentence2"])
    assert (study.cost["encode_sentences"] == len(sentences)).all()  # the pairs' sentences, each once
    scores = study.pair_scores[study.pair_scores["source"] == "pairs"]
    for name in names:
        expected = scores.loc[scores["gold"] == 1, name].mean() - scores.loc[scores["gold"] == 0, name].mean()
        assert study.contrast.set_index("collection").loc[name, "contrast"] == pytest.approx(expected)
    assert set(study.paired["metric"]) == {"contrast", "spearman"}
    for table in ("retrieval", "coherence", "agreement", "fidelity", "alignment", "score_distribution"):
        assert study.tables[table].empty, table
    notes = " | ".join(study.warnings)
    assert (
        "retrieval, fusion, coherence, agreement, hits, latency, fidelity, alignment, variants "
        "skipped without collections" in notes
    )
    assert "similarity skipped without collections: without collections it needs --corpus" in notes
    assert "baseline:bm25 left out" in notes
    assert study.manifest["collections"] == {} and set(study.manifest["models_compared"]) == {"fake-a", "fake-b"}
    assert study.manifest["models_compared"]["fake-a"]["fingerprint"] == a.fingerprint


def test_with_a_corpus_models_without_a_store_get_the_similarity_distribution():
    lines = [f"line {w} and {v}" for w in ("sun", "moon", "star") for v in ("sea", "sky", "rain", "fire")]
    inputs = StudyInputs(corpus_texts=lines)
    a = FakeEmbedder("fake-a")
    study = run_study(None, None, inputs, StudySettings(repeats=1, baselines=()), _loader(a), models=["fake-a"])
    assert study.score_distribution["lines"].tolist() == [len(lines)]
    assert study.cost["encode_sentences"].tolist() == [len(lines)]


@pytest.mark.parametrize(
    "args, message",
    [
        (["-m", "a", "-c", "harness_a", "--pairs", "p.csv"], "give models (-m) or collections (-c), not both"),
        (["-m", "a"], "evaluate -m needs --pairs, --graded or --corpus"),
        (["-m", "a", "--pairs", "p.csv", "--external", "s.json"], "--external describes a collection"),
    ],
)
def test_models_without_a_collection_refuse_what_needs_one(run_cli, tmp_path, args, message):
    result = run_cli("evaluate", *args, "--results", tmp_path)
    assert result.code == 1 and result.err.startswith(f"error: {message}") and len(result.err.splitlines()) == 1
    assert not list(tmp_path.glob("**/*.db")) and not list((tmp_path.parent / "work").glob("*.db"))


# --- the real path: tiny models, no Milvus --------------------------------------------------------


def test_evaluate_models_through_the_cli_opens_no_milvus(tiny_models, small_corpus, tmp_path):
    results = tmp_path / "results"
    code = (
        "import sys; from harness.cli import run\n"
        "code = run(sys.argv[1:])\n"
        "print('pymilvus loaded' if 'pymilvus' in sys.modules else 'no pymilvus', code)\n"
    )
    args = ["evaluate", "-m", str(tiny_models["tiny-a"]), "-m", str(tiny_models["tiny-b"])]
    args += ["--pairs", str(CORPORA / "pairs.csv"), "--graded", str(CORPORA / "graded-pairs.csv")]
    args += ["--corpus", str(small_corpus), "--repeats", "1", "--results", str(results), "--name", "notebook"]
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "no pymilvus 0"
    assert "Contrast" in done.stdout and "skipped without collections" in done.stdout
    assert not list(tmp_path.glob("**/*.db"))  # no Milvus Lite database anywhere
    (run,) = (results / "runs").iterdir()
    assert run.name.endswith("-evaluate-notebook") and (run / "report.html").is_file()
    assert (results / "report.html").read_bytes() == (run / "report.html").read_bytes()
    study = run / "study"
    contrast = pd.read_csv(study / "contrast.csv")
    scores = pd.read_csv(study / "pair_scores.csv")
    scores = scores[scores["source"] == "pairs"]
    for row in contrast.itertuples():
        expected = scores.loc[scores["gold"] == 1, row.collection].mean()
        expected -= scores.loc[scores["gold"] == 0, row.collection].mean()
        assert row.contrast == pytest.approx(expected)
    assert contrast["collection"].tolist() == ["tiny-a", "tiny-b", "baseline:hashing"]
    assert (contrast["contrast_ci_low"] <= contrast["contrast"]).all()
    assert len(pd.read_csv(study / "score_distribution.csv")) == 3
    assert (study / "plots" / "similarity.png").is_file() and (study / "plots" / "contrast_vs_time.png").is_file()
    record = json.loads((run / "run.json").read_text())
    assert record["kind"] == "evaluate" and record["collections"] == []
    assert [m["alias"] for m in record["models"]] == ["tiny-a", "tiny-b"]
    assert all(len(m["fingerprint"]) == 16 for m in record["models"])


# --- the real path: the whole comparison in one process -------------------------------------------


@pytest.fixture
def judged(tmp_path, small_corpus):
    lines = [line for line in small_corpus.read_text().splitlines() if line and not line.startswith("#")]
    probes = tmp_path / "probes.csv"
    probes.write_text("id,text\nq1,love and the night sky\nq2,a child lost in the dark city\n")
    qrels = tmp_path / "qrels.csv"
    qrels.write_text(f"probe_id,corpus_id,relevance\nq1,{text_id(lines[0])},2\nq2,{text_id(lines[20])},1\n")
    return probes, qrels


def test_compare_loads_each_model_once_and_writes_one_whole_run(
    tiny_models, small_corpus, judged, tmp_path, monkeypatch
):
    import sentence_transformers

    import harness

    constructed = []
    original = sentence_transformers.SentenceTransformer.__init__

    def counting(self, *args, **kwargs):
        constructed.append(args[0] if args else kwargs.get("model_name_or_path"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(sentence_transformers.SentenceTransformer, "__init__", counting)
    probes, qrels = judged
    done = harness.compare(
        small_corpus,
        [str(tiny_models["tiny-a"]), str(tiny_models["tiny-b"])],
        str(tmp_path / "c.db"),
        probes=probes,
        pairs=CORPORA / "pairs.csv",
        qrels=qrels,
        index=IndexPlan(nlist=2),
        plan=StudyPlan(top_k=5, search_repeats=1, repeats=2),
        results=tmp_path / "results",
        name="one",
    )
    assert len(constructed) == 2 and done.loads == 2  # ingest, query and study shared the two loaded models
    assert done.run.parent == tmp_path / "results" / "runs" and done.run.name.endswith("-compare-one")
    assert sorted(p.name for p in done.run.iterdir()) == [
        ".harness-output",
        "query",
        "report.html",
        "run.json",
        "study",
    ]
    assert (tmp_path / "results" / "latest").resolve() == done.run.resolve()
    hits = pd.read_csv(done.run / "query" / "hits.csv")
    assert {"harness_tiny_a", "harness_tiny_b", "baseline:bm25"} <= set(hits["collection"])
    retrieval = pd.read_csv(done.run / "study" / "retrieval.csv")
    assert set(retrieval["collection"]) == {"harness_tiny_a", "harness_tiny_b", "baseline:bm25", "baseline:hashing"}
    cost = pd.read_csv(done.run / "study" / "cost.csv").set_index("collection")
    # each model was loaded once: the cost table's load time is that load, however many repeats
    assert cost.loc["harness_tiny_a", "load_s"] == pytest.approx(done.ingest.models[0].load_s)
    assert cost.loc["harness_tiny_a", "sentences_per_s"] > 0
    again = harness.compare(
        small_corpus,
        [str(tiny_models["tiny-a"]), str(tiny_models["tiny-b"])],
        str(tmp_path / "c.db"),
        probes=probes,
        plan=StudyPlan(top_k=5, search_repeats=0, measures="retrieval"),
        qrels=qrels,
        results=tmp_path / "results",
    )
    assert all(m.rows_added == 0 for m in again.ingest.models)  # the collections were resumed, not rebuilt
    assert again.run != done.run and (done.run / "run.json").is_file()  # the first run is kept
    assert again.study.manifest["measures"] == ["retrieval"] and again.study.contrast.empty


def test_compare_through_the_cli_then_evaluate_reads_its_query_and_report_shows_the_change(
    run_cli, tiny_models, small_corpus, judged, tmp_path
):
    probes, qrels = judged
    results = tmp_path / "results"
    common = ["--corpus", small_corpus, "-m", tiny_models["tiny-a"], "-m", tiny_models["tiny-b"]]
    common += ["--uri", tmp_path / "c.db", "--probes", probes, "--qrels", qrels, "--nlist", "4", "--top-k", "5"]
    common += ["--results", results, "--cost-repeats", "1", "--repeats", "1"]
    first = run_cli("compare", *common, "--nprobe", "1", "--name", "narrow")
    assert first.code == 0, first
    assert "Retrieval with relevance judgements" in first.out and "rows_added" in first.out
    # the run and its report are named, then the output ends with the recommendation
    ending = first.out[first.out.index("\nrun ") :]
    assert "report" in ending and "\nRecommendation" in ending and ending.splitlines()[-1].startswith("  ")
    second = run_cli("compare", *common, "--nprobe", "4", "--name", "wide", "--measures", "retrieval,agreement")
    assert second.code == 0, second
    listed = run_cli("runs", "--results", results)
    assert listed.out.index("compare-wide") < listed.out.index("compare-narrow")
    diff = run_cli(
        "report", "--results", results, "--run", "wide", "--against", "narrow", "--html", tmp_path / "r.html"
    )
    assert diff.code == 0, diff
    assert "study nprobe" in diff.out and "query nprobe" in diff.out and "recall_at_k" in diff.out
    evaluated = run_cli(
        "evaluate", "--uri", tmp_path / "c.db", "--results", results, "--measures", "cost", "--repeats", "1"
    )
    assert evaluated.code == 0, evaluated
    assert "compare-wide" in evaluated.out  # the latest run with a query, from the same database
    latest = (results / "latest").resolve()
    assert latest.name.endswith("-evaluate") and (latest / "report.html").is_file()
    # make study's form: the results folder stands for its newest run with a query (compare-wide)
    study = tmp_path / "study"
    args = ["--uri", tmp_path / "c.db", "--qrels", qrels, "--probes", probes, "--top-k", "5", "--repeats", "1"]
    args += ["--output", study, "--query", results, "--html", study / "report.html", "--results", results]
    made = run_cli("evaluate", *args, "--measures", "retrieval,cost")
    assert made.code == 0, made
    assert (study / "study.json").is_file() and (study / "report.html").is_file()
    assert (study / "plots" / "latency.png").is_file()  # read from compare-wide's query
    assert (results / "latest").resolve() == latest  # --output keeps no run


def test_compare_loads_a_variant_apart_from_its_base_and_compares_the_two(tiny_models, small_corpus, judged, tmp_path):
    import harness

    probes, qrels = judged
    base = str(tiny_models["tiny-a"])
    done = harness.compare(
        small_corpus,
        [base, f"{base}@dim=8"],
        str(tmp_path / "c.db"),
        probes=probes,
        qrels=qrels,
        index=IndexPlan(nlist=2),
        plan=StudyPlan(top_k=5, search_repeats=0, repeats=1, measures="variants,cost", baselines="none"),
        output=tmp_path / "out",
        report=False,
    )
    assert done.loads == 2  # the same weights, run two ways: two models
    assert [m.collection for m in done.ingest.models] == ["harness_tiny_a", "harness_tiny_a_dim_8"]
    (row,) = done.study.tables["variants"].to_dict("records")
    assert (row["collection"], row["base"], row["dimension"], row["base_dimension"]) == (
        "harness_tiny_a_dim_8",
        "harness_tiny_a",
        8,
        16,
    )
    assert row["same_text_cosine_min"] > 0.999  # a truncation of the base's own vectors, renormalised


def test_compare_json_is_one_object_on_stdout_and_current_names_the_model_switched_from(
    run_cli, tiny_models, small_corpus, judged, tmp_path
):
    import html

    probes, qrels = judged
    results = tmp_path / "results"
    a, b = str(tiny_models["tiny-a"]), str(tiny_models["tiny-b"])
    refused = run_cli("compare", "--corpus", small_corpus, "-m", a, "--probes", probes, "--current", "tiny-z",
                      "--results", results, "--uri", tmp_path / "c.db")  # fmt: skip
    assert refused.code == 1 and len(refused.err.splitlines()) == 1
    assert refused.err.startswith("error: --current tiny-z: not one of the models given")
    assert not results.exists() and not (tmp_path / "c.db").exists()  # refused before any work

    done = run_cli("compare", "--corpus", small_corpus, "-m", a, "-m", b, "--probes", probes, "--qrels", qrels,
                   "--uri", tmp_path / "c.db", "--nlist", "2", "--top-k", "5", "--repeats", "0", "--cost-repeats", "1",
                   "--results", results, "--current", "tiny-b", "--json")  # fmt: skip
    assert done.code == 0, done
    found = json.loads(done.out)  # the whole of stdout is the one object
    assert found["current"] == "harness_tiny_b" and found["current_name"] == "tiny-b"
    sentences = found["recommendation"]
    assert 3 <= len(sentences) <= 5 and sentences[0]["question"] == "quality" and found["search"] == "exact search"
    assert all({"text", "table", "figure", "ci_low", "ci_high"} <= set(s) for s in sentences)
    assert any(r["retriever"] == "baseline:bm25" for r in found["front"])  # BM25 is on the quality-cost plane
    # the run's report says what the JSON says, from the same current model
    page = (results / "report.html").read_text()
    assert all(html.escape(s["text"]) in page for s in sentences)
    assert found["report"] and found["run"].startswith(str(results))


def test_evaluate_with_an_unknown_current_model_keeps_the_study_and_says_so_in_one_line(run_cli, tiny_models, tmp_path):
    results = tmp_path / "results"
    done = run_cli("evaluate", "-m", tiny_models["tiny-a"], "--pairs", CORPORA / "pairs.csv", "--repeats", "1",
                   "--results", results, "--current", "tiny-z")  # fmt: skip
    assert done.code == 1 and done.err == "error: --current tiny-z: not one of the models compared (models: tiny-a)\n"
    (run,) = (results / "runs").iterdir()  # the study was not thrown away
    assert (run / "study" / "contrast.csv").is_file() and (run / "report.html").is_file()
