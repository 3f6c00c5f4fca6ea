"""kill -9 in the middle of `harness ingest`, then ingest again: complete, no duplicates."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from harness.inputs import CorpusReader
from harness.store import Store, collection_name, rows_of

from synthetic import write_synthetic_corpus

pytestmark = pytest.mark.slow

COLLECTION = collection_name("tiny-a")


def _db_bytes(db: Path) -> int:
    if not db.exists():
        return 0
    return sum(f.stat().st_size for f in (db / "collections").rglob("*") if f.is_file())


def _start_and_kill(corpus: Path, db: Path, model: Path, wal_bytes: int, timeout: float = 40.0) -> tuple[bool, float]:
    """Start ingest in a subprocess; SIGKILL it once Lite's collection files hold wal_bytes.

    Returns (killed_while_running, seconds). Lite allows one process per .db, so the
    only safe signal while the ingest holds the database is the size of its files.
    """
    command = [
        sys.executable,
        "-m",
        "harness.cli",
        "ingest",
        "--corpus",
        str(corpus),
        "--uri",
        str(db),
        "--model",
        str(model),
        "--chunk-size",
        "200",
        "--batch-size",
        "32",
    ]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
    try:
        while process.poll() is None and time.monotonic() - started < timeout:
            if _db_bytes(db) >= wal_bytes:
                process.send_signal(signal.SIGKILL)
                process.wait()
                return True, time.monotonic() - started
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
            process.wait()
            pytest.fail(f"ingest wrote nothing in {timeout} s: {process.stderr.read().decode()[-2000:]}")
        assert process.returncode == 0, process.stderr.read().decode()[-2000:]
        return False, time.monotonic() - started  # it finished before we could kill it
    finally:
        process.stderr.close()


def test_kill_9_mid_ingest_then_resume(run_cli, tiny_models, tmp_path):
    model = tiny_models["tiny-a"]
    for attempt, lines in enumerate((8000, 24000)):
        corpus = tmp_path / f"corpus{attempt}.txt"
        db = tmp_path / f"resume{attempt}.db"
        write_synthetic_corpus(corpus, lines, seed=attempt)
        killed, seconds = _start_and_kill(corpus, db, model, wal_bytes=60_000)
        if not killed:
            continue  # finished before the kill: try again with a bigger corpus
        with Store(str(db)) as store:  # the lock is released on kill -9
            assert store.has_collection(COLLECTION)
            rows_after_kill = store.row_count(COLLECTION)
            assert store.collection_meta(COLLECTION).complete is False
        if 0 < rows_after_kill < lines:
            break
        assert rows_after_kill > 0, "the kill came before any row was durable"
        # every row was in: the run was nearly finished; try a bigger corpus
    else:
        pytest.fail("ingest always completed before it could be killed, even on the bigger corpus")

    result = run_cli("ingest", "--corpus", corpus, "--uri", db, "--model", model, "--chunk-size", "1000")
    assert result.code == 0, result

    expected = {record.id for record in CorpusReader(corpus)}
    assert len(expected) == lines
    with Store(str(db)) as store:
        assert store.row_count(COLLECTION) == lines
        store.ensure_loaded(COLLECTION)  # a reopened Lite database starts released
        _, vectors, _, _ = rows_of(store, COLLECTION, [r.id for r in CorpusReader(corpus)])
        ids = np.concatenate([batch.ids for batch in store.rows(COLLECTION, vectors=False)])
        meta = store.collection_meta(COLLECTION)
        info = store.describe(COLLECTION)
    assert len(ids) == lines and len(set(ids.tolist())) == lines, "duplicate ids after resume"
    assert set(ids.tolist()) == expected
    assert vectors.shape == (lines, 16)
    assert meta.complete is True and meta.corpus.records == lines
    assert info.index_type == "IVF_FLAT"
    print(f"killed after {seconds:.1f} s with {rows_after_kill} of {lines} rows; resumed to {lines}")
