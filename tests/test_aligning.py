"""The alignment pipeline on the fakes: the split, the learning curve, every figure recomputed
from the written files, the leakage proof, the gate, bad input, and collections the harness
did not build."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from harness.aligning import AlignSettings, check_gate_inputs, load_align, run_align, split_ids, train_sizes
from harness.aligning.data import map_kinds
from harness.errors import HarnessError
from harness.ingestion import ingest_model
from harness.inputs import CorpusReader
from harness.maps import MapError, load_map
from harness.metrics.agreement import overlap_at_k
from harness.metrics.spaces import cosine_rows
from harness.querying import run_query
from harness.records import CollectionMeta, ExternalCollection, FieldNames, IndexSpec, ModelRecord, Probe, text_id
from harness.store import rows_of

from fakes import FakeEmbedder, MemoryStore

LINES = [
    f"{a} {b} {c}"
    for a in ("sweet", "cold", "dark", "little")
    for b in ("lamb", "river", "night", "city")
    for c in ("sings", "weeps", "sleeps", "burns")
]
PROBES = [Probe("p1", "sweet lamb sings"), Probe("p2", "cold river weeps"), Probe("p3", "dark city burns")]
KINDS = ("procrustes", "ridge", "low-rank")  # the MLP needs torch: tested on real models


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("\n".join(LINES) + "\n")
    reader = CorpusReader(path)
    list(reader)
    return reader


def _ingest(store, corpus, embedder, **kw):
    return ingest_model(store, corpus, embedder, corpus.sha256(), total_hint=corpus.stats.records, **kw)


def _loader(*embedders):
    by_alias = {e.alias: e for e in embedders}
    return lambda ref: by_alias[ref.alias]


def _qrels():
    rows = [(p.id, text_id(p.text), 1.0, n + 2) for n, p in enumerate(PROBES)]
    return pd.DataFrame(rows, columns=["probe_id", "corpus_id", "relevance", "line"])


@pytest.fixture
def pair(corpus):
    store = MemoryStore()
    old, new = FakeEmbedder("fake-old", dimension=16), FakeEmbedder("fake-new", dimension=16, seed=7)
    _ingest(store, corpus, old)
    _ingest(store, corpus, new)
    return store, _loader(old, new), old, new


def _align(store, load, old="harness_fake_old", **kw):
    settings = kw.pop("settings", AlignSettings(kinds=KINDS, train_sizes=(8, 20, 48), test_size=16, top_k=5))
    return run_align(store, old, load, settings=settings, **kw)


def test_learning_curve_and_every_figure_recomputed_from_the_files(pair, tmp_path):
    store, load, old, new = pair
    result = _align(store, load, new_collection="harness_fake_new", probes=PROBES, qrels=_qrels())
    results = result.results
    assert list(results["method"][:3]) == ["old-native", "new-native", "unmapped"]
    assert len(results) == 3 + len(KINDS) * 3
    assert set(result.maps) == set(KINDS) and result.best in KINDS
    native = results.set_index("method").loc["new-native"]
    assert native["recovered_mrr"] == pytest.approx(1.0) and native["overlap_at_k_vs_new"] == 1.0
    written = result.write(tmp_path / "out")
    assert (tmp_path / "out" / "maps" / "ridge.npz") in written
    tables, manifest = load_align(tmp_path / "out")
    assert manifest["best"] == result.best and manifest["maps"]["ridge"] == "maps/ridge.npz"

    split = tables["split"]
    test_ids = split.loc[split["role"] == "test", "id"].tolist()
    assert len(test_ids) == 16 and not set(test_ids) & set(split.loc[split["role"] == "train", "id"])
    # same-text cosine of the ridge map, from its file and the stored vectors
    ridge = load_map(tmp_path / "out" / "maps" / "ridge.npz")
    assert ridge.header.train_rows == 48 and ridge.header.source.fingerprint == new.fingerprint
    x = rows_of(store, "harness_fake_new", test_ids).vectors
    y = rows_of(store, "harness_fake_old", test_ids).vectors
    row = tables["results"].query("method == 'ridge' and train_size == 48").iloc[0]
    assert row["same_text_cosine"] == pytest.approx(float(np.mean(cosine_rows(ridge.apply(x), y))), abs=1e-6)
    assert ridge.header.heldout["same_text_cosine"] == pytest.approx(row["same_text_cosine"])
    # self-retrieval@1 from the held-out table
    heldout = tables["heldout"].query("method == 'ridge' and train_size == 48")
    assert row["self_retrieval_at_1"] == pytest.approx((heldout["id"] == heldout["top1_id"]).mean())
    # overlap with the old model's own results, from the hits table
    hits = tables["hits"]

    def ids(method, size, probe):
        part = hits[(hits["method"] == method) & (hits["train_size"] == size) & (hits["probe_id"] == probe)]
        return part.sort_values("rank")["id"].tolist()

    overlap = np.mean([overlap_at_k(ids("ridge", 48, p.id)[:5], ids("old-native", 0, p.id)[:5], 5) for p in PROBES])
    assert row["overlap_at_k_vs_old"] == pytest.approx(overlap)
    # the score scales come from the held-out hits, each query's own row excluded
    scores = tables["scores"].set_index("scale")
    distances = tables["heldout_hits"].query("method == 'ridge'")["distance"]
    assert scores.loc["ridge", "keep_50"] == pytest.approx(float(np.quantile(distances, 0.5)))
    assert not (tables["heldout_hits"]["query_id"] == tables["heldout_hits"]["id"]).any()


def test_a_map_fitted_here_recovers_most_of_the_gap(pair):
    store, load, _, _ = pair
    result = _align(store, load, new_collection="harness_fake_new")
    rows = result.results.set_index(["method", "train_size"])
    assert rows.loc[("ridge", 48), "same_text_cosine"] > rows.loc[("unmapped", 0), "same_text_cosine"] + 0.3
    assert rows.loc[("ridge", 48), "self_retrieval_at_1"] >= rows.loc[("unmapped", 0), "self_retrieval_at_1"]


def test_the_new_model_from_a_spec_is_encoded_through_its_embedder(corpus):
    store = MemoryStore()
    old, new = FakeEmbedder("fake-old", dimension=16), FakeEmbedder("fake-new", dimension=12, seed=7)
    _ingest(store, corpus, old)
    settings = AlignSettings(kinds=("ridge",), train_sizes=(48,), test_size=16)
    result = _align(store, _loader(old, new), new_model="fake-new", probes=PROBES, settings=settings)
    assert new.encoded >= 48 + 16  # the paired rows (training and test), then the probes
    notes: list[str] = []
    assert map_kinds(None, 12, 16, notes) == ["ridge", "low-rank", "mlp"] and "procrustes skipped" in notes[0]
    assert "unmapped" not in set(result.results["method"])  # 12-d vectors cannot search a 16-d collection
    assert result.maps["ridge"].header.source.dimension == 12


def test_the_held_out_rows_never_reach_a_fit(monkeypatch):
    """Train rows follow an exact linear map; held-out rows are random. With a near-zero ridge
    penalty and fewer rows than dimensions, a fit that saw the held-out rows would interpolate
    them (cosine 1), and one that did not cannot predict them (cosine near 0)."""
    import harness.aligning.run as run_module
    import harness.maps.kinds as kinds

    rows, dim = 48, 64
    ids = list(range(1000, 1000 + rows))
    split = split_ids(ids, 12, seed=0)
    test = set(int(i) for i in split.test)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, dim)).astype(np.float32)
    w = rng.normal(size=(dim, dim)).astype(np.float32)
    y = np.where([[i in test] for i in ids], rng.normal(size=(rows, dim)), x @ w).astype(np.float32)
    store = MemoryStore()
    for name, vectors in (("harness_old", y), ("harness_new", x)):
        store.create_collection(name, dim, CollectionMeta(ModelRecord(name, fingerprint=name)))
        store.insert(name, ids, [f"t{i}" for i in ids], ["g"] * rows, vectors)
        store.build_index(name, 1)
    monkeypatch.setattr(kinds, "ALPHA_GRID", (1e-10,))
    seen: list[np.ndarray] = []
    real_fit = run_module.fit_map

    def spy(kind, x_train, y_train, **kw):
        seen.append(np.asarray(x_train))
        return real_fit(kind, x_train, y_train, **kw)

    monkeypatch.setattr(run_module, "fit_map", spy)
    settings = AlignSettings(kinds=("ridge",), train_sizes=(36,), test_size=12)
    result = run_align(store, "harness_old", _loader(), new_collection="harness_new", settings=settings)
    assert result.results.query("method == 'ridge'")["same_text_cosine"].iloc[0] < 0.3
    held_out = {tuple(np.round(x[ids.index(i)], 5)) for i in test}
    assert seen and all(not held_out & {tuple(np.round(r, 5)) for r in fitted} for fitted in seen)
    # the control: the same fit, given the held-out rows too, scores perfectly on them
    leaked = real_fit("ridge", x, y)
    test_rows = [ids.index(i) for i in test]
    assert np.mean(cosine_rows(leaked(x[test_rows]), y[test_rows])) > 0.99


def test_split_and_sizes():
    split = split_ids(range(100), None, seed=1)
    assert len(split.test) == 20 and len(split.pool) == 80
    assert np.array_equal(split_ids(range(99, -1, -1), None, seed=1).test, split.test)  # order-free
    assert train_sizes(None, 80, 20) == [10, 20, 40, 80]
    with pytest.raises(HarnessError, match="training sample of 81 rows is larger than the 80 shared rows left"):
        train_sizes([81], 80, 20)
    with pytest.raises(HarnessError, match="only 3 rows in common"):
        split_ids([1, 2, 3], None)


def test_bad_input_is_one_line(pair, corpus):
    store, load, old, new = pair
    with pytest.raises(HarnessError, match="larger than the 48 shared rows left after holding out 16"):
        _align(store, load, new_collection="harness_fake_new", settings=AlignSettings(train_sizes=(49,), test_size=16))
    with pytest.raises(HarnessError, match="either as a spec"):
        _align(store, load)
    wide = FakeEmbedder("fake-wide", dimension=12)
    _ingest(store, corpus, wide)
    with pytest.raises(MapError, match=r"procrustes needs the same dimension .*new model 12-d, old collection 16-d"):
        _align(
            store, _loader(old, wide), new_collection="harness_fake_wide", settings=AlignSettings(kinds=("procrustes",))
        )
    with pytest.raises(MapError, match="unknown map kind 'rotation'"):
        _align(store, load, new_collection="harness_fake_new", settings=AlignSettings(kinds=("rotation",)))
    other = MemoryStore()
    _ingest(other, corpus, old)
    other.create_collection("harness_fake_new", 16, CollectionMeta(ModelRecord("fake-new")))
    other.insert("harness_fake_new", [1, 2], ["a", "b"], ["", ""], np.ones((2, 16), dtype=np.float32))
    other.build_index("harness_fake_new", 1)
    with pytest.raises(HarnessError, match="have no ids in common"):
        _align(other, load, new_collection="harness_fake_new")


def test_the_gate(pair):
    store, load, _, _ = pair
    result = _align(store, load, new_collection="harness_fake_new", probes=PROBES, qrels=_qrels())
    best = result.results.query(f"method == '{result.best}'").sort_values("train_size").iloc[-1]
    recovery = min(best[f"recovered_{q}"] for q in ("recall_at_k", "ndcg_at_10", "mrr"))
    assert result.gate(min_recovery=recovery, min_overlap=best["overlap_at_k_vs_old"]).passed
    failed = result.gate(min_recovery=recovery + 0.01)
    assert not failed.passed and "<" in failed.checks[0]
    assert not result.gate(min_overlap=min(1.0, best["overlap_at_k_vs_old"] + 0.01)).passed or best[
        "overlap_at_k_vs_old"
    ] == pytest.approx(1.0)
    without = _align(store, load, new_collection="harness_fake_new", probes=PROBES)
    with pytest.raises(HarnessError, match="recovered share was not measured"):
        without.gate(min_recovery=0.5)
    with pytest.raises(HarnessError, match="overlap with the old results was not measured"):
        _align(store, load, new_collection="harness_fake_new").gate(min_overlap=0.5)
    with pytest.raises(HarnessError, match="--min-recovery needs --qrels and the new model's collection"):
        check_gate_inputs(0.9, None, probes=True, qrels=True, new_collection=False)
    with pytest.raises(HarnessError, match="--min-overlap needs probes"):
        check_gate_inputs(None, 0.5, probes=False, qrels=False, new_collection=True)
    with pytest.raises(HarnessError, match="a share between 0 and 1"):
        check_gate_inputs(1.5, None, probes=True, qrels=True, new_collection=True)


def test_a_collection_the_harness_did_not_build_is_read_and_never_written(corpus):
    store = MemoryStore()
    old, new = FakeEmbedder("fake-old", dimension=16), FakeEmbedder("fake-new", dimension=16, seed=7)
    fields = FieldNames(id="pk", text="body", vector="emb", group=None)
    store.add_foreign("products", 16, fields)
    texts = [r.text for r in corpus]
    store.insert("products", [text_id(t) for t in texts], texts, [""] * len(texts), old.encode(texts))
    external = ExternalCollection("products", "fake-old", fields, sidecar="products.json")
    store.attach(external)
    before = list(store.writes)
    result = _align(store, _loader(old, new), new_model="fake-new", probes=PROBES, old="products")
    assert not result.results.empty and result.manifest["external"] == ["products"]
    queried = run_query(store, PROBES, ["products"], _loader(old, new), repeats=0)
    assert set(queried.hits["collection"]) == {"products"}
    assert store.writes == before  # nothing was written, to it or anywhere
    with pytest.raises(HarnessError, match="never alters it"):
        store.insert("products", [1], ["x"], [""], np.ones((1, 16), dtype=np.float32))
    with pytest.raises(HarnessError, match="has no text field 'text'"):
        store.attach(ExternalCollection("products", "fake-old", FieldNames(id="pk", vector="emb", group=None)))


def test_query_with_a_map_applies_it_and_records_it(pair, tmp_path):
    store, load, old, new = pair
    result = _align(store, load, new_collection="harness_fake_new", probes=PROBES)
    result.write(tmp_path / "out")
    space_map = load_map(tmp_path / "out" / "maps" / "ridge.npz")
    queried = run_query(
        store, PROBES, ["harness_fake_old"], load, probe_model="fake-new", space_map=space_map, repeats=0
    )
    aligned = result.tables["hits"].query("method == 'ridge' and train_size == 48")
    for probe in PROBES:
        got = queried.hits[queried.hits["probe_id"] == probe.id].sort_values("rank")["id"].tolist()
        want = aligned[aligned["probe_id"] == probe.id].sort_values("rank")["id"].tolist()[:10]
        assert got == want
    assert json.loads(json.dumps(queried.manifest["map"], default=str))["kind"] == "ridge"
    assert queried.alignment["map"].iloc[0] == space_map.path
    with pytest.raises(MapError, match="takes vectors of fake-new .* but the probe model is fake-old"):
        run_query(store, PROBES, ["harness_fake_new"], load, probe_model="fake-old", space_map=space_map, repeats=0)


def test_the_report_shows_the_alignment(pair, tmp_path, run_cli):
    from harness.output.report import write_study
    from harness.study import empty_study

    store, load, _, _ = pair
    result = _align(store, load, new_collection="harness_fake_new", probes=PROBES, qrels=_qrels())
    result.write(tmp_path / "aligned", result.gate(min_overlap=0.0))
    study = empty_study({"created": "now", "collections": {"c": {}}})
    write_study(study, tmp_path / "s", html=tmp_path / "s.html", align_dir=tmp_path / "aligned")
    page = (tmp_path / "s.html").read_text()
    assert "Migration maps" in page and "gate passed" in page and page.count("data:image/png") == 1
    assert (tmp_path / "s" / "plots" / "align.png").is_file()
    again = run_cli("report", "--study", tmp_path / "s", "--align", tmp_path / "aligned", "--html", tmp_path / "r.html")
    assert again.code == 0, again
    assert "learning curves" in (tmp_path / "r.html").read_text()
    wrong = run_cli("report", "--study", tmp_path / "s", "--align", tmp_path / "s", "--html", tmp_path / "x.html")
    assert wrong.code == 1 and "is not a harness align output folder" in wrong.err


def test_each_collection_is_searched_with_its_own_index_parameter(pair):
    """An HNSW collection gets ef, an IVF one nprobe: the search path query and the study use."""
    store, load, _, _ = pair
    store.collections["harness_fake_old"]["index"] = IndexSpec("HNSW", "L2", None, {"M": 16})
    store.collections["harness_fake_new"]["index"] = IndexSpec("IVF_FLAT", "L2", 4)
    settings = AlignSettings(kinds=("ridge",), train_sizes=(20,), test_size=16, top_k=5, nprobe=3, ef=40)
    _align(store, load, new_collection="harness_fake_new", probes=PROBES, settings=settings)
    used = {name: set((n, e) for searched, n, e in store.searches if searched == name) for name in store.collections}
    assert used["harness_fake_old"] == {(None, 40)}
    assert used["harness_fake_new"] <= {(3, None)}
