"""The recommendation a reader acts on: studies built by hand in the shapes the measures
write, and the sentence each one gets."""

import json
import math

import pandas as pd
import pytest

from harness.errors import HarnessError
from harness.output.present import Names
from harness.output.verdict import build_verdict
from harness.output.views import view
from harness.study import Study

BM25, HASHING = "baseline:bm25", "baseline:hashing"


def _retrieval(scores: dict[str, float], index_drop: float = 0.05) -> pd.DataFrame:
    """The retrieval table (long form): nDCG@10 per retriever, exact and with the index."""
    rows = []
    for name, exact in scores.items():
        index = exact if name.startswith("baseline:") else exact - index_drop
        rows.append(
            {"collection": name, "model": name, "k": 10, "search": "exact" if name.startswith("baseline:") else
             "nprobe=8", "metric": "ndcg_at_10", "value": index, "value_ci_low": index - 0.1,
             "value_ci_high": index + 0.1, "exact": exact, "exact_ci_low": exact - 0.08, "exact_ci_high": exact + 0.08,
             "index_loss": exact - index, "items": 30}
        )  # fmt: skip
    return pd.DataFrame(rows)


def _paired(*tests: tuple[str, str, float, float, float]) -> pd.DataFrame:
    """Paired comparisons a - b on nDCG@10: (a, b, difference, low, high)."""
    rows = []
    for a, b, difference, low, high in tests:
        result = "win" if low > 0 else ("loss" if high < 0 else "tie")
        rows.append(
            {"metric": "ndcg_at_10", "collection_a": a, "collection_b": b, "items": 30, "a": 0.0, "b": 0.0,
             "difference": difference, "ci_low": low, "ci_high": high, "p_value": 0.5, "result": result,
             "items_needed": 100}
        )  # fmt: skip
    return pd.DataFrame(rows)


def _cost(speeds: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {"collection": list(speeds), "dimension": 384, "size_mb": 90.0, "load_s": 1.0,
         "sentences_per_s": list(speeds.values()), "peak_memory_mb": 20.0, "device": "cpu"}
    )  # fmt: skip


def _agreement(a: str, b: str, overlap: float) -> pd.DataFrame:
    return pd.DataFrame(
        [{"collection_a": a, "collection_b": b, "k": 10, "metric": "overlap_at_k", "items": 30,
          "value": overlap - 0.05, "value_ci_low": overlap - 0.15, "value_ci_high": overlap + 0.05,
          "exact": overlap, "exact_ci_low": overlap - 0.1, "exact_ci_high": overlap + 0.1, "index_loss": 0.05}]
    )  # fmt: skip


