"""Runs that are kept: folders written whole and never over another, the latest pointer,
listing and finding runs, and what changed between two runs; then query, evaluate and runs
on tiny models and Milvus Lite."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from harness.errors import HarnessError
from harness.files import FreshFolder
from harness.runs import (
    LATEST,
    NewRun,
    check_name,
    find_run,
    latest_run,
    latest_with,
    list_runs,
    prune,
    query_folder,
    run_parts,
    study_folder,
)
from harness.runs.diff import diff_runs
from harness.study import Study

from conftest import REPO

# --- folders written whole -----------------------------------------------------------------------


def test_a_fresh_folder_never_replaces_another_and_a_failed_one_leaves_nothing(tmp_path):
    tmp_path = tmp_path / "parent"
    with FreshFolder(tmp_path, "run") as first:
        (first.partial / "a.csv").write_text("first\n")
    with FreshFolder(tmp_path, "run") as second:
        (second.partial / "a.csv").write_text("second\n")
    assert first.path == tmp_path / "run" and second.path == tmp_path / "run-2"
    assert (tmp_path / "run" / "a.csv").read_text() == "first\n"
    with pytest.raises(RuntimeError):
        with FreshFolder(tmp_path, "run") as third:
            (third.partial / "a.csv").write_text("half")
            raise RuntimeError("killed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "run-2"]


@pytest.mark.slow
def test_a_run_killed_mid_write_leaves_no_run_and_the_next_clears_it(tmp_path):
    script = (
        "import time; from harness.runs import NewRun\n"
        f"run = NewRun('query', {str(tmp_path)!r}, 'killed')\n"
        "with run.folder() as folder:\n"
        "    (folder / 'query').mkdir(); (folder / 'query' / 'overlap.csv').write_text('x')\n"
        "    print('writing', flush=True); time.sleep(60)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    assert process.stdout.readline().strip() == "writing"
    process.kill()
    process.wait()
    assert list_runs(tmp_path) == [] and latest_run(tmp_path) is None
    assert [p.name.startswith(".") for p in (tmp_path / "runs").iterdir()] == [True]  # only the hidden partial
    with NewRun("query", tmp_path).folder() as folder:
        _query_part(folder)
    assert [p.name.startswith(".") for p in (tmp_path / "runs").iterdir()] == [False]


@pytest.mark.parametrize(
    "name, cleaned", [("demo", "demo"), ("nprobe 16", "nprobe-16"), ("v1.2_b", "v1.2_b"), ("  a  b ", "a-b")]
)
def test_a_name_is_cleaned_into_the_folder_name(name, cleaned):
    assert check_name(name) == cleaned


@pytest.mark.parametrize("name", ["a/b", "../up", ".hidden", "é", "x" * 65, "a:b", ""])
def test_a_name_that_is_not_a_plain_word_is_refused(name):
    with pytest.raises(HarnessError, match="--name"):
        check_name(name)


# --- writing, pointing at, listing and finding runs ----------------------------------------------


def _query_part(folder, top_k=10, nprobe=8):
    query = folder / "query"
    query.mkdir()
    pd.DataFrame({"collection_a": ["c1"], "collection_b": ["c2"]}).to_csv(query / "overlap.csv", index=False)
    manifest = {
        "uri": "x.db",
        "collections": {"c1": {"model": {"alias": "m1", "fingerprint": "f1"}, "index": {"type": "FLAT"}}},
        "search": {"top_k": top_k, "nprobe": nprobe},
        "probes": [{"id": "p1", "text": "a probe"}],
    }
    (query / "manifest.json").write_text(json.dumps(manifest))


def test_each_run_gets_its_own_folder_record_and_the_latest_pointer(tmp_path):
    first = NewRun("query", tmp_path, "base")
    with first.folder() as folder:
        _query_part(folder)
    second = NewRun("query", tmp_path, "base")
    with second.folder() as folder:
        _query_part(folder, nprobe=16)
    assert first.path != second.path and first.path.parent == second.path.parent == tmp_path / "runs"
    assert second.path.name.startswith(second.created.strftime("%Y%m%dT%H%M%SZ")) and "-query-base" in second.path.name
    assert (tmp_path / LATEST).is_symlink() and (tmp_path / LATEST).resolve() == second.path.resolve()
    record = json.loads((second.path / "run.json").read_text())
    assert record["kind"] == "query" and record["name"] == "base" and record["parts"] == ["query"]
    assert record["uri"] == "x.db" and record["collections"] == ["c1"]
    assert record["models"] == [
        {"collection": "c1", "alias": "m1", "spec": None, "fingerprint": "f1", "dimension": None}
    ]
    assert record["settings"]["query nprobe"] == 16 and record["settings"]["query probes"].startswith("1 probes")
    assert [r.path for r in list_runs(tmp_path)] == [second.path, first.path]  # newest first
    assert find_run(tmp_path, "latest").path == second.path
    assert find_run(tmp_path, "base").path == second.path  # a name: the newest of that name
    assert find_run(tmp_path, first.path.name).path == first.path
    assert find_run(tmp_path, str(first.path)).path == first.path
    assert query_folder(first.path) == first.path / "query"
    assert latest_with(tmp_path, "query", uri="x.db").path == second.path
    assert latest_with(tmp_path, "query", uri="other.db") is None and latest_with(tmp_path, "study") is None
    assert find_run(tmp_path / "elsewhere", tmp_path, part="query").path == second.path  # a results folder
    with pytest.raises(HarnessError, match="no study runs under .* run harness evaluate or compare"):
        find_run(tmp_path / "elsewhere", tmp_path, part="study")
    with pytest.raises(HarnessError, match=r"no run 'nothing' under .*runs: harness runs lists them"):
        find_run(tmp_path, "nothing")
    with pytest.raises(HarnessError, match="holds no study"):
        study_folder(first.path)


def test_without_symbolic_links_latest_is_a_text_file(tmp_path, monkeypatch):
    def no_links(*args, **kwargs):
        raise OSError("symbolic links are not supported here")

    monkeypatch.setattr(os, "symlink", no_links)
    run = NewRun("query", tmp_path)
    with run.folder() as folder:
        _query_part(folder)
    pointer = tmp_path / LATEST
    assert not pointer.is_symlink() and pointer.read_text().strip() == f"runs/{run.path.name}"
    assert latest_run(tmp_path).path == tmp_path / "runs" / run.path.name


def test_prune_keeps_the_newest_and_the_latest(tmp_path):
    made = []
    for _ in range(3):
        run = NewRun("query", tmp_path)
        with run.folder() as folder:
            _query_part(folder)
        made.append(run.path)
    assert prune(tmp_path, 1) == made[:2][::-1]
    assert [r.path for r in list_runs(tmp_path)] == [made[2]]
    with pytest.raises(HarnessError, match="at least 1"):
        prune(tmp_path, 0)


def test_an_explicit_output_folder_holds_the_run_and_moves_no_pointer(tmp_path):
    run = NewRun("compare", tmp_path / "results", output=tmp_path / "mine")
    with run.folder() as folder:
        _query_part(folder)
    assert run.path == tmp_path / "mine" and (tmp_path / "mine" / "run.json").is_file()
    assert not (tmp_path / "results").exists()
    with pytest.raises(HarnessError, match="--name names a run kept under the results folder"):
        NewRun("compare", tmp_path, "x", output=tmp_path / "mine")


# --- what changed between two runs ---------------------------------------------------------------


def _study(folder, nprobe, models, recall, contrast):
    """A study folder as evaluate writes it, for collections of the given models."""
    names = [f"harness_{m}" for m in models]
    manifest = {
        "uri": "x.db",
        "collections": {
            n: {"model": {"alias": m, "fingerprint": f"w-{m}"}, "index": {"type": "IVF_FLAT", "nlist": 22}}
            for n, m in zip(names, models)
        },
        "parameters": {"top_k": 10, "nprobe": nprobe, "baselines": ["bm25"]},
        "inputs": {"qrels": "q.csv"},
    }
    retrieval = pd.DataFrame(
        [
            {
                "collection": n,
                "search": f"nprobe={nprobe}",
                "metric": "recall_at_k",
                "value": r,
                "value_ci_low": r - 0.1,
                "value_ci_high": r + 0.1,
                "exact": 0.5,
                "exact_ci_low": 0.4,
                "exact_ci_high": 0.6,
            }
            for n, r in zip([*names, "baseline:bm25"], [*recall, 0.3])
        ]
    )
    contrast_frame = pd.DataFrame(
        [
            {"collection": n, "contrast": c, "contrast_ci_low": c - 0.1, "contrast_ci_high": c + 0.1}
            for n, c in zip(names, contrast)
        ]
    )
    Study({"retrieval": retrieval, "contrast": contrast_frame}, manifest=manifest).save(folder)
    return folder


def test_the_diff_names_models_added_settings_changed_and_each_figure_change(tmp_path):
    before = _study(tmp_path / "before", 8, ["a", "b"], [0.2, 0.1], [0.5, 0.4])
    after = _study(tmp_path / "after", 16, ["a", "c"], [0.25, 0.3], [0.5, 0.6])
    diff = diff_runs(after, before)
    changes = diff.changes.set_index("name")
    assert changes.loc["c", "status"] == "added" and changes.loc["b", "status"] == "removed"
    assert changes.loc["harness_c", "kind"] == "collection" and "a" not in changes.index
    changed = diff.changed_settings.set_index("setting")
    assert changed.loc["study nprobe", "against"] == "8" and changed.loc["study nprobe", "run"] == "16"
    assert "study top_k" not in changed.index and "index a" not in changed.index
    figures = diff.figures.set_index(["retriever", "metric"])
    assert figures.loc[("a", "recall_at_k"), "change"] == pytest.approx(0.05)
    assert figures.loc[("a", "recall_at_k"), "run_ci_low"] == pytest.approx(0.15)
    assert pd.isna(figures.loc[("b", "recall_at_k"), "run"]) and pd.isna(figures.loc[("c", "contrast"), "against"])
    assert figures.loc[("baseline:bm25", "recall_at_k"), "change"] == pytest.approx(0)
    assert diff.figures["retriever"].iloc[-1] == "baseline:bm25"  # models first
    assert set(diff.frames()) == {"changes", "settings", "figures"}


def test_a_model_rebuilt_with_another_index_is_one_row_whose_index_changed(tmp_path):
    before = _study(tmp_path / "before", 8, ["a"], [0.2], [0.5])
    after = _study(tmp_path / "after", 8, ["a"], [0.2], [0.5])
    record = json.loads((after / "study.json").read_text())
    record["manifest"]["collections"] = {
        "harness_hnsw_a": {"model": {"alias": "a", "fingerprint": "w-a"}, "index": {"type": "HNSW"}}
    }
    (after / "study.json").write_text(json.dumps(record))
    changed = diff_runs(run_parts(after), run_parts(before)).changed_settings.set_index("setting")
    assert changed.loc["index a", "against"] == "IVF_FLAT nlist=22" and changed.loc["index a", "run"] == "HNSW"


# --- the command line ------------------------------------------------------------------------------


def test_runs_lists_newest_first_and_report_against_prints_the_diff(run_cli, tmp_path):
    before = NewRun("evaluate", tmp_path, "before")
    with before.folder() as folder:
        _study(folder / "study", 8, ["a"], [0.2], [0.5])
    after = NewRun("evaluate", tmp_path, "after")
    with after.folder() as folder:
        _study(folder / "study", 16, ["a"], [0.3], [0.5])
    result = run_cli("runs", "--results", tmp_path)
    assert result.code == 0, result
    assert result.out.index(after.path.name) < result.out.index(before.path.name)
    assert "(latest)" in result.out and "nprobe=16" in result.out
    result = run_cli("report", "--results", tmp_path, "--against", "before", "--html", tmp_path / "r.html")
    assert result.code == 0, result
    assert "Settings that changed" in result.out and "study nprobe" in result.out
    assert "0.100" in result.out  # recall 0.2 -> 0.3
    page = (tmp_path / "r.html").read_text()
    assert f"What changed since {before.path.name}" in page and "study nprobe" in page
    assert run_cli("runs", "--results", tmp_path, "--kind", "query").out.startswith("no runs")


@pytest.mark.parametrize(
    "args, message",
    [
        (["runs", "--kind", "ingest"], "--kind 'ingest': one of query, evaluate, compare"),
        (["runs", "--prune", "0"], "--prune N keeps the newest N runs: N must be at least 1"),
        (["report", "--against", "nothing"], "no run 'nothing' under"),
        (["report"], "no runs under"),
        (["report", "--run", "latest", "--study", "."], "--study and --run both name the study to report"),
        (["query", "--probe", "x", "--name", "a/b"], "--name 'a/b': use letters, digits"),
        (["query", "--probe", "x", "--name", "n", "--output", "o"], "--name names a run kept under the results"),
        (["evaluate", "--name", "bad name!"], "--name 'bad name!'"),
        (["evaluate", "--measures", "speed"], "unknown measure 'speed'; the measures are cost, contrast"),
        (["compare", "--corpus", "c.txt", "-m", "m", "--probes", "p.csv", "--name", "x/y"], "--name 'x/y'"),
    ],
)
def test_mistakes_are_one_line(run_cli, tmp_path, args, message):
    result = run_cli(*args, "--results", tmp_path) if args[0] != "query" else run_cli(*args)
    assert result.code == 1, result
    assert result.err.startswith("error: ") and message in result.err and len(result.err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("garbage", [bytes(range(128, 256)), b"runs/a\0b", b"../../../nowhere"])
def test_a_damaged_latest_pointer_falls_back_to_the_newest_run(run_cli, tmp_path, garbage):
    run = NewRun("query", tmp_path, "base")
    with run.folder() as folder:
        _query_part(folder)
    (tmp_path / LATEST).unlink()
    (tmp_path / LATEST).write_bytes(garbage)
    result = run_cli("runs", "--results", tmp_path)
    assert result.code == 0 and "Traceback" not in result.err and f"{run.path.name} (latest)" in result.out, result
    assert find_run(tmp_path, "latest").path == run.path


def test_a_results_path_that_is_a_file_is_one_line(run_cli, tmp_path):
    (tmp_path / "file.txt").write_text("not a folder")
    for args in (("runs",), ("report",), ("query", "--probe", "x")):
        result = run_cli(*args, "--results", tmp_path / "file.txt")
        assert result.code == 1 and result.err.strip().splitlines() == [
            f"error: results folder {tmp_path / 'file.txt'} is a file, not a folder: choose another --results"
        ], result


def test_the_measures_option_lists_every_registered_measure():
    from harness.cli.common import MeasuresOpt
    from harness.study import MEASURES

    help_text = MeasuresOpt.__metadata__[0].help
    assert all(m.name in help_text for m in MEASURES)


# --- the real path: tiny models on Milvus Lite -----------------------------------------------------


def test_query_and_evaluate_keep_runs_on_milvus_lite(run_cli, tiny_models, small_corpus, tmp_path):
    db, results = tmp_path / "r.db", tmp_path / "results"
    models = ["-m", tiny_models["tiny-a"], "-m", tiny_models["tiny-b"]]
    ingested = run_cli("ingest", "--corpus", small_corpus, *models, "--uri", db, "--nlist", "4")
    assert ingested.code == 0, ingested
    probe = ["--uri", db, "--probe", "love and the night sky", "--top-k", "5", "--repeats", "1", "--show", "0"]
    first = run_cli("query", *probe, "--nprobe", "1", "--name", "narrow", "--results", results)
    assert first.code == 0, first
    second = run_cli("query", *probe, "--nprobe", "4", "--name", "wide", "--results", results)
    assert second.code == 0, second
    narrow, wide = find_run(results, "narrow"), find_run(results, "wide")
    assert narrow.path != wide.path and latest_run(results).path == wide.path
    hits = pd.read_csv(wide.query / "hits.csv")
    assert {"harness_tiny_a", "harness_tiny_b"} <= set(hits["collection"])
    record = json.loads((wide.path / "run.json").read_text())
    assert record["uri"] == str(db) and record["settings"]["query nprobe"] == 4
    assert sorted(m["alias"] for m in record["models"]) == ["tiny-a", "tiny-b"]
    diff = diff_runs(wide, narrow)
    changed = diff.changed_settings.set_index("setting")
    assert changed.loc["query nprobe", "against"] == "1" and changed.loc["query nprobe", "run"] == "4"
    assert diff.changes.empty  # the same models and collections
    # --output writes the query files into the one folder, as before, and keeps no run
    plain = run_cli("query", *probe, "--output", tmp_path / "plain", "--results", results)
    assert plain.code == 0, plain
    assert (tmp_path / "plain" / "hits.csv").is_file() and len(list_runs(results)) == 2
    # evaluate reads the newest query of the same database, says so, and keeps its own run
    evaluated = run_cli("evaluate", "--uri", db, "--measures", "cost", "--repeats", "1", "--results", results)
    assert evaluated.code == 0, evaluated
    assert f"query results from {wide.path}" in evaluated.out.replace("\n", "")
    latest = latest_run(results)
    assert latest.record["kind"] == "evaluate" and latest.study is not None and latest.report is not None
    assert (results / "report.html").read_bytes() == (latest.path / "report.html").read_bytes()
    listed = run_cli("runs", "--results", results)
    assert listed.code == 0 and listed.out.index("evaluate") < listed.out.index("query-wide")
