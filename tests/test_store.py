import numpy as np
import pytest

from harness.errors import StoreError
from harness.records import CollectionMeta, ModelRecord
from harness.store import Store, collection_name, default_nlist, redact_uri


def _filled(tmp_path, rows=4000, dim=16, nlist=40):
    store = Store(str(tmp_path / "s.db"))
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((rows, dim)).astype(np.float32)
    store.create_collection("c", dim, CollectionMeta(ModelRecord("random")))
    ids = list(range(rows))
    store.insert("c", ids, [f"t{i}" for i in ids], ["g"] * rows, vectors)
    store.build_index("c", nlist)
    return store, vectors


def test_nlist_reaches_the_index(tmp_path):
    store, _ = _filled(tmp_path, nlist=40)
    info = store.describe("c")
    assert (info.index_type, info.metric, info.nlist, info.rows) == ("IVF_FLAT", "L2", 40, 4000)
    store.close()


def test_nprobe_one_loses_recall_that_nprobe_nlist_recovers(tmp_path):
    store, vectors = _filled(tmp_path, nlist=40)
    queries = vectors[:50] + 0.5 * np.random.default_rng(1).standard_normal((50, 16)).astype(np.float32)
    exact = np.argsort(((queries[:, None, :] - vectors[None, :, :]) ** 2).sum(-1), axis=1)[:, :10]

    def recall(nprobe):
        found = store.search("c", queries, 10, nprobe=nprobe)
        return np.mean([len({h.id for h in hits} & set(truth.tolist())) / 10 for hits, truth in zip(found, exact)])

    low, full = recall(1), recall(40)
    assert full == pytest.approx(1.0)
    assert low < 0.8
    store.close()


def test_rebuild_with_other_nlist_replaces_the_index(tmp_path):
    store, _ = _filled(tmp_path, nlist=40)
    store.build_index("c", 20)
    assert store.describe("c").nlist == 20
    store.close()


def test_metadata_round_trip_and_listing(tmp_path):
    store, _ = _filled(tmp_path)
    store.set_meta("c", CollectionMeta(ModelRecord("random"), complete=True))
    assert store.collection_meta("c").complete is True
    assert store.harness_collections() == ["c"]
    with pytest.raises(StoreError, match="no collection 'missing'"):
        store.require_collection("missing")
    store.close()


def test_names_nlist_and_redaction():
    assert collection_name("all-MiniLM-L6-v2") == "harness_all_minilm_l6_v2"
    assert collection_name("x/y.z", prefix="Run 1") == "harness_run_1_x_y_z"
    assert default_nlist(882) == 22
    assert default_nlist(100_000) == 1265
    assert default_nlist(10) == 1
    assert default_nlist(1_000_000) == 4000
    # Lite trains per segment of at most 100k rows: 100_000 // 39 lists at most
    assert default_nlist(1_000_000, segment_rows=100_000) == 2564
    assert redact_uri("https://user:secret@host:443") == "https://host:443"


def test_unreachable_server_is_one_clear_error_quickly():
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends
    started = time.perf_counter()
    with pytest.raises(StoreError, match=f"cannot reach Milvus at http://127.0.0.1:{port}"):
        Store(f"http://127.0.0.1:{port}", timeout=2)
    assert time.perf_counter() - started < 15


def test_missing_parent_folder(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        Store(str(tmp_path / "no" / "such" / "x.db"))


def test_a_server_message_is_cut_to_its_meaningful_line():
    from harness.store.connection import first_line

    go_trace = RuntimeError(
        "failed to insert: channel not available goroutine 231 [running]:\n"
        "github.com/milvus-io/milvus/internal/proxy.(*Proxy).Insert(...)\n\truntime/debug.Stack()"
    )
    assert first_line(go_trace) == "failed to insert: channel not available"
    assert len(first_line(RuntimeError("x" * 1000))) == 300