def _fidelity(recalls: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Index recall against exact search at nprobe=8, and the nprobe reaching 0.95."""
    return pd.DataFrame(
        [{"collection": name, "index": "IVF_FLAT nlist=22", "k": 10, "search": "nprobe=8", "recall_at_setting": recall,
          "latency_p50_ms": 3.0, "param": "nprobe", "value_for_0_95": needed, "value_for_0_99": 22}
         for name, (recall, needed) in recalls.items()]
    )  # fmt: skip


def _manifest(*models: str) -> dict:
    return {"collections": {f"harness_{m}": {"model": {"alias": m, "spec": m}} for m in models}}


def _sentences(verdict) -> dict[str, str]:
    return {s.question: s.text for s in verdict.sentences}


def test_when_bm25_ties_with_every_model_the_first_sentence_says_keyword_search():
    a, b = "harness_m1", "harness_m2"
    study = Study(
        {
            "retrieval": _retrieval({a: 0.40, b: 0.30, BM25: 0.50, HASHING: 0.15}),
            "paired": _paired(
                (a, b, 0.10, 0.02, 0.18),
                (a, BM25, -0.10, -0.20, 0.02),
                (b, BM25, -0.20, -0.30, -0.10),
                (a, HASHING, 0.25, 0.15, 0.35),
                (BM25, HASHING, 0.35, 0.25, 0.45),
            ),
            "cost": _cost({a: 100.0, b: 50.0, HASHING: 50_000.0}),
            "agreement": _agreement(a, BM25, 0.3),
        },
        _manifest("m1", "m2"),
    )
    verdict = build_verdict(study)
    said = _sentences(verdict)
    assert said["quality"] == (
        "Keyword search is as good as any model here: the best model, m1, differs from BM25 by nDCG@10 -0.100 "
        "[-0.200, 0.020] (exact search); consider hybrid search."
    )
    quality = verdict.sentences[0]
    assert (quality.figure, quality.low, quality.high, quality.table) == (-0.10, -0.20, 0.02, "paired")
    # the Pareto answer counts BM25, which runs no model: it is the cheapest, and alone on the front
    assert said["cost"].startswith("BM25 is also the cheapest: it runs no model, where the cheapest model that ")
    assert "m1, takes 10.00 s per 1,000 sentences encoded" in said["cost"]
    front = verdict.front.set_index("collection")
    assert front.loc[BM25, "cost"] == 0 and not front.loc[BM25, "measured"] and front.loc[BM25, "on_front"]
    assert not front.loc[[a, b, HASHING], "on_front"].any()
    assert verdict.recommended == BM25 and verdict.current == a
    assert said["change"] == (
        "Switching from m1 (current) to BM25 changes most of the results: they share 30% [20%, 40%] of their top 10 "
        "(exact search)."
    )
    assert said["map"].startswith("BM25 needs no model's vectors")
    assert len(verdict.sentences) <= 5

    beaten = Study({**study.tables, "paired": _paired((a, b, 0.1, 0.02, 0.18), (a, BM25, -0.1, -0.2, -0.01),
                                                      (b, BM25, -0.2, -0.3, -0.1))}, study.manifest)  # fmt: skip
    assert _sentences(build_verdict(beaten))["quality"].startswith("Keyword search beats every model here")


def test_models_that_tie_are_named_and_the_cheapest_of_them_recommended():
    a, b, c = "harness_m1", "harness_m2", "harness_m3"
    study = Study(
        {
            "retrieval": _retrieval({a: 0.60, b: 0.58, c: 0.40, BM25: 0.30}),
            "paired": _paired(
                (a, b, 0.02, -0.01, 0.05),
                (a, c, 0.2, 0.1, 0.3),
                (b, c, 0.18, 0.08, 0.28),
                (a, BM25, 0.3, 0.2, 0.4),
                (b, BM25, 0.28, 0.18, 0.38),
                (c, BM25, 0.1, 0.01, 0.2),
            ),  # fmt: skip
            "cost": _cost({a: 100.0, b: 1000.0, c: 5000.0}),
            "agreement": _agreement(a, b, 0.72),
            "alignment": pd.DataFrame(
                {"collection_a": [a], "collection_b": [b], "rows": [500], "same_text_cosine": [0.97]}
            ),
        },
        _manifest("m1", "m2", "m3"),
    )
    said = _sentences(build_verdict(study))
    assert said["quality"] == (
        "m1 ties for quality with m2: it leads m2 by nDCG@10 +0.020 [-0.010, 0.050] (exact search), within chance; "
        "choose among them by cost."
    )
    assert said["cost"] == (
        "The cheapest at no measurable loss is m2: 1.00 s per 1,000 sentences encoded against m1's 10.00, differing "
        "from it by nDCG@10 -0.020 [-0.050, 0.010]."
    )
    assert said["change"] == (
        "Switching from m1 (current) to m2 changes some of the results: they share 72% [62%, 82%] of their top 10 "
        "(exact search)."
    )
    assert said["map"] == (
        "m2's vectors can search m1's collection as it is (same-text cosine 0.97): no re-embedding to switch."
    )
    # named as current, the recommended model needs no switch: nothing changes, nothing to bridge
    kept = build_verdict(study, current="m2")
    assert _sentences(kept)["change"] == "Keep m2, the current model: it is the recommendation."
    assert "map" not in _sentences(kept) and kept.current == b


def test_a_clear_winner_is_named_with_its_lead_and_what_cheaper_retrievers_lose():
    a, b = "harness_m1", "harness_m2"
    study = Study(
        {
            "retrieval": _retrieval({a: 0.70, b: 0.50, BM25: 0.40}),
            "paired": _paired((a, b, 0.2, 0.1, 0.3), (a, BM25, 0.3, 0.2, 0.4), (b, BM25, 0.1, 0.02, 0.2)),
            "cost": _cost({a: 100.0, b: 1000.0}),
        },
        _manifest("m1", "m2"),
    )
    said = _sentences(build_verdict(study))
    assert (
        said["quality"]
        == "Use m1 for quality: it leads the next best, m2, by nDCG@10 +0.200 [0.100, 0.300] (exact search)."
    )
    assert said["cost"] == (
        "Nothing cheaper matches it: the best cheaper retriever, m2 (1.00 s per 1,000 sentences encoded against "
        "10.00), differs from it by nDCG@10 -0.200 [-0.300, -0.100]."
    )


def test_the_index_sentence_names_the_loss_and_the_setting_that_fixes_it():
    a, b = "harness_m1", "harness_m2"
    tables = {"retrieval": _retrieval({a: 0.5, b: 0.4}), "paired": _paired((a, b, 0.1, 0.05, 0.15))}
    losing = Study({**tables, "fidelity_summary": _fidelity({a: (0.97, 8), b: (0.88, 16)})}, _manifest("m1", "m2"))
    assert _sentences(build_verdict(losing))["index"] == (
        "The index setting loses recall: at nprobe=8, m2 finds only 0.88 of exact search's top 10; nprobe=16 "
        "reaches 0.95 for every model."
    )
    keeping = Study({**tables, "fidelity_summary": _fidelity({a: (0.99, 4), b: (0.96, 8)})}, _manifest("m1", "m2"))
    assert _sentences(build_verdict(keeping))["index"] == (
        "The index setting keeps recall: at nprobe=8 every model finds at least 0.96 of exact search's top 10 "
        "(lowest: m2)."
    )
    unfixed = Study({**tables, "fidelity_summary": _fidelity({a: (0.80, float("nan"))})}, _manifest("m1", "m2"))
    assert "no nprobe tried reaches 0.95" in _sentences(build_verdict(unfixed))["index"]


def test_a_switch_a_map_bridges_and_one_that_needs_re_embedding():
    a, b = "harness_m1", "harness_m2"
    tables = {
        "retrieval": _retrieval({a: 0.4, b: 0.6}),
        "paired": _paired((a, b, -0.2, -0.3, -0.1)),
        "alignment": pd.DataFrame({"collection_a": [a], "collection_b": [b], "same_text_cosine": [0.45]}),
    }
    study = Study(tables, _manifest("m1", "m2"))
    assert _sentences(build_verdict(study))["map"] == (
        "m2 puts the same line elsewhere than m1 (same-text cosine 0.45, below 0.8): re-embed the corpus, or measure "
        "a map with harness align."
    )
    maps = pd.DataFrame(
        {"method": ["unmapped", "ridge", "ridge"], "train_size": [0, 100, 600], "self_retrieval_at_1": [0.5, 0.8, 0.99],
         "same_text_cosine": [0.45, 0.7, 0.85]}
    )  # fmt: skip
    assert _sentences(build_verdict(study, aligned={"results": maps}))["map"] == (
        "A map bridges the switch: harness align's ridge on 600 rows finds the same line first for 0.99 of held-out "
        "rows (needs 0.9)."
    )
    weak = maps.assign(self_retrieval_at_1=[0.5, 0.6, 0.7])
    assert _sentences(build_verdict(study, aligned={"results": weak}))["map"].startswith(
        "No map bridges the switch: re-embed the corpus"
    )
    other_dimension = Study({**tables, "alignment": tables["alignment"].assign(same_text_cosine=float("nan"))},
                            study.manifest)  # fmt: skip
    assert _sentences(build_verdict(other_dimension))["map"].startswith("m2 and m1 differ in dimension")


def test_the_verdict_and_the_retrieval_table_quote_the_same_search_and_say_which():
    a, b = "harness_m1", "harness_m2"
    study = Study({"retrieval": _retrieval({a: 0.5, b: 0.3}, index_drop=0.1)}, _manifest("m1", "m2"))
    verdict = build_verdict(study)
    assert verdict.search == "exact search" and "(exact search)" in verdict.sentences[0].text
    assert "m1 scores highest, nDCG@10 0.500 [0.420, 0.580] (exact search)" in verdict.sentences[0].text
    table = view("retrieval", study.retrieval, Names(study.manifest["collections"]))
    assert table.frame.loc[0, "nDCG@10, exact search [95% CI]"] == "0.500 [0.420, 0.580]"  # the same figure
    assert table.frame.loc[0, "index search (nDCG@10 / recall@k / MRR)"].startswith("0.400")
    index_only = Study({"retrieval": study.retrieval.assign(exact=float("nan"))}, study.manifest)
    assert "nDCG@10 0.400 [0.300, 0.500] (index search)" in build_verdict(index_only).sentences[0].text


def test_misses_are_called_misses():
    study = Study(
        {
            "retrieval": _retrieval({"harness_m1": 0.5}),
            "unanswered": pd.DataFrame({"probe_id": ["p1", "p2"], "probe": ["x", "y"], "relevant": [1, 2]}),
        },
        _manifest("m1"),
    )
    (text,) = [f.text for f in build_verdict(study).findings if f.topic == "misses"]
    assert text == "2 of 30 judged probes are missed by every retriever: no judged-relevant line in any top 10."
    assert "judgement" not in text


def test_an_unknown_current_model_is_one_clear_error():
    study = Study({"retrieval": _retrieval({"harness_m1": 0.5, "harness_m2": 0.4})}, _manifest("m1", "m2"))
    with pytest.raises(HarnessError, match=r"^--current m9: not one of the models compared \(models: m1, m2\)$"):
        build_verdict(study, current="m9")
    assert build_verdict(study, current="harness_m2").current == "harness_m2"


def test_the_recommendation_as_json_has_every_figure_and_no_nan():
    a, b = "harness_m1", "harness_m2"
    study = Study(
        {
            "retrieval": _retrieval({a: 0.40, b: 0.30, BM25: 0.50}),
            "paired": _paired((a, b, 0.1, 0.02, 0.18), (a, BM25, -0.1, -0.2, 0.02), (b, BM25, -0.2, -0.3, -0.1)),
            "cost": _cost({a: 100.0, b: 50.0}),
            "fidelity_summary": _fidelity({a: (0.9, 16), b: (float("nan"), float("nan"))}),
        },
        _manifest("m1", "m2"),
    )
    names = Names(study.manifest["collections"])
    found = json.loads(json.dumps(build_verdict(study).to_dict(names), allow_nan=False))
    assert [s["question"] for s in found["recommendation"]] == ["quality", "cost", "index", "map"]
    first = found["recommendation"][0]
    assert (first["figure"], first["ci_low"], first["ci_high"]) == (-0.1, -0.2, 0.02)
    assert found["search"] == "exact search" and found["recommended_name"] == "BM25 (baseline)"
    assert {r["name"]: r["on_front"] for r in found["front"]} == {"m1": False, "m2": False, "BM25 (baseline)": True}


def test_kendall_tau_without_enough_shared_results_reads_n_a():
    frame = pd.DataFrame(
        [{"collection_a": "a", "collection_b": "b", "k": 10, "metric": m, "items": 5, "value": v,
          "value_ci_low": v, "value_ci_high": v, "exact": v, "exact_ci_low": v, "exact_ci_high": v, "index_loss": 0.0}
         for m, v in (("overlap_at_k", 0.2), ("rbo", 0.1), ("kendall_tau", math.nan))]
    )  # fmt: skip
    table = view("agreement", frame, Names())
    assert table.frame.loc[0, "Kendall τ, exact search [95% CI]"] == "n/a"


@pytest.mark.parametrize("spread", [10.0, 1000.0])  # a linear axis, and a log one
def test_the_quality_cost_plot_draws_bm25_as_a_baseline_at_the_left_edge(tmp_path, monkeypatch, spread):
    from harness.output import plots

    drawn = {}
    monkeypatch.setattr(plots, "save", lambda fig, path: drawn.setdefault("fig", fig) and path)
    front = pd.DataFrame(
        {"collection": ["harness_m1", "harness_m2", BM25, HASHING], "quality": [0.4, 0.3, 0.5, 0.1],
         "cost": [spread, 1.0, 0.0, 0.5], "measured": [True, True, False, True],
         "on_front": [False, False, True, False]}
    )  # fmt: skip
    plots.quality_cost(front, "nDCG@10", tmp_path / "q.png", Names(_manifest("m1", "m2")["collections"]))
    ax = drawn["fig"].axes[0]
    points = {c.get_label(): c for c in ax.collections}
    assert {"m1", "m2", "BM25 (baseline)", "hashing (baseline)"} <= set(points)
    assert points["BM25 (baseline)"].get_hatch() and points["hashing (baseline)"].get_hatch()
    assert not points["m1"].get_hatch()
    x = {label: point.get_offsets()[0][0] for label, point in points.items()}
    assert x["BM25 (baseline)"] < min(x["m1"], x["m2"], x["hashing (baseline)"])  # left of every measured cost
    assert "Pareto front" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_kendall_tau_over_fewer_probes_says_how_many_and_over_one_has_no_interval():
    rows = []
    for pair, tau_items in (("b", 8), ("c", 1)):
        for metric, value, items in (("overlap_at_k", 0.3, 15), ("kendall_tau", 0.5, tau_items)):
            rows.append({"collection_a": "a", "collection_b": pair, "k": 10, "metric": metric, "items": items,
                         "value": value, "value_ci_low": value - 0.1, "value_ci_high": value + 0.1, "exact": value,
                         "exact_ci_low": value - 0.1, "exact_ci_high": value + 0.1, "index_loss": 0.0})  # fmt: skip
    cells = view("agreement", pd.DataFrame(rows), Names()).frame["Kendall τ, exact search [95% CI]"].tolist()
    assert cells == ["0.500 [0.400, 0.600] (8 of 15)", "0.500 (1 of 15)"]


def test_a_model_that_read_more_than_a_tenth_of_the_documents_in_part_is_warned_first():
    collections = {
        "harness_a": {
            "model": {"alias": "a", "max_seq_length": 256},
            "truncation": {"documents": 100, "truncated": 40, "truncated_share": 0.4, "mean_cut_share": 0.25},
        },
        "harness_b": {
            "model": {"alias": "b", "max_seq_length": 512},
            "truncation": {"documents": 100, "truncated": 5, "truncated_share": 0.05, "mean_cut_share": 0.1},
        },
    }
    verdict = build_verdict(Study(manifest={"collections": collections}))
    first = verdict.findings[0]
    assert first.topic == "truncation" and first.text.startswith(
        "Warning: a read 40 of 100 documents (40%) only in part"
    )
    assert "256 tokens" in first.text and "25% of their tokens were cut" in first.text
    assert [f for f in verdict.findings if f.topic == "truncation"] == [first]  # b cut under a tenth: no warning
