"""The experiment file: strict keys, and its place in the precedence
command line > environment > file > built-in default."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from harness.config import load_experiment
from harness.errors import HarnessError


def _write(tmp_path, text):
    path = tmp_path / "harness.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, message",
    [
        ("[serach]\ntop_k = 5\n", "unknown section [serach]"),
        ("[search]\ntopk = 5\n", "unknown key 'topk' in [search] (known: top_k, nprobe, ef, repeats)"),
        (
            '[models]\nnames = "all-MiniLM-L6-v2"\n',
            "[models] names = 'all-MiniLM-L6-v2': expected a list of model names",
        ),
        ("[search]\ntop_k = 0\n", "[search] top_k = 0: expected a whole number >= 1"),
        ("[evaluate]\nrepeats = 0\n", "[evaluate] repeats = 0: expected a whole number >= 1"),
        ("[search\n", "is not valid TOML"),
    ],
)
def test_a_mistake_in_the_file_is_one_line_naming_file_and_key(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(HarnessError) as caught:
        load_experiment(path)
    assert str(path) in str(caught.value) and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_cli_reports_a_bad_key_as_one_line(run_cli, tmp_path):
    _write(tmp_path / "work", "[search]\ntopk = 5\n")
    result = run_cli("collections", "--uri", tmp_path / "x.db")
    assert result.code == 1 and "Traceback" not in result.err
    assert result.err.strip().splitlines() == [
        f"error: experiment file {tmp_path / 'work' / 'harness.toml'}: "
        "unknown key 'topk' in [search] (known: top_k, nprobe, ef, repeats)"
    ]


def test_paths_are_read_from_the_file_folder_and_sections_map_to_commands(tmp_path):
    path = _write(
        tmp_path,
        '[corpus]\npath = "c.txt"\n[milvus]\nuri = "x.db"\n[search]\nrepeats = 0\nnprobe = 0\n'
        '[evaluate]\nrepeats = 2\nqrels = "q.csv"\n[index]\nnlist = 0\n',
    )
    experiment = load_experiment(path)
    assert experiment.corpus == tmp_path / "c.txt" and experiment.uri == str(tmp_path / "x.db")
    assert experiment.defaults_for("query") == {"repeats": 0, "uri": str(tmp_path / "x.db")}
    assert experiment.defaults_for("evaluate") == {
        "repeats": 2,
        "qrels": tmp_path / "q.csv",
        "uri": str(tmp_path / "x.db"),
    }
    assert experiment.defaults_for("ingest") == {"corpus": tmp_path / "c.txt", "uri": str(tmp_path / "x.db")}


def test_query_repeats_in_the_file_do_not_reach_evaluate(run_cli, tmp_path):
    # [search] repeats = 0 is valid for query (no timing); evaluate has its own key.
    _write(tmp_path / "work", f'[milvus]\nuri = "{tmp_path / "empty.db"}"\n[search]\nrepeats = 0\n')
    result = run_cli("evaluate")
    assert result.code == 1 and "no harness collections" in result.err and "--repeats" not in result.err


def test_uri_precedence_command_line_then_environment_then_file(run_cli, tmp_path, monkeypatch):
    _write(tmp_path / "work", f'[milvus]\nuri = "{tmp_path / "file.db"}"\n')
    assert f"no harness collections in {tmp_path / 'file.db'}" in run_cli("collections").out
    monkeypatch.setenv("MILVUS_URI", str(tmp_path / "env.db"))
    assert f"no harness collections in {tmp_path / 'env.db'}" in run_cli("collections").out
    assert (
        f"no harness collections in {tmp_path / 'cli.db'}" in run_cli("collections", "--uri", tmp_path / "cli.db").out
    )


def test_search_settings_come_from_the_file_unless_given(run_cli, tiny_models, small_corpus, tmp_path):
    db = tmp_path / "p.db"
    assert run_cli("ingest", "--corpus", small_corpus, "--model", tiny_models["tiny-a"], "--uri", db).code == 0
    _write(tmp_path / "work", f'[milvus]\nuri = "{db}"\n[search]\ntop_k = 3\nrepeats = 0\n[output]\ndir = "out"\n')
    assert run_cli("query", "--probe", "sweet little lamb").code == 0
    out = tmp_path / "work" / "out" / "latest" / "query"  # [output] dir: the folder runs are kept under

    def own_hits():
        hits = pd.read_csv(out / "hits.csv")
        return hits[hits["collection"] == "harness_tiny_a"]

    assert len(own_hits()) == 3
    assert json.loads((out / "manifest.json").read_text())["search"]["repeats"] == 0
    assert run_cli("query", "--probe", "sweet little lamb", "--top-k", "2").code == 0
    assert len(own_hits()) == 2


def test_index_type_and_ef_come_from_the_file(tmp_path):
    path = _write(tmp_path, '[index]\ntype = "hnsw"\n[search]\nef = 32\n')
    experiment = load_experiment(path)
    assert experiment.defaults_for("ingest") == {"index": "HNSW"}
    assert experiment.defaults_for("query")["ef"] == 32 and experiment.defaults_for("evaluate")["ef"] == 32
    with pytest.raises(HarnessError, match=r"\[index\] type = 'ANNOY': expected one of FLAT, IVF_FLAT"):
        load_experiment(_write(tmp_path, '[index]\ntype = "ANNOY"\n'))
