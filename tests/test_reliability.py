"""Bad input, bad options, faults and secrets: each ends in one clear line and the right
exit code, and nothing is lost, duplicated or mixed. RELIABILITY.md lists every case with
the test that covers it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from harness.errors import HarnessError
from harness.files import output_folder
from harness.inputs import load_corpus
from harness.metrics.agreement import agreement
from harness.store import Store, collection_name, redact_uri

from conftest import REPO
from synthetic import write_synthetic_corpus

PYTHON = sys.executable
SECRET = "top@secret:pa%40ss"


def _one_error_line(result, code: int = 1) -> str:
    assert result.code == code, result
    assert "Traceback" not in result.err + result.out
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result
    return lines[0]


def _harness(*args, env=None, **kw) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.Popen(
        [PYTHON, "-m", "harness.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        **kw,
    )


def _written(db: Path) -> int:
    folder = db / "collections"
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.exists() else 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the command line itself ------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["query", "--nope"], "Error: No such option: --nope"),
        (["query", "--top-k", "abc"], "Error: Invalid value for '--top-k'"),
        (["query", "--top-k"], "Error: Option '--top-k' requires an argument."),
        (["nocmd"], "Error: No such command 'nocmd'."),
    ],
)
def test_usage_errors_print_as_click_does_and_exit_2(run_cli, args, message):
    result = run_cli(*args)
    assert result.code == 2 and "Traceback" not in result.err + result.out
    error_lines = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1 and error_lines[0].startswith(message), result


def test_no_arguments_shows_the_help_and_exits_2(run_cli):
    result = run_cli()
    assert result.code == 2 and "Traceback" not in result.err + result.out
    assert "Usage: harness" in result.out + result.err and "ingest" in result.out + result.err


def test_help_exits_0(run_cli):
    assert run_cli("--help").code == 0 and run_cli("query", "--help").code == 0


@pytest.mark.slow
def test_ctrl_c_during_ingest_says_interrupted_exits_130_and_a_rerun_finishes(tiny_models, tmp_path):
    corpus, db = tmp_path / "big.txt", tmp_path / "int.db"
    write_synthetic_corpus(corpus, 10000, seed=3)
    process = _harness(
        "ingest", "--corpus", corpus, "--uri", db, "--model", tiny_models["tiny-a"], "--chunk-size", "500", "--no-cache"
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _written(db) < 50_000:  # rows are going in
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err
    name = collection_name("tiny-a")
    with Store(str(db)) as store:
        assert store.collection_meta(name).complete is False
    process = _harness(
        "ingest", "--corpus", corpus, "--uri", db, "--model", tiny_models["tiny-a"], "--chunk-size", "2000"
    )
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-2000:]
    with Store(str(db)) as store:
        assert store.row_count(name) == 10000 and store.collection_meta(name).complete is True


def test_sigterm_during_ingest_says_terminated_exits_143_and_leaves_it_incomplete(tiny_models, tmp_path):
    corpus, db = tmp_path / "big.txt", tmp_path / "term.db"
    write_synthetic_corpus(corpus, 10000, seed=3)
    process = _harness(
        "ingest", "--corpus", corpus, "--uri", db, "--model", tiny_models["tiny-a"], "--chunk-size", "500", "--no-cache"
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _written(db) < 50_000:  # rows are going in
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 143, err[-2000:]
    assert err.strip().splitlines()[-1] == "terminated" and "Traceback" not in err
    with Store(str(db)) as store:
        assert store.collection_meta(collection_name("tiny-a")).complete is False


def test_sigterm_while_a_command_writes_its_output_folder_removes_the_partial_folder(tmp_path):
    out = tmp_path / "out"
    script = (
        "import sys, time\n"
        "import harness.querying\n"
        "from harness.files import output_folder\n"
        "def slow(*args, **kwargs):\n"
        f"    with output_folder({str(out)!r}, ['*.csv']) as partial:\n"
        "        (partial / 'hits.csv').write_text('half'); print('writing', flush=True); time.sleep(60)\n"
        "harness.querying.query = slow\n"
        "sys.argv = ['harness', 'query', '--probe', 'sweet lamb']\n"
        "from harness.cli import main\n"
        "main()\n"
    )
    process = subprocess.Popen(
        [PYTHON, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.stdout.readline().strip() == "writing"
    assert list(tmp_path.glob(".out.partial-*"))
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143 and err.strip() == "terminated", err[-2000:]
    assert not list(tmp_path.glob(".out.*")) and not out.exists()  # nothing hidden left for the next run


def test_ctrl_c_during_query_says_interrupted_and_exits_130(run_cli, monkeypatch):
    import harness.querying

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(harness.querying, "query", interrupted)
    result = run_cli("query", "--probe", "sweet lamb")
    assert result.code == 130 and result.err.strip() == "interrupted"


@pytest.mark.parametrize(
    "uri", ["http://127.0.0.1:99999", "http://127.0.0.1:abc", "ftp://127.0.0.1:19530", "http://:5"]
)
def test_a_malformed_uri_is_one_line(run_cli, uri):
    line = _one_error_line(run_cli("collections", "--uri", uri))
    assert line.startswith("error: bad Milvus URI")


# --- data: never duplicated, lost or mixed ------------------------------------------------------


def test_prefixes_that_meet_in_one_name_are_refused_and_recreate_spares_the_other(
    run_cli, tiny_models, small_corpus, tmp_path
):
    db, model = tmp_path / "p.db", tiny_models["tiny-a"]
    assert collection_name("tiny-a", "日本") != collection_name("tiny-a", "中文")
    assert run_cli("ingest", "--corpus", small_corpus, "--uri", db, "-m", model, "--prefix", "a b").code == 0
    for extra in ((), ("--recreate",)):
        line = _one_error_line(
            run_cli("ingest", "--corpus", small_corpus, "--uri", db, "-m", model, "--prefix", "a/b", *extra)
        )
        assert "belongs to the experiment with --prefix 'a b', not 'a/b'" in line
    with Store(str(db)) as store:
        meta = store.collection_meta("harness_a_b_tiny_a")
        assert meta.prefix == "a b" and meta.complete


@pytest.mark.parametrize(
    "content, message",
    [
        ("id,text,group\n1,hello,g1\n2,hello, comma world,g2\n", "line 3: 4 fields, the header has 3"),
        ("id,text,group\n1,hello,g1\n2,short\n", "line 3: 2 fields, the header has 3"),
        ("id,text\n001,one\n1,uno\n", "line 3: id '1' is stored as the same id as '001' on line 2"),
        ("id,text\n7,one\n7,two\n", "line 3: id '7' repeats line 2 with a different text"),
    ],
)
def test_rows_that_would_lose_or_mix_data_are_line_numbered_errors(tmp_path, content, message):
    path = tmp_path / "c.csv"
    path.write_text(content)
    with pytest.raises(HarnessError) as caught:
        load_corpus(path)
    assert f"corpus {path}: {message}" in str(caught.value)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("c.jsonl", '{"text": "one", "group": "a"}\n{"group": "b"}\n', "line 2: no 'text' key (keys: group)"),
        ("c.jsonl", '{"text": "one"}\n{"txt": "two"}\n', "line 2: no 'text' key (keys: txt)"),
        ("c.csv", "text,group\none,a\ntwo\n", "line 3: 1 fields, the header has 2"),
    ],
)
def test_a_row_without_its_text_is_a_line_numbered_error_in_jsonl_as_in_csv(run_cli, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    line = _one_error_line(run_cli("ingest", "--corpus", path, "--uri", tmp_path / "x.db", "-m", "hashing"))
    assert line.startswith(f"error: corpus {path}: {message}")
    assert not (tmp_path / "x.db").exists() or Store(str(tmp_path / "x.db")).harness_collections() == []


def test_a_line_longer_than_the_text_field_is_stored_clipped_and_counted(run_cli, tiny_models, tmp_path):
    from harness.store import TEXT_CHARS

    corpus = tmp_path / "long.txt"
    long_line = "river " * 4000  # 24,000 characters
    corpus.write_text(f"a short line\n{long_line}\nanother short line\n")
    db = tmp_path / "long.db"
    result = run_cli("ingest", "--corpus", corpus, "--uri", db, "-m", tiny_models["tiny-a"], "--nlist", "1")
    assert result.code == 0, result
    assert f"1 line longer than {TEXT_CHARS:,} characters stored clipped" in " ".join(result.out.split())
    with Store(str(db)) as store:
        store.ensure_loaded("harness_tiny_a")
        texts = next(store.rows("harness_tiny_a", vectors=False, batch_size=3)).texts
    assert sorted(len(t) for t in texts)[-1] == TEXT_CHARS == 16383


def test_a_repeated_id_with_the_same_text_is_counted_as_an_id(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("id,text\n7,one\n7,one\n8,two\n")
    records, stats = load_corpus(path)
    assert [r.id for r in records] == [7, 8] and stats.duplicate_ids == 1 and stats.duplicates == 0


def test_two_concurrent_ingests_into_one_server_collection_store_each_row_once(tiny_models, tmp_path):
    from milvus_lite.adapter.grpc.server import start_server_in_thread

    server, db, port = start_server_in_thread(data_dir=str(tmp_path / "srv"), host="127.0.0.1", port=0)
    try:
        corpus = tmp_path / "c.txt"
        write_synthetic_corpus(corpus, 1500, seed=4)
        uri = f"http://127.0.0.1:{port}"
        args = (
            "ingest",
            "--corpus",
            corpus,
            "--uri",
            uri,
            "--model",
            tiny_models["tiny-a"],
            "--chunk-size",
            "300",
            "--no-cache",
        )
        first, second = _harness(*args), _harness(*args)
        results = [p.communicate(timeout=300) for p in (first, second)]
        assert first.returncode == 0 and second.returncode == 0, [err[-1500:] for _, err in results]
        with Store(uri) as store:
            name = collection_name("tiny-a")
            ids = []
            for batch in store.rows(name, vectors=False):
                ids.extend(batch.ids.tolist())
            assert store.row_count(name) == 1500 and len(ids) == len(set(ids)) == 1500
            assert store.collection_meta(name).complete
    finally:
        server.stop(grace=1)
        db.close()


def test_two_clients_rebuilding_one_index_at_once_both_finish(tmp_path):
    """What two ingests finishing together do: each rebuilds the index for the rows it saw,
    dropping the other's under it; each must look again, not fail."""
    import threading

    import numpy as np
    from milvus_lite.adapter.grpc.server import start_server_in_thread

    from harness.records import CollectionMeta, IndexSpec, ModelRecord

    server, db, port = start_server_in_thread(data_dir=str(tmp_path / "srv"), host="127.0.0.1", port=0)
    uri = f"http://127.0.0.1:{port}"
    try:
        rows = 1200
        vectors = np.random.default_rng(3).standard_normal((rows, 8)).astype(np.float32)
        with Store(uri) as store:
            store.create_collection("c", 8, CollectionMeta(ModelRecord("random")))
            store.insert("c", list(range(rows)), [f"t{i}" for i in range(rows)], [""] * rows, vectors)
        failures: list[BaseException] = []

        def rebuild(nlists):
            try:
                with Store(uri) as store:
                    for nlist in nlists:
                        store.build_index("c", IndexSpec(nlist=nlist))
            except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
                failures.append(exc)

        threads = [threading.Thread(target=rebuild, args=(n,)) for n in ([8, 16, 8, 16], [12, 24, 12, 24])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not failures, failures
        with Store(uri) as store:
            assert store.index_spec("c").nlist in (8, 16, 12, 24)
            assert [len(hits) for hits in store.search("c", vectors[:2], 3, nprobe=2)] == [3, 3]
    finally:
        server.stop(grace=1)
        db.close()


def test_nlist_above_the_rows_is_reduced_and_reported(run_cli, tiny_models, small_corpus, tmp_path):
    db = tmp_path / "n.db"
    result = run_cli("ingest", "--corpus", small_corpus, "--uri", db, "-m", tiny_models["tiny-a"], "--nlist", "5000")
    assert result.code == 0, result
    rows = len(load_corpus(small_corpus)[0])
    assert f"--nlist 5000 is more than the {rows} rows" in result.out
    with Store(str(db)) as store:
        assert store.describe("harness_tiny_a").nlist == rows
        assert store.collection_meta("harness_tiny_a").index.nlist == rows


def test_a_collection_named_twice_is_compared_once(run_cli, tiny_models, small_corpus, tmp_path):
    db = tmp_path / "t.db"
    assert run_cli("ingest", "--corpus", small_corpus, "--uri", db, "-m", tiny_models["tiny-a"]).code == 0
    out = tmp_path / "o"
    result = run_cli(
        "query",
        "--uri",
        db,
        "-c",
        "harness_tiny_a,,harness_tiny_a",
        "--probe",
        "sweet lamb",
        "--repeats",
        "0",
        "--baselines",
        "none",
        "-o",
        out,
    )
    assert result.code == 0 and "named more than once: it is used once" in result.out
    assert pd.read_csv(out / "overlap.csv").empty and set(pd.read_csv(out / "hits.csv")["collection"]) == {
        "harness_tiny_a"
    }


def test_an_ingest_killed_between_the_index_and_the_completion_mark_is_read_as_incomplete(
    run_cli, tiny_models, small_corpus, tmp_path, monkeypatch
):
    from harness.store.milvus import MilvusStore

    marked = MilvusStore.set_meta

    def killed_at_the_mark(self, name, meta):
        if meta.complete:  # the index is built; the process dies before marking the collection whole
            raise KeyboardInterrupt
        return marked(self, name, meta)

    db = tmp_path / "window.db"
    monkeypatch.setattr(MilvusStore, "set_meta", killed_at_the_mark)
    result = run_cli("ingest", "--corpus", small_corpus, "--uri", db, "-m", tiny_models["tiny-a"], "--nlist", "2")
    assert result.code == 130
    monkeypatch.setattr(MilvusStore, "set_meta", marked)
    with Store(str(db)) as store:
        name = collection_name("tiny-a")
        assert store.has_index(name) and store.collection_meta(name).complete is False
    note = f"note: collection {name} is incomplete (ingest was interrupted): re-run harness ingest"
    result = run_cli("query", "--uri", db, "--probe", "lamb", "--repeats", "0", "-o", tmp_path / "q")
    assert result.code == 0 and note in result.out + result.err, result
    result = run_cli("evaluate", "--uri", db, "--baselines", "none", "-o", tmp_path / "e")
    assert result.code == 0 and note in result.out + result.err, result


def test_a_small_corpus_ingest_shows_no_faiss_clustering_warning(tiny_models, small_corpus, tmp_path):
    # 72 rows in 4 lists: fewer than FAISS's 39 training points per list, so it warns from C++
    process = _harness(
        "ingest", "--corpus", small_corpus, "--uri", tmp_path / "s.db", "-m", tiny_models["tiny-a"], "--nlist", "4"
    )
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-2000:]
    assert "WARNING clustering" not in err + out and "Traceback" not in err


