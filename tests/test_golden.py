"""The Blake study and query on the fakes give the tables kept in tests/golden/blake/."""

import pandas as pd
import pytest

from golden_blake import GOLDEN, SAME_AS, UNTIMED, blake_query, blake_study, deterministic

NOW = {}


def _now() -> dict[str, pd.DataFrame]:
    if not NOW:
        study = deterministic(blake_study().tables)
        for name, kept in SAME_AS.items():
            pd.testing.assert_frame_equal(study.pop(name), study.get(kept, blake_query()[kept]))
        NOW.update({**study, **blake_query()})
    return NOW


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.csv")))
def test_every_table_equals_the_golden_copy(name, tmp_path):
    now = _now()
    assert name in now, f"{name} is no longer computed"
    path = tmp_path / f"{name}.csv"
    now[name].to_csv(path, index=False)
    golden = pd.read_csv(GOLDEN / f"{name}.csv")
    golden = golden.drop(columns=[c for c in UNTIMED.get(name) or () if c in golden])
    now = pd.read_csv(path)
    assert set(golden.columns) <= set(now.columns), f"{name} lost columns"
    pd.testing.assert_frame_equal(now[list(golden.columns)], golden, check_exact=False, rtol=1e-9)


def test_nothing_new_is_left_out_of_the_golden_copy():
    assert sorted(_now()) == sorted(p.stem for p in GOLDEN.glob("*.csv"))


def test_each_collection_is_scanned_once_for_every_exact_search_of_the_study():
    from harness.study import StudySettings, run_study

    from golden_blake import blake_inputs, blake_store

    store, load = blake_store()
    settings = StudySettings(top_k=10, nprobe=4, repeats=1, fidelity_sample=100, coherence_sample=300)
    study = run_study(store, None, blake_inputs(), settings, load)
    # retrieval, agreement, hits, coherence and fidelity all read exact runs of each collection
    assert not study.retrieval.empty and not study.coherence.empty and not study.fidelity.empty
    assert dict(store.scans) == {name: 1 for name in store.harness_collections()}
