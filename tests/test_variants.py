"""Model variants: the spec syntax, names, fingerprints and refusals (no model needed), and
every variant kind through the real path on tiny models: ONNX export and int8 quantisation,
truncation, static distillation, reloads from the artefact cache."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.errors import ModelError
from harness.models import load_model, model_alias, parse_variant, resolve_model
from harness.models.encoding import Encoding, resolve_prompts
from harness.models.variants import (
    READY,
    Variant,
    artefact_dir,
    missing_extra,
    split_variant,
    variant_fingerprint,
)
from harness.store import collection_name

from fakes import min_cosine

TEXTS = [
    "love the night sky",
    "a child lost in the dark city " * 12,  # longer than the tiny models' 32 tokens: truncated
    "x",
    "sweet little lamb who made thee",
    "",
]


# --- the syntax, without models -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, label",
    [
        ("onnx", "onnx"),
        ("ONNX-qint8", "onnx-qint8"),
        ("dim=256,onnx-qint8", "onnx-qint8,dim=256"),
        ("static", "static"),
        ("static-256", "static"),  # the default PCA dimension: the same variant, the same name
        ("static-64,dim=32", "static-64,dim=32"),
        ("fp16", "fp16"),
        ("dim=128, bf16", "bf16,dim=128"),
        ("OpenVINO,dim=8", "openvino,dim=8"),
    ],
)
def test_variant_labels_are_canonical(text, label):
    assert parse_variant(text).label == label


@pytest.mark.parametrize(
    "text, message",
    [
        ("onnx,static", "names two backends"),
        ("fp16,bf16", "names two precisions"),
        ("dim=8,dim=16", "names two truncations"),
        ("onnx,fp16", "fp16 applies to the torch model on a GPU, not to the onnx backend"),
        ("int4", "unknown variant 'int4'"),
        ("dim=0", "expected a whole number >= 1 after 'dim='"),
        ("static-x", "expected a whole number >= 1 after 'static-'"),
        ("onnx,", "empty variant"),
        ("openvino,onnx", "names two backends"),
        ("openvino,fp16", "fp16 applies to the torch model on a GPU, not to the openvino backend"),
    ],
)
def test_bad_variants_are_one_line_errors(text, message):
    with pytest.raises(ModelError, match=message) as caught:
        parse_variant(text)
    assert "\n" not in str(caught.value)


def test_specs_aliases_and_collection_names():
    base, variant = split_variant("all-MiniLM-L6-v2@dim=256,onnx-qint8")
    assert base == "all-MiniLM-L6-v2" and variant == Variant("onnx", "qint8", dim=256)
    assert split_variant("BAAI/bge-small-en-v1.5") == ("BAAI/bge-small-en-v1.5", Variant())
    specs = [
        "m",
        "m@onnx",
        "m@onnx-qint8",
        "m@onnx-qint8,dim=256",
        "m@openvino",
        "m@static",
        "m@static-128",
        "m@dim=256",
        "m@fp16",
        "m@bf16,dim=64",
    ]
    names = [collection_name(model_alias(spec)) for spec in specs]
    assert len(set(names)) == len(names)
    assert names[3] == "harness_m_onnx_qint8_dim_256" and names[4] == "harness_m_openvino"
    assert all(n.replace("_", "").isalnum() for n in names)  # sanitised without a hash suffix


def test_hub_models_take_only_the_variants_that_need_no_folder():
    ref = resolve_model("BAAI/bge-small-en-v1.5@dim=128")
    assert ref.alias == "bge-small-en-v1.5@dim=128" and ref.hub_id == "BAAI/bge-small-en-v1.5"
    with pytest.raises(ModelError, match="@onnx is built from a local model folder"):
        resolve_model("BAAI/bge-small-en-v1.5@onnx")
    with pytest.raises(ModelError, match="names a variant but no model"):
        resolve_model("@onnx")


def test_fingerprints_cover_the_variant():
    kinds = ("onnx", "onnx-qint8", "openvino", "dim=8")
    prints = {variant_fingerprint("0123456789abcdef", parse_variant(v)) for v in kinds}
    assert len(prints) == 4 and "0123456789abcdef" not in prints
    assert variant_fingerprint("0123456789abcdef", Variant()) == "0123456789abcdef"


def test_a_missing_extra_names_the_extra(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "model2vec" else real(name, *a))
    message = missing_extra(parse_variant("static"))
    assert message.startswith(
        "@static needs the [static] extra (model2vec not installed): pip install 'harness[static]'"
    )
    assert missing_extra(parse_variant("dim=8")) is None
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    assert missing_extra(parse_variant("openvino")).startswith(
        "@openvino needs the [openvino] extra (openvino not installed): pip install 'harness[openvino]'"
    )


def test_prompt_names_and_truncation_renormalised():
    # sentence-transformers 6.2 holds an empty "document" prompt beside a model's "passage": the latter is used
    assert resolve_prompts({"query": "query: ", "document": "", "passage": "passage: "}) == ("query: ", "passage: ")
    assert resolve_prompts({"search_query": "q: ", "search_document": "d: "}) == ("q: ", "d: ")
    assert resolve_prompts({"query": "query: "}, query="", document="doc: ") == ("", "doc: ")
    vectors = np.array([[3.0, 4.0, 12.0], [1.0, 0.0, 0.0]], dtype=np.float32)
    cut = Encoding(truncate=2).finish(vectors)
    assert cut.dtype == np.float32 and np.allclose(cut, [[0.6, 0.8], [1.0, 0.0]])
    assert np.allclose(Encoding(normalize=False).finish(vectors), vectors)


# --- every kind through the real path, on tiny models ----------------------------------------------


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory):
    """One model cache for the module: each artefact is built once, later tests reload it."""
    return tmp_path_factory.mktemp("variant-artefacts")


@pytest.fixture
def shared_cache(artefacts, monkeypatch):
    monkeypatch.setenv("HARNESS_MODEL_DIR", str(artefacts))
    return artefacts


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_onnx_equals_torch_and_int8_stays_close(tiny_models, shared_cache):
    folder = tiny_models["tiny-a"]
    base = load_model(str(folder), device="cpu")
    onnx = load_model(f"{folder}@onnx", device="cpu")
    qint8 = load_model(f"{folder}@onnx-qint8", device="cpu")
    expected = base.encode(TEXTS)
    for role in ("query", "document"):
        assert _cosines(onnx.encode(TEXTS, role=role), expected).min() >= 0.9999
    assert _cosines(qint8.encode(TEXTS), expected).min() >= 0.999
    assert onnx.truncation(TEXTS) == base.truncation(TEXTS) and base.truncation(TEXTS).truncated == 1
    prints = {base.fingerprint, onnx.fingerprint, qint8.fingerprint}
    assert len(prints) == 3 and onnx.base_fingerprint == qint8.base_fingerprint == base.fingerprint
    record = qint8.describe()
    assert record.variant == "onnx-qint8" and record.base_fingerprint == base.fingerprint and record.normalized
    assert (artefact_dir(base.fingerprint, qint8.ref.variant) / READY).is_file()
    assert onnx.dimension == base.dimension == 16 and record.size_bytes > 0


def test_openvino_runs_the_onnx_export_and_equals_torch(tiny_models, shared_cache, monkeypatch):
    import harness.models.onnx as onnx_module

    folder = tiny_models["tiny-a"]
    base = load_model(str(folder), device="cpu")
    onnx = load_model(f"{folder}@onnx", device="cpu")

    def refuse(*args, **kwargs):
        raise AssertionError("exported again: @openvino compiles the @onnx export")

    monkeypatch.setattr(onnx_module, "export_onnx", refuse)
    import openvino as ov

    asked: list[dict] = []

    class RecordingCore(ov.Core):
        def compile_model(self, model, device, config=None):
            asked.append(dict(config or {}))
            return super().compile_model(model, device, config or {})

    monkeypatch.setattr(ov, "Core", RecordingCore)
    openvino = load_model(f"{folder}@openvino", device="cpu")
    assert isinstance(openvino.session, onnx_module.OpenVinoSession)  # OpenVINO's runtime, not ONNX Runtime's
    # f32 is asked for, not left to the CPU plugin (bf16 on a CPU with AVX-512 BF16 or AMX).
    assert asked and all(config.get("INFERENCE_PRECISION_HINT") == "f32" for config in asked)
    assert openvino.session.compiled.get_property("INFERENCE_PRECISION_HINT") == ov.Type.f32
    expected = base.encode(TEXTS)
    for role in ("query", "document"):
        assert _cosines(openvino.encode(TEXTS, role=role), expected).min() >= 0.99999
    assert len({base.fingerprint, onnx.fingerprint, openvino.fingerprint}) == 3
    record = openvino.describe()
    assert record.variant == "openvino" and record.base_fingerprint == base.fingerprint
    cut = load_model(f"{folder}@openvino,dim=8", device="cpu")
    assert min_cosine(cut.encode(TEXTS[:4]), _unit(expected[:4, :8])) >= 0.99999
    with pytest.raises(ModelError, match="@openvino runs on the CPU"):
        load_model(f"{folder}@openvino", device="cpu,cpu")  # a device pool is torch's


def test_artefacts_are_reused_not_rebuilt(tiny_models, shared_cache, monkeypatch):
    import harness.models.onnx as onnx_module
    import harness.models.static as static_module

    folder = tiny_models["tiny-a"]
    first = [load_model(f"{folder}@{v}", device="cpu") for v in ("onnx-qint8", "static-8")]

    def refuse(*args, **kwargs):
        raise AssertionError("rebuilt an artefact that was in the cache")

    monkeypatch.setattr(onnx_module, "export_onnx", refuse)
    monkeypatch.setattr(onnx_module, "quantise_onnx", refuse)
    monkeypatch.setattr(static_module, "distill_static", refuse)
    for before, spec in zip(first, ("onnx-qint8", "static-8")):
        again = load_model(f"{folder}@{spec}", device="cpu")
        assert again.fingerprint == before.fingerprint
        np.testing.assert_allclose(again.encode(TEXTS), before.encode(TEXTS), atol=1e-6)  # one artefact, one runtime


def test_static_distillation_and_its_dimensions(tiny_models, shared_cache):
    folder = tiny_models["tiny-a"]
    default = load_model(f"{folder}@static", device="cpu")
    small = load_model(f"{folder}@static-8", device="cpu")
    # PCA cannot keep more dimensions than the model has (16): @static keeps all of them
    assert default.dimension == 16 and small.dimension == 8
    vectors = small.encode(TEXTS[:4])
    assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert default.fingerprint != small.fingerprint and small.describe().base_fingerprint == default.base_fingerprint
    assert small.describe().variant == "static-8" and small.max_seq_length is None
    # more PCA dimensions than the model has is refused before any distillation, as @dim=N is
    for spec in ("static-9999", "static-17,dim=8"):
        with pytest.raises(ModelError, match=r"static-\d+ is more than the model's 16 dimensions"):
            load_model(f"{folder}@{spec}", device="cpu")


def test_truncation_is_the_base_cut_and_renormalised(tiny_models):
    folder = tiny_models["tiny-a"]
    base = load_model(str(folder), device="cpu")
    cut = load_model(f"{folder}@dim=8", device="cpu")
    full = base.encode(TEXTS[:4])
    expected = full[:, :8] / np.linalg.norm(full[:, :8], axis=1, keepdims=True)
    assert min_cosine(cut.encode(TEXTS[:4]), expected) >= 0.99999
    assert cut.dimension == 8 and cut.fingerprint != base.fingerprint and cut.cache_key != base.cache_key
    with pytest.raises(ModelError, match="dim=64 is more than the model's 16 dimensions"):
        load_model(f"{folder}@dim=64", device="cpu")


def test_refusals_through_the_cli_are_one_line(run_cli, tiny_models, small_corpus, tmp_path, monkeypatch):
    folder = tiny_models["tiny-a"]
    cases = {
        f"{folder}@fp16": "@fp16 needs a GPU (--device cuda)",
        f"{folder}@openvino,onnx": "names two backends",
        f"{folder}@onnx,static": "names two backends",
        f"{folder}@turbo": "unknown variant 'turbo'",
    }
    for spec, message in cases.items():
        result = run_cli("ingest", "--corpus", small_corpus, "--uri", tmp_path / "r.db", "-m", spec)
        assert result.code == 1 and result.err.count("\n") == 1 and message in result.err, result
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    result = run_cli("ingest", "--corpus", small_corpus, "--uri", tmp_path / "r.db", "-m", f"{folder}@onnx")
    assert result.code == 1 and "pip install 'harness[onnx]'" in result.err and result.err.count("\n") == 1


@pytest.mark.slow
def test_variants_ingest_query_and_evaluate_side_by_side(run_cli, tiny_models, small_corpus, tmp_path, shared_cache):
    from harness.store import Store

    folder = tiny_models["tiny-a"]
    db = tmp_path / "v.db"
    specs = [str(folder), f"{folder}@onnx-qint8", f"{folder}@static-8", f"{folder}@onnx,dim=8", f"{folder}@openvino"]
    args = ["ingest", "--corpus", small_corpus, "--uri", db, "--nlist", "2"]
    for spec in specs:
        args += ["-m", spec]
    result = run_cli(*args)
    assert result.code == 0, result
    names = ["harness_tiny_a", "harness_tiny_a_onnx_qint8", "harness_tiny_a_static_8", "harness_tiny_a_onnx_dim_8"]
    names.append("harness_tiny_a_openvino")
    with Store(str(db)) as store:
        metas = {name: store.collection_meta(name) for name in names}
        assert [store.dimension(n) for n in names] == [16, 16, 8, 8, 16]
    prints = [m.model.fingerprint for m in metas.values()]
    assert len(set(prints)) == 5
    assert {m.model.base_fingerprint for m in list(metas.values())[1:]} == {prints[0]}
    assert [m.model.variant for m in metas.values()] == ["", "onnx-qint8", "static-8", "onnx,dim=8", "openvino"]
    # a re-run finds every variant complete: nothing encoded again
    from harness import ingest

    again = ingest(small_corpus, specs, str(db), nlist=2)
    assert [m.rows_added for m in again.models] == [0, 0, 0, 0, 0]

    out = tmp_path / "q"
    result = run_cli("query", "--uri", db, "--probe", "sweet little lamb", "--repeats", "0", "--output", out)
    assert result.code == 0, result
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["models"]["harness_tiny_a_static_8"]["probe_model"]["variant"] == "static-8"
    # a third model probing the static collection: both dimensions named
    result = run_cli(
        "query", "--uri", db, "-c", "harness_tiny_a_static_8", "--probe", "lamb", "--probe-model", str(folder)
    )
    assert result.code == 1 and "16-dimensional" in result.err and "8-dimensional" in result.err

    study = tmp_path / "study"
    probes = tmp_path / "probes.txt"
    probes.write_text("sweet little lamb\nthe cold river at night\n")
    result = run_cli(
        "evaluate", "--uri", db, "--probes", probes, "--repeats", "1", "--cost-sample", "20", "--output", study
    )
    assert result.code == 0, result
    import pandas as pd

    variants = pd.read_csv(study / "variants.csv").set_index("collection")
    assert set(variants.index) == set(names[1:]) and set(variants["base"]) == {"harness_tiny_a"}
    assert variants.loc["harness_tiny_a_onnx_qint8", "same_text_cosine_min"] >= 0.999
    assert variants.loc["harness_tiny_a_openvino", "same_text_cosine_min"] >= 0.9999
    assert np.isnan(variants.loc["harness_tiny_a_static_8", "same_text_cosine"])  # another space
    assert variants.loc["harness_tiny_a_static_8", "bytes_per_row"] == 32
    assert variants["overlap_at_k"].between(0, 1).all() and (variants["probes"] == 2).all()
    assert (study / "plots" / "variants.png").is_file()
    cost = pd.read_csv(study / "cost.csv")
    # every variant is costed as a model of its own, beside the hashing baseline
    assert sorted(cost["collection"]) == sorted([*names, "baseline:hashing"]) and (cost["sentences_per_s"] > 0).all()


def test_the_variants_measure_on_the_fakes(tmp_path):
    import pandas as pd

    from harness.ingestion import ingest_model
    from harness.inputs import CorpusReader
    from harness.metrics.agreement import overlap_at_k
    from harness.records import Probe, text_id
    from harness.study import StudyInputs, StudySettings, run_study

    from fakes import FakeEmbedder, FakeVariant, MemoryStore

    words = ("sweet", "cold", "dark", "little", "lamb", "river", "night", "city", "sings", "weeps")
    lines = [f"{a} {b} {c}" for a in words[:4] for b in words[4:8] for c in words[8:]]
    path = tmp_path / "c.txt"
    path.write_text("\n".join(lines) + "\n")
    reader = CorpusReader(path)
    list(reader)
    store = MemoryStore()
    a, b = FakeEmbedder("fake-a", dimension=16), FakeEmbedder("fake-b", dimension=16, seed=4)
    cut = FakeVariant(a, 3)
    for embedder in (a, b, cut):
        ingest_model(store, reader, embedder, reader.sha256(), total_hint=reader.stats.records)
    probes = [Probe("p1", "sweet lamb sings"), Probe("p2", "dark river weeps"), Probe("p3", "cold city")]
    qrels = pd.DataFrame({"probe_id": ["p1", "p2"], "corpus_id": [text_id(lines[0]), text_id(lines[22])]})
    qrels["relevance"] = 1.0
    by_alias = {e.alias: e for e in (a, b, cut)}
    study = run_study(
        store,
        None,
        StudyInputs(probes=probes, qrels=qrels),
        StudySettings(top_k=5, repeats=1),
        lambda ref: by_alias[ref.alias],
    )
    table = study.variants
    assert table[["collection", "base", "variant"]].values.tolist() == [
        ["harness_fake_a_dim_3", "harness_fake_a", "dim=3"]
    ]
    row = table.iloc[0]
    assert row["same_text_cosine_min"] == pytest.approx(1.0)  # a cut of a unit vector, renormalised
    assert (row["bytes_per_row"], row["base_bytes_per_row"]) == (12, 64)
    vectors = {e: e.encode([p.text for p in probes], role="query") for e in (a, cut)}
    names = {a: "harness_fake_a", cut: "harness_fake_a_dim_3"}
    hits = {e: [[h.id for h in hs] for hs in store.search(names[e], vectors[e], 10)] for e in (a, cut)}
    expected = np.mean([overlap_at_k(x[:5], y[:5], 5) for x, y in zip(hits[a], hits[cut])])
    assert row["overlap_at_k"] == pytest.approx(expected) and row["probes"] == 3
    relevant = {"p1": text_id(lines[0]), "p2": text_id(lines[22])}
    recall = {
        e: np.mean([relevant[p.id] in h[:5] for p, h in zip(probes, hits[e]) if p.id in relevant]) for e in (a, cut)
    }
    assert row["recall_at_k_delta"] == pytest.approx(recall[cut] - recall[a])