def test_the_faiss_filter_passes_every_other_line_through(capfd):
    from harness.store.connection import faiss_clustering_quiet

    with faiss_clustering_quiet():
        os.write(2, b"WARNING clustering 72 points to 4 centroids: please provide at least 156 training points\n")
        os.write(2, b"a line of its own\nWARNING: something else\n")
        os.write(2, b"no newline at the end")
    assert capfd.readouterr().err == "a line of its own\nWARNING: something else\nno newline at the end"


# --- output folders: whole or not at all ----------------------------------------------------------


def test_an_output_folder_is_swapped_in_whole(tmp_path):
    target = tmp_path / "out"
    with output_folder(target, ["*.csv"]) as partial:
        (partial / "a.csv").write_text("first\n")
        (partial / "old.csv").write_text("only in the first run\n")
    with pytest.raises(RuntimeError):
        with output_folder(target, ["*.csv"]) as partial:
            (partial / "a.csv").write_text("half")
            raise RuntimeError("killed")
    assert (target / "a.csv").read_text() == "first\n"  # a failed run leaves the last complete one
    with output_folder(target, ["*.csv"]) as partial:
        (partial / "a.csv").write_text("second\n")
    assert sorted(p.name for p in target.iterdir()) == [".harness-output", "a.csv"]  # nothing of the first run left
    assert not list(tmp_path.glob(".out.*"))
    (target / "notes.txt").write_text("mine")
    with pytest.raises(HarnessError, match=r"holds notes.txt, which harness did not write"):
        with output_folder(target, ["*.csv"]):
            pass
    assert (target / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_kill_9_while_writing_an_output_folder_leaves_the_earlier_run(tmp_path):
    target = tmp_path / "out"
    with output_folder(target, ["*.csv"]) as partial:
        (partial / "hits.csv").write_text("earlier run\n")
    script = (
        "import time; from harness.files import output_folder\n"
        f"with output_folder({str(target)!r}, ['*.csv']) as p:\n"
        "    (p / 'hits.csv').write_text('trunc'); print('writing', flush=True); time.sleep(60)\n"
    )
    process = subprocess.Popen(
        [PYTHON, "-c", script], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    assert process.stdout.readline().strip() == "writing"
    process.kill()
    process.wait()
    assert (target / "hits.csv").read_text() == "earlier run\n"
    with output_folder(target, ["*.csv"]) as partial:  # the next run clears the leftovers
        (partial / "hits.csv").write_text("next run\n")
    assert (target / "hits.csv").read_text() == "next run\n" and not list(tmp_path.glob(".out.*"))


def test_two_runs_into_one_output_folder_at_once_leave_one_whole_run(tmp_path):
    target, go = tmp_path / "out", tmp_path / "go"
    script = (
        "import os, sys, time\n"
        "from harness.errors import HarnessError\n"
        "from harness.files import output_folder\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.01)\n"
        "try:\n"
        f"    with output_folder({str(target)!r}, ['*.csv']) as p:\n"
        "        (p / 'a.csv').write_text(sys.argv[1]); time.sleep(1.5); (p / 'b.csv').write_text(sys.argv[1])\n"
        "except HarnessError as exc:\n"
        "    sys.exit(f'error: {exc}')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = [
        subprocess.Popen([PYTHON, "-c", script, token], stderr=subprocess.PIPE, text=True, env=env)
        for token in ("first", "second")
    ]
    time.sleep(0.5)
    go.touch()
    ended = [(run.wait(timeout=60), run.stderr.read()) for run in runs]
    assert sorted(code for code, _ in ended) == [0, 1], ended
    refused = next(err for code, err in ended if code == 1)
    assert refused.strip() == f"error: another run is writing {target}: wait for it to finish, or choose another folder"
    a, b = (target / "a.csv").read_text(), (target / "b.csv").read_text()
    assert a == b and a in ("first", "second")  # one whole run, not a mix
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_an_output_folder_name_of_255_bytes_is_written_and_a_longer_one_refused_in_words(tmp_path):
    parent = tmp_path / "outputs"
    longest = parent / ("r" * 255)
    with output_folder(longest, ["*.csv"]) as partial:  # its hidden partial folder must fit too
        (partial / "a.csv").write_text("whole\n")
    assert (longest / "a.csv").read_text() == "whole\n" and [p.name for p in parent.iterdir()] == [longest.name]
    with pytest.raises(HarnessError, match=r"is 256 bytes: a file name holds at most 255"):
        with output_folder(parent / ("r" * 256), ["*.csv"]):
            pass


# --- secrets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri, shown",
    [
        ("http://user:top@secretpass@host:19530", "http://host:19530"),
        ("https://root:pa:ss@h.example:443/db", "https://h.example:443/db"),
        ("https://root:pa%40ss@h.example:443", "https://h.example:443"),
        ("http://host:19530", "http://host:19530"),
    ],
)
def test_credentials_are_cut_at_the_last_at_sign(uri, shown):
    assert redact_uri(uri) == shown


def test_a_password_with_at_signs_never_reaches_output_or_errors(run_cli):
    port = _free_port()
    result = run_cli("collections", "--uri", f"http://root:{SECRET}@127.0.0.1:{port}")
    line = _one_error_line(result)
    assert f"cannot reach Milvus at http://127.0.0.1:{port}" in line
    assert "secret" not in result.err + result.out and "pa%40ss" not in result.err + result.out


@pytest.mark.parametrize(
    "uri",
    [
        "http://alice:a/Secr3t@127.0.0.1:{port}",
        "http://alice:a?Secr3t@127.0.0.1:{port}",
        "http://alice:a#Secr3t@127.0.0.1:{port}",
        "http://alice:a@b/Secr3t@127.0.0.1:{port}/db",
        "http://alice:Secr3t@127.0.0.1:{port}/x.db",
        "https://alice:a/Secr3t@example.invalid/x.db",
        "http://alice:Secr3t@127.0.0.1:99999",
        "ftp://alice:a/Secr3t@127.0.0.1:{port}",
    ],
)
def test_no_parse_error_shows_the_password_of_a_uri(run_cli, uri, tmp_path):
    uri = uri.format(port=_free_port())
    for command in (("collections",), ("query", "--probe", "lamb", "-o", tmp_path / "q")):
        result = run_cli(*command, "--uri", uri)
        line = _one_error_line(result)
        assert line.startswith("error: bad Milvus URI") or line.startswith("error: cannot reach Milvus"), line
        assert "Secr3t" not in result.err + result.out and "alice" not in result.err + result.out
    assert "Secr3t" not in redact_uri(uri)
    assert not list(tmp_path.parent.rglob("*Secr3t*"))  # nor was it taken for a path and created


def test_a_credentialed_metrics_url_is_redacted_in_its_error(run_cli, tiny_models, small_corpus, tmp_path):
    from milvus_lite.adapter.grpc.server import start_server_in_thread

    server, db, port = start_server_in_thread(data_dir=str(tmp_path / "srv"), host="127.0.0.1", port=0)
    try:
        uri = f"http://127.0.0.1:{port}"
        assert run_cli("ingest", "--corpus", small_corpus, "--uri", uri, "-m", tiny_models["tiny-a"]).code == 0
        closed = _free_port()
        result = run_cli(
            "query",
            "--uri",
            uri,
            "--probe",
            "sweet lamb",
            "--repeats",
            "1",
            "--metrics-url",
            f"http://admin:{SECRET}@127.0.0.1:{closed}/metrics",
        )
        line = _one_error_line(result)
        assert line.startswith(f"error: cannot read Milvus metrics at http://127.0.0.1:{closed}/metrics")
        assert "secret" not in result.err + result.out
    finally:
        server.stop(grace=1)
        db.close()


# --- faults -------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.server
def test_a_server_killed_mid_ingest_is_one_error_line(tiny_models, tmp_path):
    port = _free_port()
    server = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "milvus-lite"),
            "server",
            "--data-dir",
            str(tmp_path / "srv"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        corpus = tmp_path / "c.txt"
        write_synthetic_corpus(corpus, 30000, seed=5)
        process = _harness(
            "ingest",
            "--corpus",
            corpus,
            "--uri",
            f"http://127.0.0.1:{port}",
            "--model",
            tiny_models["tiny-a"],
            "--chunk-size",
            "500",
            "--no-cache",
        )
        time.sleep(8)
        server.kill()
        out, err = process.communicate(timeout=300)
        lines = [line for line in err.splitlines() if line.strip()]
        assert process.returncode == 1 and len(lines) == 1, err[-3000:]
        assert lines[0].startswith("error: ") and "127.0.0.1" in lines[0]
    finally:
        server.kill()
        server.wait()


def test_a_corrupt_or_read_only_cache_falls_back_with_a_note(run_cli, tiny_models, small_corpus, tmp_path, monkeypatch):
    from harness.models import load_model

    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    key = load_model(str(tiny_models["tiny-a"]), device="cpu").cache_key
    (cache / f"{key}.sqlite").write_bytes(os.urandom(4096))
    result = run_cli("ingest", "--corpus", small_corpus, "--uri", tmp_path / "c.db", "-m", tiny_models["tiny-a"])
    assert result.code == 0, result
    assert "embedding cache" in result.out and "harness cache --clear" in result.out
    with Store(str(tmp_path / "c.db")) as store:
        assert store.collection_meta("harness_tiny_a").complete
    listing = run_cli("cache")
    assert listing.code == 0 and "unreadable" in listing.out
    assert run_cli("cache", "--clear").code == 0
    # A cache that cannot be written at all (here its folder is a file; a read-only folder
    # does the same for a user who is not root): the query runs without it.
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(blocked))
    result = run_cli("query", "--uri", tmp_path / "c.db", "--probe", "sweet lamb", "--repeats", "0")
    assert result.code == 0 and "embedding cache" in result.out and "is unusable" in result.out


