"""The README's example measure runs as written: one class, read from the run book."""

import re

from harness.study import StudyPlan, run_study

from conftest import REPO
from golden_blake import blake_inputs, blake_store


def _example() -> dict:
    text = (REPO / "README.md").read_text()
    section = text[text.index("### Adding a measure") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    found: dict = {}
    exec(compile(code, "README.md", "exec"), found)
    return found


def test_the_example_measure_of_the_readme_runs_and_shares_the_runs():
    measure = _example()["NearestDistance"]()
    store, load = blake_store()
    study = run_study(store, None, blake_inputs(), StudyPlan(nprobe=4, repeats=1), load, measures=(measure,))
    table = study.tables["nearest"]
    names = store.harness_collections()
    assert table["collection"].tolist() == [*names, "baseline:hashing"]
    assert (table["probes"] == 15).all() and (table["mean"] >= 0).all()
    probes = [p.text for p in blake_inputs().probes]
    embedder = load(type("Ref", (), {"alias": "fake-a"})())
    nearest = store.search(names[0], embedder.encode(probes), 1, nprobe=4)
    assert table.loc[0, "mean"] == sum(h[0].distance for h in nearest) / len(nearest)


def test_the_example_measure_declares_how_its_table_is_read_and_adds_a_finding():
    measure = _example()["NearestDistance"]()
    (table,) = measure.tables
    assert table.section == "Similarity scores" and table.terminal and table.columns["mean"].better == "low"
    store, load = blake_store()
    study = run_study(store, None, blake_inputs(), StudyPlan(nprobe=4, repeats=1), load, measures=(measure,))
    (line,) = measure.findings(study.tables, str)
    best = study.tables["nearest"].sort_values("mean").iloc[0]
    assert line == f"Nearest answers: {best['collection']} finds the closest ({best['mean']:.3f})."
