"""Settings are built once, where the user gives them, and refused there in one line: a study
plan, an index plan, search parameters."""

import pytest

from harness.errors import HarnessError
from harness.records import IndexPlan
from harness.study import StudyPlan


@pytest.mark.parametrize(
    "values, message",
    [
        ({"similarity_sample": -1}, "--similarity-sample cannot be negative (0: all)"),
        ({"cost_sample": -5}, "--cost-sample cannot be negative (0: all)"),
        ({"nprobe_values": [0]}, "--nprobe-sweep values must be at least 1, not 0"),
        ({"ef_values": [8, -2]}, "--ef-sweep values must be at least 1, not -2"),
        ({"repeats": 0}, "--repeats must be at least 1"),
        ({"search_repeats": -1}, "--repeats cannot be negative"),
        ({"top_k": 0}, "--top-k must be at least 1"),
        ({"top_k": 10, "ef": 5}, "--ef must be at least --top-k (10)"),
        ({"baselines": "bm25,nope"}, "unknown baseline 'nope'"),
    ],
)
def test_a_study_plan_refuses_what_would_be_taken_silently(values, message):
    with pytest.raises(HarnessError, match=message.replace("(", r"\(").replace(")", r"\)")):
        StudyPlan(**values)


def test_a_study_plan_carries_its_search_whole():
    plan = StudyPlan(top_k=5, nprobe=4, ef=32, baselines="none", measures="retrieval,cost")
    assert (plan.search.top_k, plan.search.nprobe, plan.search.ef) == (5, 4, 32)
    assert plan.baselines == ()


@pytest.mark.parametrize(
    "values, message",
    [({"type": "ANNOY"}, "unknown index type 'ANNOY'"), ({"type": "HNSW", "nlist": 4}, "--nlist applies to IVF")],
)
def test_an_index_plan_refuses_what_cannot_be_built(values, message):
    with pytest.raises(HarnessError, match=message):
        IndexPlan(**values)


@pytest.mark.parametrize(
    "args, message",
    [
        (["evaluate", "--similarity-sample", "-1"], "error: --similarity-sample cannot be negative (0: all)"),
        (["evaluate", "--cost-sample", "-5"], "error: --cost-sample cannot be negative (0: all)"),
        (["evaluate", "--nprobe-sweep", "0"], "error: --nprobe-sweep values must be at least 1, not 0"),
        (["align", "--old", "x", "--new-model", "m", "--score-threshold", "nan"], "error: --score-threshold must be"),
    ],
)
def test_the_command_line_refuses_them_in_one_line_before_any_work(run_cli, tmp_path, args, message):
    result = run_cli(*args, "--uri", tmp_path / "x.db")
    assert result.code == 1 and result.err.startswith(message) and len(result.err.splitlines()) == 1, result
    assert not (tmp_path / "x.db").exists()


def test_a_negative_show_is_a_usage_error(run_cli, tmp_path):
    result = run_cli("query", "--show", "-1", "--probe", "a", "--uri", tmp_path / "x.db")
    assert result.code == 2 and "--show" in result.err and not (tmp_path / "x.db").exists()