@pytest.fixture(scope="module")
def written_study(tmp_path_factory):
    from harness.output.report import write_study
    from harness.study import empty_study

    folder = tmp_path_factory.mktemp("study") / "s"
    study = empty_study({"created": "now", "collections": {"c": {}}})
    study.cost = pd.DataFrame(
        {
            "collection": ["c", "d"],
            "dimension": [8, 8],
            "size_mb": [1.0, 2.0],
            "corpus_encode_s": [2.0, 3.0],
            "total_s": [3.0, 4.0],
        }
    )
    write_study(study, folder)
    return folder


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "study.json").write_text('{"manifest": {"cre'), "is not a readable study"),
        (lambda d: (d / "study.json").write_text("[1, 2]"), "is not a harness study"),
        (lambda d: (d / "cost.csv").unlink(), "lacks cost.csv, which its study.json lists"),
        (lambda d: (d / "cost.parquet").write_bytes(b"PAR1 garbage"), "cost is unreadable"),
        (
            lambda d: (d / "cost.csv").write_text(
                (d / "cost.csv").read_text().splitlines()[0]
                + "\n"
                + (d / "cost.csv").read_text().splitlines()[1]
                + "\n"
            ),
            "cost.csv hold 1 rows of cost, study.json records 2",
        ),
    ],
)
def test_a_damaged_study_folder_is_one_line(run_cli, written_study, tmp_path, damage, message):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(written_study, folder)
    damage(folder)
    line = _one_error_line(run_cli("report", "--study", folder, "--html", tmp_path / "r.html"))
    assert message in line and not (tmp_path / "r.html").exists()


# --- smaller ----------------------------------------------------------------------------------


def test_overlap_divides_by_the_results_that_could_exist():
    figures = agreement([1, 2], [1, 2], k=10)
    assert figures["overlap_at_k"] == figures["jaccard"] == 1.0
    assert agreement([1, 2, 3], [1, 9], k=10)["overlap_at_k"] == pytest.approx(1 / 3)


def test_reliability_md_names_only_tests_that_exist():
    import re

    named = set(re.findall(r"`(tests/[\w/]+\.py::\w+)`", (REPO / "RELIABILITY.md").read_text()))
    files = sorted({name.split("::")[0] for name in named})
    collected = subprocess.run(
        [PYTHON, "-m", "pytest", "--collect-only", "-q", *files], cwd=REPO, capture_output=True, text=True
    ).stdout.splitlines()
    found = {line.split("[")[0] for line in collected}
    assert len(named) > 20 and not named - found, sorted(named - found)
